// The `Negotiate`/`NTLM` header dance (RFC 4559) of NtlmAuthenticator against the test acceptor,
// driven by a loop shaped like HttpTransport's (authorize, respond on 401 with `attempt`, complete).
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import {
  NtlmAuthenticator,
  parseNegotiateChallenges,
  type NtlmAuthenticatorOptions,
} from '../../src/auth/ntlm-authenticator.js';
import { AvId, findAvPair } from '../../src/auth/ntlm-messages.js';
import { TestNtlmAcceptor, type TestAcceptorOptions } from '../helpers/ntlm-acceptor.js';

const URL_ = new URL('https://mail.contoso.test/PowerShell/');

interface Reply {
  readonly status: number;
  readonly wwwAuthenticate: string[];
}

/** A server that speaks Negotiate/NTLM with raw NTLM tokens through the test acceptor. */
class FakeServer {
  readonly acceptor: TestNtlmAcceptor;
  readonly seen: (string | undefined)[] = [];
  constructor(
    readonly offered: string[],
    options: Partial<TestAcceptorOptions> = {},
  ) {
    this.acceptor = new TestNtlmAcceptor({
      user: 'alice',
      domain: 'CONTOSO',
      password: 'secret',
      ...options,
    });
  }
  handle(authorization: string | undefined): Reply {
    this.seen.push(authorization);
    const m = authorization && /^(Negotiate|NTLM) (\S+)$/.exec(authorization);
    if (!m) return { status: 401, wwwAuthenticate: this.offered };
    const scheme = m[1]!;
    const token = Buffer.from(m[2]!, 'base64');
    const type = token.readUInt32LE(8);
    if (type === 1)
      return {
        status: 401,
        wwwAuthenticate: [`${scheme} ${this.acceptor.challenge(token).toString('base64')}`],
      };
    try {
      this.acceptor.accept(token);
      return { status: 200, wwwAuthenticate: [] };
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
  it('does the Negotiate dance: 401 → NEGOTIATE → 401 CHALLENGE → AUTHENTICATE → 200', () => {
    const auth = authenticator();
    const server = new FakeServer(['Negotiate', 'NTLM', 'Basic realm="x"'], {
      targetName: 'HTTP/mail.contoso.test',
    });
    expect(auth.requiresEncryption).toBe(false);
    expect(send(auth, server)).toBe(200);
    expect(server.seen.map((h) => h?.split(' ')[0])).toEqual([undefined, 'Negotiate', 'Negotiate']);
    expect(auth.mechanism).toBe('negotiate');
    expect(server.acceptor.micChecked).toBe(true);
    // The established context encrypts for WinRM message encryption.
    const ctx = auth.context!;
    const up = ctx.seal(Buffer.from('<s:Envelope/>'));
    expect(server.acceptor.unseal(up.sealed, up.signature).toString()).toBe('<s:Envelope/>');
    const down = server.acceptor.seal(Buffer.from('<s:Envelope>ok</s:Envelope>'));
    expect(ctx.unseal(down.sealed, down.signature).toString()).toBe('<s:Envelope>ok</s:Envelope>');
  });

  it('uses NTLM when that is the only scheme offered', () => {
    const auth = authenticator();
    const server = new FakeServer(['NTLM']);
    expect(send(auth, server)).toBe(200);
    expect(server.seen.map((h) => h?.split(' ')[0])).toEqual([undefined, 'NTLM', 'NTLM']);
    expect(auth.mechanism).toBe('ntlm');
    expect(auth.context).toBeDefined();
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
    expect(findAvPair(server.acceptor.avPairs, AvId.TargetName)!.toString('utf16le')).toBe(
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
    const auth = authenticator();
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

  it('parses WWW-Authenticate values', () => {
    expect([...parseNegotiateChallenges(['Negotiate, NTLM', 'Basic realm="a,b"'])]).toEqual([
      ['Negotiate', ''],
      ['NTLM', ''],
    ]);
    expect([...parseNegotiateChallenges(['negotiate TlRMTVNTUAACAAAA=='])]).toEqual([
      ['Negotiate', 'TlRMTVNTUAACAAAA=='],
    ]);
    expect([...parseNegotiateChallenges(['Negotiate not-base64!'])]).toEqual([]);
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
