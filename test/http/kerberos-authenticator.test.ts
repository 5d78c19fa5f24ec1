// KerberosAuthenticator and NegotiateAuthenticator logic with a scripted GSSAPI module (the real
// MIT KDC and acceptor are exercised in test/auth/gss-lab tests); the WinRM wrap layout.
import { describe, expect, it } from 'vitest';
import { AuthenticationError } from '../../src/errors.js';
import {
  gssServiceName,
  KerberosAuthenticator,
  type GssClient,
  type GssModule,
} from '../../src/http/kerberos-authenticator.js';
import { kerberosError } from '../../src/http/kerberos-errors.js';
import { NegotiateAuthenticator } from '../../src/http/negotiate-authenticator.js';

const URL_ = new URL('http://cas01.contoso.test:5985/wsman');

function fakeGss(script: { fail?: string; tokens?: string[] } = {}): GssModule & { services: string[] } {
  const services: string[] = [];
  return {
    services,
    GSS_C_MUTUAL_FLAG: 2,
    GSS_C_SEQUENCE_FLAG: 8,
    GSS_C_CONF_FLAG: 16,
    GSS_C_INTEG_FLAG: 32,
    GSS_C_DELEG_FLAG: 1,
    GSS_MECH_OID_KRB5: 9,
    GSS_MECH_OID_SPNEGO: 6,
    initializeClient(service) {
      services.push(service);
      const tokens = [...(script.tokens ?? ['dG9rZW4x'])];
      const client: GssClient & { contextComplete: boolean } = {
        contextComplete: false,
        step(challenge) {
          if (script.fail) return Promise.reject(new Error(script.fail));
          if (challenge !== '') client.contextComplete = true;
          return Promise.resolve(challenge === '' ? (tokens.shift() ?? '') : '');
        },
        wrap: (c) => Promise.resolve(c),
        unwrap: (c) => Promise.resolve(c),
      };
      return Promise.resolve(client);
    },
  };
}

describe('Kerberos service names and errors', () => {
  it('builds HTTP@host from the URL host, hostname or SPN', () => {
    expect(gssServiceName('CAS01.Contoso.test')).toBe('HTTP@cas01.contoso.test');
    expect(gssServiceName('ignored', 'HTTP/cas02.contoso.test')).toBe('HTTP@cas02.contoso.test');
    expect(gssServiceName('ignored', 'HTTP/cas02.contoso.test@CONTOSO.TEST')).toBe('HTTP@cas02.contoso.test');
    expect(gssServiceName('ignored', 'WSMAN@x')).toBe('WSMAN@x');
  });

  it('maps GSSAPI failures to stable codes with hints that name the SPN', () => {
    const cases: [string, string][] = [
      [
        'Unspecified GSS failure.  Minor code may provide more information: Server not found in Kerberos database',
        'PSRP_KERBEROS_SPN_NOT_FOUND',
      ],
      ['Minor: Clock skew too great', 'PSRP_KERBEROS_CLOCK_SKEW'],
      [
        'No Kerberos credentials available (default cache: FILE:/tmp/krb5cc_0)',
        'PSRP_KERBEROS_NO_CREDENTIALS',
      ],
      ["Cannot contact any KDC for realm 'CONTOSO.TEST'", 'PSRP_KERBEROS_KDC_UNREACHABLE'],
      ["Client 'bob@CONTOSO.TEST' not found in Kerberos database", 'PSRP_KERBEROS_UNKNOWN_USER'],
      ['something else', 'PSRP_KERBEROS_FAILED'],
    ];
    for (const [text, code] of cases) {
      const e = kerberosError(new Error(text), 'HTTP@vip.contoso.test');
      expect(e).toBeInstanceOf(AuthenticationError);
      expect(e.code, text).toBe(code);
    }
    expect(
      kerberosError(new Error('Server not found in Kerberos database'), 'HTTP@vip.contoso.test').hint,
    ).toContain('HTTP/vip.contoso.test');
  });
});

describe('KerberosAuthenticator', () => {
  it('sends the first token pre-emptively and steps the mutual-auth token (https: no sealing)', async () => {
    const gss = fakeGss();
    const auth = new KerberosAuthenticator({ gssapi: gss, hostname: 'cas01.contoso.test' });
    const url = new URL('https://vip.contoso.test/wsman');
    expect(await auth.authorize({ method: 'POST', url })).toBe('Negotiate dG9rZW4x');
    expect(gss.services).toEqual(['HTTP@cas01.contoso.test']);
    await auth.complete({ method: 'POST', url, status: 200, wwwAuthenticate: ['Negotiate bXV0dWFs'] });
    expect(auth.sealer()).toBeUndefined();
  });

  it('over http:// without a readable service ticket: PSRP_KERBEROS_TICKET_NOT_FOUND at completion', async () => {
    const saved = process.env['KRB5CCNAME'];
    process.env['KRB5CCNAME'] = 'FILE:/nonexistent/psrp-test-cache';
    try {
      const auth = new KerberosAuthenticator({ gssapi: fakeGss() });
      await auth.authorize({ method: 'POST', url: URL_ });
      const err = await auth
        .complete({ method: 'POST', url: URL_, status: 200, wwwAuthenticate: ['Negotiate bXV0dWFs'] })
        .catch((e: unknown) => e);
      expect((err as AuthenticationError).code).toBe('PSRP_KERBEROS_TICKET_NOT_FOUND');
      expect(auth.sealer()).toBeUndefined();
    } finally {
      if (saved === undefined) delete process.env['KRB5CCNAME'];
      else process.env['KRB5CCNAME'] = saved;
    }
  });

  it('refuses a 200 without mutual authentication', async () => {
    const auth = new KerberosAuthenticator({ gssapi: fakeGss(), scheme: 'Kerberos' });
    await auth.authorize({ method: 'POST', url: URL_ });
    const err = await auth
      .complete({ method: 'POST', url: URL_, status: 200, wwwAuthenticate: [] })
      .catch((e: unknown) => e);
    expect((err as AuthenticationError).code).toBe('PSRP_KERBEROS_MUTUAL_AUTH_FAILED');
  });

  it('gives up on a bare challenge after its token (the server refused it)', async () => {
    const auth = new KerberosAuthenticator({ gssapi: fakeGss() });
    await auth.authorize({ method: 'POST', url: URL_ });
    expect(
      await auth.respond({ method: 'POST', url: URL_, wwwAuthenticate: ['Negotiate'], attempt: 1 }),
    ).toBeUndefined();
  });

  it('says how to install the optional package when it is missing', async () => {
    const auth = new KerberosAuthenticator({
      gssapi: () =>
        Promise.reject(
          new AuthenticationError('missing', { mechanism: 'kerberos', code: 'PSRP_KERBEROS_UNAVAILABLE' }),
        ),
    });
    const err = await auth.authorize({ method: 'POST', url: URL_ }).catch((e: unknown) => e);
    expect((err as AuthenticationError).code).toBe('PSRP_KERBEROS_UNAVAILABLE');
  });
});

describe('NegotiateAuthenticator', () => {
  it('falls back to NTLM when Kerberos has no ticket, and remembers it for other connections', async () => {
    const gss = fakeGss({ fail: 'No Kerberos credentials available' });
    const auth = new NegotiateAuthenticator({
      gssapi: gss,
      credentials: { username: 'CONTOSO\\bob', password: 'pw' },
    });
    const header = await auth.authorize({ method: 'POST', url: URL_ });
    // SPNEGO-wrapped NTLM NEGOTIATE (RFC 4178 NegTokenInit around an NTLMSSP message).
    const token = Buffer.from(header!.replace('Negotiate ', ''), 'base64');
    expect(token[0]).toBe(0x60);
    expect(token.includes(Buffer.from('NTLMSSP\0', 'latin1'))).toBe(true);
    expect(auth.mechanism).toBe('ntlm');
    const second = auth.forConnection();
    await second.authorize({ method: 'POST', url: URL_ });
    expect(gss.services).toHaveLength(1);
  });

  it('does not fall back without credentials, or with kerberosOnly, or on other failures', async () => {
    for (const o of [
      { gssapi: fakeGss({ fail: 'No Kerberos credentials available' }) },
      {
        gssapi: fakeGss({ fail: 'No Kerberos credentials available' }),
        credentials: { username: 'bob', password: 'pw' },
        kerberosOnly: true,
      },
      { gssapi: fakeGss({ fail: 'Clock skew too great' }), credentials: { username: 'bob', password: 'pw' } },
    ]) {
      const err = await new NegotiateAuthenticator(o)
        .authorize({ method: 'POST', url: URL_ })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AuthenticationError);
    }
  });
});

describe('secrets', () => {
  it('a Kerberos or Negotiate password appears in no inspect or JSON output', async () => {
    const { inspect } = await import('node:util');
    const { HttpTransport } = await import('../../src/http/http-transport.js');
    for (const auth of [
      { method: 'kerberos', username: 'alice@PSRP.TEST', password: 'Sekr3t-Kerb!' },
      { method: 'negotiate', username: 'PSRP\\alice', password: 'Sekr3t-Kerb!' },
    ] as const) {
      const t = new HttpTransport({ url: 'http://cas01.contoso.test/wsman', auth });
      const shown = inspect(t, { depth: 10, showHidden: true }) + JSON.stringify(t);
      expect(shown).not.toContain('Sekr3t-Kerb!');
      await t.close();
    }
  });
});
