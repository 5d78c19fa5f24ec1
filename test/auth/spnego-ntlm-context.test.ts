// SpnegoNtlmClientContext (RFC 4178 + MS-SPNG with NTLM) against the test-only SPNEGO acceptor,
// and the MS-SPNG 3.3.5.1 key-state rule of NtlmSessionSecurity. Interoperability with a real,
// independent SPNEGO (MIT krb5 + gss-ntlmssp) is in spnego-gss-interop.test.ts.
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { NtlmSessionSecurity } from '../../src/auth/ntlm-crypto.js';
import { NtlmFlags } from '../../src/auth/ntlm-messages.js';
import { SpnegoNtlmClientContext } from '../../src/auth/spnego-ntlm-context.js';
import {
  decodeNegTokenInit,
  decodeNegTokenResp,
  encodeMechTypeList,
  encodeNegTokenResp,
  MechOid,
} from '../../src/auth/spnego.js';
import { TestSpnegoAcceptor, type TestSpnegoOptions } from '../helpers/spnego-acceptor.js';

const credentials = { username: 'CONTOSO\\alice', password: 'secret' };

function pair(options: Partial<TestSpnegoOptions> = {}): {
  client: SpnegoNtlmClientContext;
  server: TestSpnegoAcceptor;
} {
  return {
    client: new SpnegoNtlmClientContext({ credentials, targetName: 'HTTP/server.test' }),
    server: new TestSpnegoAcceptor({ user: 'alice', domain: 'CONTOSO', password: 'secret', ...options }),
  };
}

/** Runs the three legs; returns the server's final token (already checked by the client). */
function handshake(client: SpnegoNtlmClientContext, server: TestSpnegoAcceptor): void {
  const r1 = server.accept(client.initialToken());
  const t2 = client.step(r1.token)!;
  const r2 = server.accept(t2);
  expect(r2.complete).toBe(true);
  expect(client.step(r2.token)).toBeUndefined();
}

function codeOf(f: () => unknown): string | undefined {
  try {
    f();
  } catch (err) {
    return (err as { code?: string }).code;
  }
  return undefined;
}

describe('SpnegoNtlmClientContext', () => {
  it('sends NegTokenInit{[NTLMSSP], NEGOTIATE}, then AUTHENTICATE with a mechListMIC, and verifies the server’s', () => {
    const { client } = pair();
    const init = decodeNegTokenInit(client.initialToken());
    expect(init.mechTypes).toEqual([MechOid.NTLMSSP]);
    expect(init.reqFlags).toBeUndefined();
    expect(Buffer.from(init.mechToken!).subarray(0, 9)).toEqual(Buffer.from('NTLMSSP\0\x01', 'latin1'));

    const fresh = pair();
    const r1 = fresh.server.accept(fresh.client.initialToken());
    const t2 = fresh.client.step(r1.token)!;
    const resp = decodeNegTokenResp(t2);
    expect(resp.negState).toBe('accept-incomplete');
    expect(resp.supportedMech).toBeUndefined();
    expect(Buffer.from(resp.responseToken!).readUInt32LE(8)).toBe(3);
    // The mechListMIC is an NTLM signature (version 1, sequence number 0).
    expect(resp.mechListMIC).toHaveLength(16);
    expect(Buffer.from(resp.mechListMIC!).readUInt32LE(0)).toBe(1);
    expect(Buffer.from(resp.mechListMIC!).readUInt32LE(12)).toBe(0);
    const r2 = fresh.server.accept(t2);
    expect(fresh.server.clientMicVerified).toBe(true);
    expect(fresh.server.ntlm.micChecked).toBe(true);
    expect(fresh.client.step(r2.token)).toBeUndefined();
    expect(fresh.client.established).toBe(true);
    expect(fresh.client.state).toBe('established');
  });

  it('seals 50 messages each way after the handshake, starting at sequence number 1', () => {
    const { client, server } = pair();
    handshake(client, server);
    for (let i = 0; i < 50; i++) {
      const up = client.seal(Buffer.from(`request ${i}`));
      expect(up.header.readUInt32LE(12)).toBe(i + 1);
      expect(server.ntlm.unseal(up.header, up.data).toString()).toBe(`request ${i}`);
      const down = server.ntlm.seal(Buffer.from(`response ${i}`));
      expect(client.unseal(down.header, down.data).toString()).toBe(`response ${i}`);
    }
    const mic = client.sign(Buffer.from('signed'));
    server.ntlm.security.verify(Buffer.from('signed'), mic);
  });

  it('refuses a missing or wrong server mechListMIC (PSRP_SPNEGO_MIC_INVALID)', () => {
    for (const options of [{ omitMechListMic: true }, { corruptMechListMic: true }]) {
      const { client, server } = pair(options);
      const r1 = server.accept(client.initialToken());
      const r2 = server.accept(client.step(r1.token)!);
      expect(codeOf(() => client.step(r2.token))).toBe('PSRP_SPNEGO_MIC_INVALID');
      expect(client.state).toBe('failed');
      expect(codeOf(() => client.seal(Buffer.from('x')))).toBe('PSRP_INVALID_STATE');
    }
    // No final token at all (a 200 without WWW-Authenticate) is a missing mechListMIC too.
    const { client, server } = pair();
    server.accept(client.step(server.accept(client.initialToken()).token)!);
    expect(codeOf(() => client.step(undefined))).toBe('PSRP_SPNEGO_MIC_INVALID');
  });

  it('refuses a reject and another mechanism (PSRP_SPNEGO_REJECTED)', () => {
    const reject = pair().client;
    reject.initialToken();
    expect(codeOf(() => reject.step(encodeNegTokenResp({ negState: 'reject' })))).toBe(
      'PSRP_SPNEGO_REJECTED',
    );

    const krb = pair().client;
    krb.initialToken();
    const token = encodeNegTokenResp({
      negState: 'accept-incomplete',
      supportedMech: MechOid.KRB5,
      responseToken: Buffer.alloc(4),
    });
    expect(codeOf(() => krb.step(token))).toBe('PSRP_SPNEGO_REJECTED');

    const late = pair();
    late.server.accept(late.client.step(late.server.accept(late.client.initialToken()).token)!);
    expect(codeOf(() => late.client.step(encodeNegTokenResp({ negState: 'reject' })))).toBe(
      'PSRP_SPNEGO_REJECTED',
    );
  });

  it('refuses first replies that break RFC 4178 4.2.2 (PSRP_SPNEGO_INVALID)', () => {
    const challenge = (): Buffer => {
      const { client, server } = pair();
      return Buffer.from(decodeNegTokenResp(server.accept(client.initialToken()).token!).responseToken!);
    };
    const bad = [
      encodeNegTokenResp({ supportedMech: MechOid.NTLMSSP, responseToken: challenge() }),
      encodeNegTokenResp({
        negState: 'accept-completed',
        supportedMech: MechOid.NTLMSSP,
        responseToken: challenge(),
      }),
      encodeNegTokenResp({ negState: 'accept-incomplete', responseToken: challenge() }),
      encodeNegTokenResp({ negState: 'accept-incomplete', supportedMech: MechOid.NTLMSSP }),
      Buffer.from('a1 02 30'.replace(/ /g, ''), 'hex'),
      challenge(), // a raw NTLM CHALLENGE is not a NegTokenResp
    ];
    for (const token of bad) {
      const client = pair().client;
      client.initialToken();
      expect(codeOf(() => client.step(token))).toBe('PSRP_SPNEGO_INVALID');
    }
    const client = pair().client;
    client.initialToken();
    expect(codeOf(() => client.step(undefined))).toBe('PSRP_SPNEGO_INVALID');
    // A garbage NTLM CHALLENGE inside a well-formed NegTokenResp is NTLM's error.
    const garbage = pair().client;
    garbage.initialToken();
    const wrapped = encodeNegTokenResp({
      negState: 'accept-incomplete',
      supportedMech: MechOid.NTLMSSP,
      responseToken: Buffer.from('NTLMSSP\0\x02\0\0\0', 'latin1'),
    });
    expect(codeOf(() => garbage.step(wrapped))).toBe('PSRP_NTLM_MESSAGE_INVALID');
  });

  it('refuses a final reply that is not accept-completed or carries a token', () => {
    for (const final of [
      encodeNegTokenResp({ negState: 'accept-incomplete' }),
      encodeNegTokenResp({ negState: 'request-mic' }),
      encodeNegTokenResp({ negState: 'accept-completed', responseToken: Buffer.from('x') }),
    ]) {
      const { client, server } = pair();
      server.accept(client.step(server.accept(client.initialToken()).token)!);
      expect(codeOf(() => client.step(final))).toBe('PSRP_SPNEGO_INVALID');
    }
  });

  it('enforces the step order', () => {
    const { client, server } = pair();
    expect(codeOf(() => client.step(Buffer.alloc(0)))).toBe('PSRP_INVALID_STATE');
    expect(codeOf(() => client.seal(Buffer.from('x')))).toBe('PSRP_INVALID_STATE');
    handshake(client, server);
    expect(codeOf(() => client.initialToken())).toBe('PSRP_INVALID_STATE');
    expect(codeOf(() => client.step(Buffer.alloc(0)))).toBe('PSRP_INVALID_STATE');
  });

  it('keeps secrets out of inspect and JSON', () => {
    const { client, server } = pair();
    handshake(client, server);
    const shown = inspect(client, { depth: 6 }) + JSON.stringify(client);
    expect(shown).not.toContain('secret');
    expect(JSON.parse(JSON.stringify(client))).toEqual({
      mechanism: 'negotiate',
      user: 'alice',
      domain: 'CONTOSO',
      state: 'established',
    });
  });
});

describe('MS-SPNG 3.3.5.1: the mechListMIC leaves the RC4 key state as it was', () => {
  const key = Buffer.alloc(16, 0x55);
  const flags =
    NtlmFlags.NEGOTIATE_EXTENDED_SESSIONSECURITY |
    NtlmFlags.NEGOTIATE_KEY_EXCH |
    NtlmFlags.NEGOTIATE_128 |
    NtlmFlags.NEGOTIATE_SIGN |
    NtlmFlags.NEGOTIATE_SEAL;
  const list = encodeMechTypeList([MechOid.NTLMSSP]);

  it('restores the handle but not the sequence number', () => {
    const plain = new NtlmSessionSecurity(key, flags, 'client');
    const restored = new NtlmSessionSecurity(key, flags, 'client');
    const advanced = new NtlmSessionSecurity(key, flags, 'client');
    restored.sign(list, { restoreKeyState: true });
    advanced.sign(list);
    const a = plain.seal(Buffer.from('first message'));
    const b = restored.seal(Buffer.from('first message'));
    const c = advanced.seal(Buffer.from('first message'));
    // Same RC4 keystream for the first sealed message as if no MIC had been made...
    expect(b.data).toEqual(a.data);
    expect(c.data).not.toEqual(a.data);
    // ...but the MIC consumed sequence number 0.
    expect(a.header.readUInt32LE(12)).toBe(0);
    expect(b.header.readUInt32LE(12)).toBe(1);
  });

  it('verify restores the receiving handle the same way', () => {
    const server = new NtlmSessionSecurity(key, flags, 'server');
    const client = new NtlmSessionSecurity(key, flags, 'client');
    client.verify(list, server.sign(list, { restoreKeyState: true }), { restoreKeyState: true });
    const down = server.seal(Buffer.from('reply'));
    expect(client.unseal(down.header, down.data).toString()).toBe('reply');
    // Without restoring on one side the streams disagree.
    const s2 = new NtlmSessionSecurity(key, flags, 'server');
    const c2 = new NtlmSessionSecurity(key, flags, 'client');
    c2.verify(list, s2.sign(list, { restoreKeyState: true }));
    const d2 = s2.seal(Buffer.from('reply'));
    expect(codeOf(() => c2.unseal(d2.header, d2.data))).toBe('PSRP_NTLM_SIGNATURE_INVALID');
  });
});
