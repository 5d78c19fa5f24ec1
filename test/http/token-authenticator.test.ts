import { inspect } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { AuthenticationError, InvalidArgumentError } from '../../src/errors.js';
import { HttpTransport } from '../../src/http/http-transport.js';
import { BASIC_AUTH_TO_OAUTH, TokenAuthenticator } from '../../src/http/token-authenticator.js';
import { createTestCertificate, type TestCertificate } from '../../src/lab/certificate.js';
import { thrown } from '../helpers/thrown.js';
import { reply, soap, startServer } from './servers.js';
import { transportsClosedAfterEach } from './transports.js';

// Shaped like a JWT; a test value, not a real token.
const TOKEN = 'eyJ0eXAiOiJKV1QifQ.eyJ1cG4iOiJhZG1pbkBjb250b3NvIn0.c2lnbmF0dXJlLXRlc3Qtb25seQ';
const USER = 'admin@contoso.onmicrosoft.com';

let cert: TestCertificate;
beforeAll(async () => {
  cert = await createTestCertificate();
});
const transport = transportsClosedAfterEach();

function decode(header: string | undefined): string {
  expect(header).toMatch(/^Basic [A-Za-z0-9+/]+=*$/);
  return Buffer.from(header!.slice(6), 'base64').toString('utf8');
}

describe('TokenAuthenticator', () => {
  it('sends Basic with the password `Bearer <token>`, with or without the prefix given', () => {
    const req = { method: 'POST', url: new URL('https://outlook.office365.com/powershell-liveid/') };
    expect(decode(new TokenAuthenticator({ username: USER, token: TOKEN }).authorize(req))).toBe(
      `${USER}:Bearer ${TOKEN}`,
    );
    expect(decode(new TokenAuthenticator({ username: USER, token: `Bearer ${TOKEN}` }).authorize(req))).toBe(
      `${USER}:Bearer ${TOKEN}`,
    );
    const a = new TokenAuthenticator({ username: USER, token: TOKEN });
    expect(a.mechanism).toBe('token');
    expect(a.requiresEncryption).toBe(true);
    expect(a.respond()).toBeUndefined();
  });

  it('refuses an empty or malformed token and a bad user name', () => {
    for (const [input, message] of [
      [{ username: USER, token: '' }, /empty/],
      [{ username: USER, token: 'Bearer ' }, /empty/],
      [{ username: USER, token: `${TOKEN}\r\nX-Injected: 1` }, /line breaks/],
      [{ username: USER, token: 'two words' }, /spaces/],
      [{ username: USER }, /token string/],
      [{ username: '', token: TOKEN }, /user name/],
      [{ username: 'a:b', token: TOKEN }, /":"/],
    ] as const) {
      const err = thrown(() => new TokenAuthenticator(input as never));
      expect(err, String(message)).toBeInstanceOf(InvalidArgumentError);
      expect(err.message).toMatch(message);
    }
  });

  it('adds BasicAuthToOAuthConversion=true once, keeping the other parameters as written', () => {
    const a = new TokenAuthenticator({ username: USER, token: TOKEN });
    expect(BASIC_AUTH_TO_OAUTH).toBe('BasicAuthToOAuthConversion');
    expect(a.prepareUrl(new URL('https://outlook.office365.com/powershell-liveid/')).href).toBe(
      'https://outlook.office365.com/powershell-liveid/?BasicAuthToOAuthConversion=true',
    );
    expect(
      a.prepareUrl(
        new URL(
          'https://ps.outlook.com/powershell-liveid?DelegatedOrg=contoso.onmicrosoft.com&email=a%40b.com',
        ),
      ).href,
    ).toBe(
      'https://ps.outlook.com/powershell-liveid?DelegatedOrg=contoso.onmicrosoft.com&email=a%40b.com&BasicAuthToOAuthConversion=true',
    );
    const already = new URL(
      'https://outlook.office365.com/PowerShell-LiveID?basicauthtooauthconversion=true&x=1',
    );
    expect(a.prepareUrl(already).href).toBe(already.href);
  });

  it('the transport uses the prepared URL for the request path and wsa:To', async () => {
    const server = await startServer(reply(200, soap()), { cert: cert.cert, key: cert.key });
    const t = transport({
      url: `https://localhost:${server.port}/PowerShell/?DelegatedOrg=contoso`,
      ca: cert.ca,
      auth: new TokenAuthenticator({ username: USER, token: TOKEN }),
    });
    expect(t.url).toBe(
      `https://localhost:${server.port}/PowerShell/?DelegatedOrg=contoso&BasicAuthToOAuthConversion=true`,
    );
    await t.send(soap());
    expect(server.requests[0]!.url).toBe('/PowerShell/?DelegatedOrg=contoso&BasicAuthToOAuthConversion=true');
    expect(decode(server.requests[0]!.headers.authorization)).toBe(`${USER}:Bearer ${TOKEN}`);
  });

  it('is refused over http:// like Basic (PSRP_INSECURE_BASIC) unless allowUnencrypted', async () => {
    const auth = new TokenAuthenticator({ username: USER, token: TOKEN });
    const err = thrown(() => new HttpTransport({ url: 'http://localhost:5985/wsman', auth }));
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect((err as InvalidArgumentError).code).toBe('PSRP_INSECURE_BASIC');
    expect(err.message).not.toContain(TOKEN);
    const server = await startServer(reply(200, soap()));
    const t = transport({ url: `${server.origin}/wsman`, auth, allowUnencrypted: true });
    await t.send(soap());
    expect(server.requests[0]!.url).toBe('/wsman?BasicAuthToOAuthConversion=true');
  });

  it('maps a refused token to PSRP_AUTH_FAILED with a token hint, and never shows the token', async () => {
    const server = await startServer(
      reply(401, `echo: Basic ${Buffer.from(`${USER}:Bearer ${TOKEN}`).toString('base64')}`, {
        'www-authenticate': 'Basic realm="x"',
      }),
      {
        cert: cert.cert,
        key: cert.key,
      },
    );
    const auth = new TokenAuthenticator({ username: USER, token: TOKEN });
    const t = transport({ url: `https://localhost:${server.port}/PowerShell/`, ca: cert.ca, auth });
    const err = await t.send(soap()).then(
      () => new Error('resolved'),
      (e: unknown) => e as Error,
    );
    expect(err).toBeInstanceOf(AuthenticationError);
    expect((err as AuthenticationError).code).toBe('PSRP_AUTH_FAILED');
    expect((err as AuthenticationError).mechanism).toBe('token');
    expect((err as AuthenticationError).hint).toMatch(/expired/);
    expect(server.requests).toHaveLength(1);
    const basic = Buffer.from(`${USER}:Bearer ${TOKEN}`).toString('base64');
    for (const shown of [
      inspect(auth, { depth: 5, showHidden: true }),
      JSON.stringify(auth),
      inspect(t, { depth: 5 }),
      JSON.stringify(t),
      inspect(err, { depth: 5 }),
      JSON.stringify(err),
      String(err),
    ]) {
      expect(shown).not.toContain(TOKEN);
      expect(shown).not.toContain(basic);
    }
    expect(JSON.parse(JSON.stringify(auth))).toEqual({ mechanism: 'token', username: USER });
  });
});
