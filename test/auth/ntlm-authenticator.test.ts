// The `Negotiate`/`NTLM` header dance (RFC 4559) of NtlmAuthenticator against the test acceptor
// (SPNEGO-wrapped or raw NTLM, test/helpers/spnego-acceptor.ts), driven by a loop shaped like
// HttpTransport's (authorize, respond on 401 with `attempt`, complete).
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { NtlmAuthenticator, type NtlmAuthenticatorOptions } from '../../src/http/ntlm-authenticator.js';
import { parseNegotiateChallenges } from '../../src/auth/negotiate-challenges.js';
import { NtlmClientContext } from '../../src/auth/ntlm-context.js';
import { AvId, findAvPair } from '../../src/auth/ntlm-messages.js';
import { SpnegoNtlmClientContext } from '../../src/auth/spnego-ntlm-context.js';
import { decodeNegTokenInit, MechOid } from '../../src/auth/spnego.js';
import { TestSpnegoAcceptor, type TestSpnegoOptions } from '../helpers/spnego-acceptor.js';

const URL_ = new URL('https://mail.contoso.test/PowerShell/');

interface Reply {
  readonly status: number;
  readonly wwwAuthenticate: string[];
}

/** A server that speaks Negotiate (SPNEGO or raw NTLM, answering in kind) and NTLM through the test acceptor. */
class FakeServer {
  acceptor: TestSpnegoAcceptor;
  readonly seen: (string | undefined)[] = [];
  constructor(
    readonly offered: string[],
    readonly options: Partial<TestSpnegoOptions> = {},
  ) {
    this.acceptor = this.#fresh();
  }
  #fresh(): TestSpnegoAcceptor {
    return new TestSpnegoAcceptor({ user: 'alice', domain: 'CONTOSO', password: 'secret', ...this.options });
  }
  handle(authorization: string | undefined): Reply {
    this.seen.push(authorization);
    const m = authorization && /^(Negotiate|NTLM) (\S+)$/.exec(authorization);
    if (!m) return { status: 401, wwwAuthenticate: this.offered };
    const scheme = m[1]!;
    const token = Buffer.from(m[2]!, 'base64');
    if (token[0] === 0x60 || (token[0] === 0x4e && token.readUInt32LE(8) === 1))
      this.acceptor = this.#fresh();
    try {
      const out = this.acceptor.accept(token);
      const www = out.token ? [`${scheme} ${out.token.toString('base64')}`] : [];
      return { status: out.complete ? 200 : 401, wwwAuthenticate: www };
    } catch {
      return { status: 401, wwwAuthenticate: this.offered };
    }
  }
}

/** The request loop of HttpTransport#exchange, reduced to authentication. Returns the final status. */
function send(auth: NtlmAuthenticator, server: FakeServer): number {
  let attempt = 0;
  let authorization = auth.authorize({ method: 'POST', url: URL_ });
  for (;;) {
    const reply = server.handle(authorization);
    if (reply.status === 401) {
      const next = auth.respond({
        method: 'POST',
        url: URL_,
        wwwAuthenticate: reply.wwwAuthenticate,
        attempt,
      });
      if (next !== undefined && attempt < 5) {
        authorization = next;
        attempt++;
        continue;
      }
      return 401;
    }
    auth.complete?.({
      method: 'POST',
      url: URL_,
      status: reply.status,
      wwwAuthenticate: reply.wwwAuthenticate,
    });
    return reply.status;
  }
}

function authenticator(extra: Partial<NtlmAuthenticatorOptions> = {}): NtlmAuthenticator {
  return new NtlmAuthenticator({ credentials: { username: 'CONTOSO\\alice', password: 'secret' }, ...extra });
}

describe('NtlmAuthenticator', () => {
  it('does the Negotiate dance with SPNEGO: 401 → NegTokenInit → 401 CHALLENGE → AUTHENTICATE+MIC → 200+MIC', () => {
    const auth = authenticator();
    const server = new FakeServer(['Negotiate', 'NTLM', 'Basic realm="x"'], {
      targetName: 'HTTP/mail.contoso.test',
      requireMechListMic: true,
    });
    expect(auth.requiresEncryption).toBe(false);
    expect(send(auth, server)).toBe(200);
    expect(server.seen.map((h) => h?.split(' ')[0])).toEqual([undefined, 'Negotiate', 'Negotiate']);
    const first = Buffer.from(server.seen[1]!.split(' ')[1]!, 'base64');
    expect(decodeNegTokenInit(first).mechTypes).toEqual([MechOid.NTLMSSP]);
    expect(server.acceptor.form).toBe('spnego');
    expect(auth.mechanism).toBe('negotiate');
    expect(server.acceptor.ntlm.micChecked).toBe(true);
    expect(server.acceptor.clientMicVerified).toBe(true);
    // The established context encrypts for WinRM message encryption.
    const ctx = auth.context!;
    expect(ctx).toBeInstanceOf(SpnegoNtlmClientContext);
    const up = ctx.seal(Buffer.from('<s:Envelope/>'));
    expect(server.acceptor.ntlm.unseal(up.header, up.data).toString()).toBe('<s:Envelope/>');
    const down = server.acceptor.ntlm.seal(Buffer.from('<s:Envelope>ok</s:Envelope>'));
    expect(ctx.unseal(down.header, down.data).toString()).toBe('<s:Envelope>ok</s:Envelope>');
  });

  it('sends raw NTLM under Negotiate with spnego: false', () => {
    const auth = authenticator({ spnego: false });
    const server = new FakeServer(['Negotiate']);
    expect(send(auth, server)).toBe(200);
    expect(server.acceptor.form).toBe('raw');
    expect(server.seen[1]).toMatch(/^Negotiate TlRMTVNTUAAB/);
    expect(auth.context).toBeInstanceOf(NtlmClientContext);
  });

  it('fails the request when the server’s final mechListMIC is missing or wrong (PSRP_SPNEGO_MIC_INVALID)', () => {
    for (const options of [{ omitMechListMic: true }, { corruptMechListMic: true }]) {
      const auth = authenticator();
      expect(() => send(auth, new FakeServer(['Negotiate'], options))).toThrow(
        expect.objectContaining({ code: 'PSRP_SPNEGO_MIC_INVALID', mechanism: 'negotiate' }),
      );
      expect(auth.context).toBeUndefined();
    }
  });

  it('uses NTLM when that is the only scheme offered', () => {
    const auth = authenticator();
    const server = new FakeServer(['NTLM']);
    expect(send(auth, server)).toBe(200);
    expect(server.seen.map((h) => h?.split(' ')[0])).toEqual([undefined, 'NTLM', 'NTLM']);
    expect(server.seen[1]).toMatch(/^NTLM TlRMTVNTUAAB/);
    expect(server.acceptor.form).toBe('raw');
    expect(auth.mechanism).toBe('ntlm');
    expect(auth.context).toBeInstanceOf(NtlmClientContext);
  });

  it('sends NEGOTIATE with the first request when preemptive', () => {
    const auth = authenticator({ preemptive: true });
    const server = new FakeServer(['Negotiate']);
    expect(send(auth, server)).toBe(200);
    expect(server.seen.map((h) => h?.split(' ')[0])).toEqual(['Negotiate', 'Negotiate']);
    // Established: later requests on the connection carry no header.
    expect(auth.authorize({ method: 'POST', url: URL_ })).toBeUndefined();
  });

  it('binds the TLS channel and names the target HTTP/<host>', () => {
    const channelBindings = Buffer.from('tls-server-end-point:0123456789abcdef0123456789abcdef');
    const auth = authenticator({ channelBindings });
    const server = new FakeServer(['Negotiate'], { channelBindings, targetName: 'HTTP/mail.contoso.test' });
    expect(send(auth, server)).toBe(200);
    expect(findAvPair(server.acceptor.ntlm.avPairs, AvId.TargetName)!.toString('utf16le')).toBe(
      'HTTP/mail.contoso.test',
    );
  });

  it('gives up (transport reports PSRP_AUTH_FAILED) when the credentials are refused', () => {
    const auth = new NtlmAuthenticator({ credentials: { username: 'CONTOSO\\alice', password: 'wrong' } });
    const server = new FakeServer(['Negotiate']);
    expect(send(auth, server)).toBe(401);
    expect(auth.context).toBeUndefined();
    expect(server.seen).toHaveLength(3);
    // A later request starts over.
    expect(send(auth, server)).toBe(401);
  });

  it('gives up on a server that offers neither Negotiate nor NTLM', () => {
    expect(send(authenticator(), new FakeServer(['Basic realm="x"']))).toBe(401);
  });

  it('throws PSRP_NTLM_MESSAGE_INVALID for a garbage CHALLENGE token', () => {
    const auth = authenticator({ spnego: false });
    const first = auth.respond({ method: 'POST', url: URL_, wwwAuthenticate: ['Negotiate'], attempt: 0 });
    expect(first).toMatch(/^Negotiate TlRMTVNTUAAB/);
    expect(() =>
      auth.respond({
        method: 'POST',
        url: URL_,
        wwwAuthenticate: ['Negotiate TlRMTVNTUAACAAAA'],
        attempt: 1,
      }),
    ).toThrow(expect.objectContaining({ code: 'PSRP_NTLM_MESSAGE_INVALID' }));
    expect(auth.context).toBeUndefined();
  });

  it('throws PSRP_SPNEGO_INVALID for a CHALLENGE that is not a NegTokenResp', () => {
    const auth = authenticator();
    const first = auth.respond({ method: 'POST', url: URL_, wwwAuthenticate: ['Negotiate'], attempt: 0 });
    expect(first).toMatch(/^Negotiate YE/); // 0x60: the RFC 2743 InitialContextToken
    expect(() =>
      auth.respond({
        method: 'POST',
        url: URL_,
        wwwAuthenticate: ['Negotiate TlRMTVNTUAACAAAA'],
        attempt: 1,
      }),
    ).toThrow(expect.objectContaining({ code: 'PSRP_SPNEGO_INVALID' }));
    expect(auth.context).toBeUndefined();
  });

  it('parses WWW-Authenticate values', () => {
    expect([...parseNegotiateChallenges(['Negotiate, NTLM', 'Basic realm="a,b"'])]).toEqual([
      ['Negotiate', ''],
      ['NTLM', ''],
    ]);
    expect([...parseNegotiateChallenges(['negotiate TlRMTVNTUAACAAAA=='])]).toEqual([
      ['Negotiate', 'TlRMTVNTUAACAAAA=='],
    ]);
    expect([...parseNegotiateChallenges(['Negotiate not-base64!'])]).toEqual([]);
    // The Kerberos scheme (WinRM with Negotiate off) in the same form, for the Kerberos authenticator.
    expect([...parseNegotiateChallenges(['KERBEROS YWJj', 'Negotiate'])]).toEqual([
      ['Kerberos', 'YWJj'],
      ['Negotiate', ''],
    ]);
  });

  it('keeps the password out of inspect and JSON', () => {
    const auth = authenticator();
    send(auth, new FakeServer(['Negotiate']));
    const shown = inspect(auth, { depth: 5 }) + JSON.stringify(auth);
    expect(shown).not.toContain('secret');
    expect(JSON.parse(JSON.stringify(auth))).toEqual({
      mechanism: 'negotiate',
      username: 'CONTOSO\\alice',
      phase: 'established',
    });
  });
});
