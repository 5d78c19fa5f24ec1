// The NTLMv2 client context (MS-NLMP 3.1.5.1, 3.3.2, 3.4) against the test-only acceptor in
// test/helpers: authentication with MIC, channel bindings and target name, then sealing in both
// directions (3.4.6/3.4.7), tampering, and the RFC 5929 channel-binding helper.
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import {
  certificateHashAlgorithm,
  channelBindingsHash,
  gssChannelBindings,
  tlsServerEndPoint,
} from '../../src/auth/channel-bindings.js';
import {
  CLIENT_FLAGS,
  NtlmClientContext,
  ntlmTargetName,
  splitUsername,
} from '../../src/auth/ntlm-context.js';
import { AvFlags, AvId, findAvPair, NtlmFlags, parseNegotiateMessage } from '../../src/auth/ntlm-messages.js';
import { AuthenticationError, InvalidStateError, ProtocolError } from '../../src/errors.js';
import { TestNtlmAcceptor, type TestAcceptorOptions } from '../helpers/ntlm-acceptor.js';

const PASSWORD = 'Pa$$w0rd-ñ';
const BINDINGS = Buffer.concat([Buffer.from('tls-server-end-point:'), randomBytes(32)]);

function handshake(
  acceptorOptions: Partial<TestAcceptorOptions> = {},
  username = 'CONTOSO\\alice',
): { client: NtlmClientContext; server: TestNtlmAcceptor } {
  const client = new NtlmClientContext({
    credentials: { username, password: PASSWORD },
    targetName: ntlmTargetName('exchange.contoso.test'),
    channelBindings: BINDINGS,
  });
  const server = new TestNtlmAcceptor({
    user: 'alice',
    domain: splitUsername(username).domain,
    password: PASSWORD,
    channelBindings: BINDINGS,
    targetName: 'HTTP/exchange.contoso.test',
    ...acceptorOptions,
  });
  server.accept(client.authenticate(server.challenge(client.negotiate())));
  return { client, server };
}

describe('NtlmClientContext with the test acceptor', () => {
  it('authenticates with MIC, MsvAvFlags 0x2, channel bindings and target name', () => {
    const { client, server } = handshake();
    expect(client.established).toBe(true);
    expect(server.micChecked).toBe(true);
    expect(findAvPair(server.avPairs, AvId.Flags)!.readUInt32LE(0) & AvFlags.MIC_PRESENT).toBe(
      AvFlags.MIC_PRESENT,
    );
    expect(findAvPair(server.avPairs, AvId.Timestamp)).toHaveLength(8);
    expect(findAvPair(server.avPairs, AvId.ChannelBindings)).toEqual(channelBindingsHash(BINDINGS));
    expect(findAvPair(server.avPairs, AvId.TargetName)!.toString('utf16le')).toBe(
      'HTTP/exchange.contoso.test',
    );
    const f = client.negotiatedFlags;
    for (const flag of [
      NtlmFlags.NEGOTIATE_KEY_EXCH,
      NtlmFlags.NEGOTIATE_128,
      NtlmFlags.NEGOTIATE_SEAL,
      NtlmFlags.NEGOTIATE_EXTENDED_SESSIONSECURITY,
      NtlmFlags.NEGOTIATE_TARGET_INFO,
    ]) {
      expect(f & flag).toBe(flag);
    }
  });

  it('asks for NTLMv2 session security in NEGOTIATE (and leaves TARGET_INFO to the server)', () => {
    const client = new NtlmClientContext({ credentials: { username: 'u', password: 'p' } });
    const f = parseNegotiateMessage(client.negotiate()).flags;
    expect(f).toBe(CLIENT_FLAGS);
    expect(f & NtlmFlags.NEGOTIATE_TARGET_INFO).toBe(0);
    for (const flag of [
      NtlmFlags.NEGOTIATE_KEY_EXCH,
      NtlmFlags.NEGOTIATE_128,
      NtlmFlags.NEGOTIATE_SEAL,
      NtlmFlags.NEGOTIATE_SIGN,
    ]) {
      expect(f & flag).toBe(flag);
    }
  });

  it('uses the MsvAvTimestamp from the challenge in the NTLMv2 client challenge', () => {
    const timestamp = 133_000_000_000_000_000n;
    const { server } = handshake({ timestamp });
    expect(findAvPair(server.avPairs, AvId.Timestamp)!.readBigUInt64LE(0)).toBe(timestamp);
  });

  it('sends no MIC when the server sends no timestamp', () => {
    const { client, server } = handshake({ timestamp: null });
    expect(client.established).toBe(true);
    expect(server.micChecked).toBe(false);
    expect(findAvPair(server.avPairs, AvId.Flags)).toBeUndefined();
  });

  it('works with a UPN (empty domain)', () => {
    const client = new NtlmClientContext({
      credentials: { username: 'alice@contoso.test', password: PASSWORD },
    });
    const server = new TestNtlmAcceptor({ user: 'alice@contoso.test', domain: '', password: PASSWORD });
    server.accept(client.authenticate(server.challenge(client.negotiate())));
    expect(client.established).toBe(true);
  });

  it('a wrong password does not verify at the acceptor', () => {
    expect(() => handshake({ password: 'wrong' })).toThrow(/NTProofStr/);
  });

  it('other channel bindings or another target name are refused by the acceptor', () => {
    expect(() => handshake({ channelBindings: Buffer.from('tls-server-end-point:other') })).toThrow(
      /channel bindings/,
    );
    expect(() => handshake({ targetName: 'HTTP/other.test' })).toThrow(/target name/);
  });

  it('seals and unseals 100 messages in both directions', () => {
    const { client, server } = handshake();
    for (let i = 0; i < 100; i++) {
      const up = randomBytes(1 + ((i * 37) % 3000));
      const c2s = client.seal(up);
      expect(c2s.header).toHaveLength(16);
      expect(c2s.header.readUInt32LE(12)).toBe(i);
      expect(c2s.data).toHaveLength(up.length);
      expect(c2s.data.equals(up)).toBe(false);
      expect(server.unseal(c2s.header, c2s.data)).toEqual(up);

      const down = Buffer.from(`<s:Envelope>${i}</s:Envelope>`.repeat(1 + (i % 7)));
      const s2c = server.seal(down);
      expect(client.unseal(s2c.header, s2c.data)).toEqual(down);
    }
    expect(client.security.sendSequence).toBe(100);
  });

  it('a tampered message, a tampered signature or a replayed message fails with PSRP_NTLM_SIGNATURE_INVALID', () => {
    const check = (fn: () => unknown): void => {
      try {
        fn();
      } catch (e) {
        expect(e).toBeInstanceOf(ProtocolError);
        expect((e as ProtocolError).code).toBe('PSRP_NTLM_SIGNATURE_INVALID');
        return;
      }
      throw new Error('expected a signature failure');
    };
    {
      const { client, server } = handshake();
      const m = server.seal(Buffer.from('hello'));
      const sealed = Buffer.from(m.data);
      sealed[0]! ^= 1;
      check(() => client.unseal(m.header, sealed));
    }
    {
      const { client, server } = handshake();
      const m = server.seal(Buffer.from('hello'));
      const signature = Buffer.from(m.header);
      signature[5]! ^= 0x80;
      check(() => client.unseal(signature, m.data));
    }
    {
      const { client, server } = handshake();
      const m = client.seal(Buffer.from('once'));
      expect(server.unseal(m.header, m.data).toString()).toBe('once');
      check(() => server.unseal(m.header, m.data));
    }
    {
      const { client } = handshake();
      check(() => client.unseal(Buffer.alloc(15), Buffer.from('x')));
    }
  });

  it('signs without sealing (GSS_GetMICEx/VerifyMICEx) on the same sequence as sealing', () => {
    const { client, server } = handshake();
    const first = client.seal(Buffer.from('one'));
    server.unseal(first.header, first.data);
    const mic = client.security.sign(Buffer.from('two'));
    expect(mic.readUInt32LE(12)).toBe(1);
    server.security.verify(Buffer.from('two'), mic);
    const back = server.security.sign(Buffer.from('three'));
    expect(() => client.security.verify(Buffer.from('thr3e'), back)).toThrow(
      expect.objectContaining({ code: 'PSRP_NTLM_SIGNATURE_INVALID' }),
    );
  });

  it('refuses a challenge without extended session security (PSRP_NTLM_NEGOTIATION_FAILED)', () => {
    const client = new NtlmClientContext({ credentials: { username: 'u', password: 'p' } });
    const server = new TestNtlmAcceptor({
      user: 'u',
      domain: '',
      password: 'p',
      flags: NtlmFlags.NEGOTIATE_UNICODE | NtlmFlags.NEGOTIATE_NTLM | NtlmFlags.NEGOTIATE_TARGET_INFO,
    });
    const challenge = server.challenge(client.negotiate());
    expect(() => client.authenticate(challenge)).toThrow(AuthenticationError);
    expect(() => client.authenticate(challenge)).toThrow(
      expect.objectContaining({ code: 'PSRP_NTLM_NEGOTIATION_FAILED', mechanism: 'ntlm' }),
    );
  });

  it('refuses a garbage challenge with PSRP_NTLM_MESSAGE_INVALID', () => {
    const client = new NtlmClientContext({ credentials: { username: 'u', password: 'p' } });
    client.negotiate();
    expect(() => client.authenticate(Buffer.from('NTLMSSP\0\x02\0\0\0', 'latin1'))).toThrow(
      expect.objectContaining({ code: 'PSRP_NTLM_MESSAGE_INVALID' }),
    );
  });

  it('enforces the order of steps', () => {
    const client = new NtlmClientContext({ credentials: { username: 'u', password: 'p' } });
    expect(() => client.seal(Buffer.from('x'))).toThrow(InvalidStateError);
    expect(() => client.authenticate(Buffer.alloc(0))).toThrow(InvalidStateError);
    client.negotiate();
    expect(() => client.negotiate()).toThrow(InvalidStateError);
  });

  it('keeps secrets out of inspect and JSON', () => {
    const { client } = handshake();
    const shown = inspect(client, { depth: 5 }) + JSON.stringify(client);
    expect(shown).not.toContain(PASSWORD);
    expect(shown).toContain('alice');
    expect(JSON.stringify(client)).toBe(
      '{"mechanism":"ntlm","user":"alice","domain":"CONTOSO","state":"established"}',
    );
  });
});

describe('channel bindings (RFC 5929 tls-server-end-point, MS-NLMP MsvAvChannelBindings)', () => {
  it('flattens gss_channel_bindings_struct with empty addresses', () => {
    const app = Buffer.from('tls-server-end-point:abc');
    const s = gssChannelBindings(app);
    expect(s.subarray(0, 16)).toEqual(Buffer.alloc(16));
    expect(s.readUInt32LE(16)).toBe(app.length);
    expect(s.subarray(20)).toEqual(app);
    expect(channelBindingsHash(app)).toEqual(createHash('md5').update(s).digest());
  });

  let openssl = true;
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
  } catch {
    openssl = false;
  }

  function makeCert(args: string[]): Buffer {
    const dir = mkdtempSync(join(tmpdir(), 'psrp-cb-'));
    try {
      execFileSync(
        'openssl',
        [
          'req',
          '-x509',
          '-nodes',
          '-days',
          '1',
          '-subj',
          '/CN=cb',
          '-keyout',
          join(dir, 'k'),
          '-out',
          join(dir, 'c'),
          ...args,
        ],
        {
          stdio: 'ignore',
        },
      );
      return new X509Certificate(readFileSync(join(dir, 'c'))).raw;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  const cases: [string, string[], string][] = [
    // openssl really signs with these (checked with `openssl x509 -text`): sha1WithRSAEncryption, rsassaPss/sha384, ...
    ['RSA SHA-1 → SHA-256', ['-newkey', 'rsa:2048', '-sha1'], 'sha256'],
    ['RSA SHA-256', ['-newkey', 'rsa:2048', '-sha256'], 'sha256'],
    ['RSA SHA-512', ['-newkey', 'rsa:2048', '-sha512'], 'sha512'],
    ['ECDSA SHA-384', ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:secp384r1', '-sha384'], 'sha384'],
    [
      'RSA-PSS SHA-384',
      [
        '-newkey',
        'rsa-pss',
        '-pkeyopt',
        'rsa_keygen_bits:2048',
        '-sha384',
        '-sigopt',
        'rsa_padding_mode:pss',
      ],
      'sha384',
    ],
  ];
  it.skipIf(!openssl).each(cases)('%s', (_name, args, algorithm) => {
    const der = makeCert(args);
    expect(certificateHashAlgorithm(der)).toBe(algorithm);
    expect(tlsServerEndPoint(der)).toEqual(
      Buffer.concat([Buffer.from('tls-server-end-point:'), createHash(algorithm).update(der).digest()]),
    );
  });

  it('refuses something that is not a certificate', () => {
    expect(() => tlsServerEndPoint(Buffer.from('3003020100', 'hex'))).toThrow(/Not a DER X.509 certificate/);
    expect(() => tlsServerEndPoint(Buffer.from('30820fff', 'hex'))).toThrow(/Not a DER X.509 certificate/);
  });
});
