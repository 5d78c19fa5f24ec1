import type { TLSSocket } from 'node:tls';
import { beforeAll, describe, expect, it } from 'vitest';
import { AuthenticationError, InvalidArgumentError, TransportError } from '../../src/errors.js';
import type { AuthChallenge, Authenticator, AuthResult } from '../../src/http/authenticator.js';
import { createTestCertificate } from '../../src/lab/certificate.js';
import type { TestCertificate } from '../../src/lab/certificate.js';
import { reply, soap, startServer } from './servers.js';
import { transportsClosedAfterEach } from './transports.js';

let selfSigned: TestCertificate;
let caSigned: TestCertificate;
let expired: TestCertificate;
let client: TestCertificate;
beforeAll(async () => {
  [selfSigned, caSigned, expired, client] = await Promise.all([
    createTestCertificate(),
    createTestCertificate({ signedByCa: true }),
    createTestCertificate({ expired: true }),
    createTestCertificate({ signedByCa: true, commonName: 'psrp-client' }),
  ]);
});

const transport = transportsClosedAfterEach();

const creds = { username: 'CONTOSO\\admin', password: 'pässwörd-Ünïcode:with:colons' };

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a rejection');
}

describe('TLS verification', () => {
  it('rejects a self-signed certificate by default with PSRP_TLS_UNTRUSTED and a hint', async () => {
    const server = await startServer(reply(200, soap()), { cert: selfSigned.cert, key: selfSigned.key });
    const t = transport({ url: `${server.origin}/wsman` });
    const err = await rejection(t.send(soap()));
    expect(err).toBeInstanceOf(TransportError);
    expect((err as TransportError).code).toBe('PSRP_TLS_UNTRUSTED');
    expect((err as TransportError).hint).toMatch(/`ca`/);
    expect(server.requests).toHaveLength(0);
  });

  it('accepts it with skipCertificateCheck (explicit only)', async () => {
    const server = await startServer(reply(200, soap('<s:Body>ok</s:Body>')), { cert: selfSigned.cert, key: selfSigned.key });
    const t = transport({ url: `${server.origin}/wsman`, skipCertificateCheck: true });
    await expect(t.send(soap())).resolves.toContain('<s:Body>ok</s:Body>');
  });

  it('trusts a leaf signed by a custom CA given with `ca`, and not without it', async () => {
    const server = await startServer(reply(200, soap('<s:Body>ca</s:Body>')), { cert: caSigned.cert, key: caSigned.key });
    const trusted = transport({ url: `https://localhost:${server.port}/wsman`, ca: caSigned.ca });
    await expect(trusted.send(soap())).resolves.toContain('<s:Body>ca</s:Body>');
    const untrusted = transport({ url: `https://localhost:${server.port}/wsman` });
    expect(((await rejection(untrusted.send(soap()))) as TransportError).code).toBe('PSRP_TLS_UNTRUSTED');
  });

  it('reports a name mismatch when the servername is not in the certificate', async () => {
    const server = await startServer(reply(200, soap()), { cert: selfSigned.cert, key: selfSigned.key });
    const t = transport({ url: `${server.origin}/wsman`, ca: selfSigned.ca, servername: 'not-in-the-san.test' });
    const err = (await rejection(t.send(soap()))) as TransportError;
    expect(err.code).toBe('PSRP_TLS_NAME_MISMATCH');
    expect(err.hint).toMatch(/servername/);
    const ok = transport({ url: `${server.origin}/wsman`, ca: selfSigned.ca, servername: 'localhost' });
    await expect(ok.send(soap())).resolves.toContain('Envelope');
  });

  it('reports an expired certificate with PSRP_TLS_EXPIRED', async () => {
    const server = await startServer(reply(200, soap()), { cert: expired.cert, key: expired.key });
    const t = transport({ url: `https://localhost:${server.port}/wsman`, ca: expired.ca });
    const err = (await rejection(t.send(soap()))) as TransportError;
    expect(err.code).toBe('PSRP_TLS_EXPIRED');
    expect(err.hint).toMatch(/Renew|clock/);
  });

  it('presents a client certificate when the server requires one', async () => {
    const server = await startServer(
      (req, res) => {
        const peer = (req.socket as TLSSocket).getPeerCertificate();
        res.writeHead(200, { 'content-type': 'application/soap+xml' });
        res.end(soap(`<s:Body>${peer.subject?.CN ?? 'none'}</s:Body>`));
      },
      { cert: caSigned.cert, key: caSigned.key, requestCert: true, rejectUnauthorized: true, ca: client.ca },
    );
    const withCert = transport({ url: `https://localhost:${server.port}/wsman`, ca: caSigned.ca, cert: client.cert, key: client.key });
    await expect(withCert.send(soap())).resolves.toContain('<s:Body>psrp-client</s:Body>');
    const without = transport({ url: `https://localhost:${server.port}/wsman`, ca: caSigned.ca });
    const err = (await rejection(without.send(soap()))) as TransportError;
    expect(err).toBeInstanceOf(TransportError);
    // TLS 1.3 sends the server's refusal after the client's handshake completed: the client sees
    // the connection close before an answer (TLS 1.2 would show a handshake alert instead).
    expect(['PSRP_TLS_HANDSHAKE_FAILED', 'PSRP_CONNECTION_FAILED']).toContain(err.code);
    expect(err.hint).toMatch(/client certificate/);
  });

  it('explains plain HTTP on an https:// URL', async () => {
    const server = await startServer(reply(200, soap()));
    const t = transport({ url: `https://127.0.0.1:${server.port}/wsman` });
    const err = (await rejection(t.send(soap()))) as TransportError;
    expect(err.code).toBe('PSRP_TLS_HANDSHAKE_FAILED');
    expect(err.hint).toMatch(/plain HTTP/);
  });
});

describe('Basic authentication', () => {
  it('sends UTF-8 Basic credentials pre-emptively on every request over HTTPS', async () => {
    const server = await startServer(reply(200, soap()), { cert: selfSigned.cert, key: selfSigned.key });
    const t = transport({ url: `https://localhost:${server.port}/PowerShell/`, ca: selfSigned.ca, auth: creds });
    await t.send(soap());
    await t.send(soap());
    expect(server.requests).toHaveLength(2);
    for (const r of server.requests) {
      const header = r.headers.authorization ?? '';
      expect(header.startsWith('Basic ')).toBe(true);
      expect(Buffer.from(header.slice(6), 'base64').toString('utf8')).toBe(`${creds.username}:${creds.password}`);
    }
    expect(t.mechanism).toBe('basic');
  });

  it('refuses Basic over http:// with PSRP_INSECURE_BASIC unless allowUnencrypted', async () => {
    const server = await startServer(reply(200, soap()));
    let thrown: unknown;
    try {
      transport({ url: `${server.origin}/wsman`, auth: creds });
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(InvalidArgumentError);
    expect((thrown as InvalidArgumentError).code).toBe('PSRP_INSECURE_BASIC');
    expect((thrown as Error).message).toMatch(/allowUnencrypted/);
    expect(server.requests).toHaveLength(0);

    const lab = transport({ url: `${server.origin}/wsman`, auth: creds, allowUnencrypted: true });
    await lab.send(soap());
    expect(server.requests[0]?.headers.authorization).toMatch(/^Basic /);
  });

  it('maps 401 to AuthenticationError PSRP_AUTH_FAILED naming the offered schemes', async () => {
    const server = await startServer(reply(401, 'Access is denied.', { 'www-authenticate': ['Negotiate', 'Basic realm="cas"'] }), {
      cert: selfSigned.cert,
      key: selfSigned.key,
    });
    const t = transport({ url: `https://localhost:${server.port}/PowerShell/`, ca: selfSigned.ca, auth: creds });
    const err = (await rejection(t.send(soap()))) as AuthenticationError;
    expect(err).toBeInstanceOf(AuthenticationError);
    expect(err.code).toBe('PSRP_AUTH_FAILED');
    expect(err.statusCode).toBe(401);
    expect(err.mechanism).toBe('basic');
    expect(err.message).toContain('Negotiate, Basic');
    expect(err.hint).toMatch(/virtual directory/);
    expect(server.requests).toHaveLength(1); // Basic does not retry refused credentials
  });

  it('says credentials are missing on a 401 without auth', async () => {
    const server = await startServer(reply(401, '', { 'www-authenticate': 'Basic realm="x"' }));
    const t = transport({ url: `${server.origin}/wsman` });
    const err = (await rejection(t.send(soap()))) as AuthenticationError;
    expect(err.code).toBe('PSRP_AUTH_FAILED');
    expect(err.mechanism).toBe('none');
    expect(err.hint).toMatch(/auth/);
  });

  it('plugs in another scheme through the sans-IO Authenticator interface (challenge round trip)', async () => {
    const server = await startServer((req, res) => {
      const auth = req.headers.authorization;
      if (auth === 'Test answer-to-n0nce') {
        res.writeHead(200, { 'www-authenticate': 'Test mutual-ok' });
        res.end(soap('<s:Body>in</s:Body>'));
      } else {
        res.writeHead(401, { 'www-authenticate': 'Test nonce=n0nce' });
        res.end();
      }
    });
    const seen: { challenges: AuthChallenge[]; results: AuthResult[] } = { challenges: [], results: [] };
    const scheme: Authenticator = {
      mechanism: 'test',
      requiresEncryption: false,
      authorize: () => 'Test hello',
      respond: (c) => {
        seen.challenges.push(c);
        const nonce = /nonce=(\w+)/.exec(c.wwwAuthenticate[0] ?? '')?.[1];
        return nonce ? `Test answer-to-${nonce}` : undefined;
      },
      complete: (r) => {
        seen.results.push(r);
      },
    };
    const t = transport({ url: `${server.origin}/wsman`, auth: scheme });
    await expect(t.send(soap())).resolves.toContain('<s:Body>in</s:Body>');
    expect(server.requests.map((r) => r.headers.authorization)).toEqual(['Test hello', 'Test answer-to-n0nce']);
    expect(server.requests[1]?.body).toBe(soap()); // the same envelope is re-sent
    expect(seen.challenges[0]?.attempt).toBe(0);
    expect(seen.results[0]?.status).toBe(200);
    expect(seen.results[0]?.wwwAuthenticate).toEqual(['Test mutual-ok']);
  });

  it('gives up after repeated challenges instead of looping', async () => {
    const server = await startServer(reply(401, '', { 'www-authenticate': 'Test nonce=again' }));
    const scheme: Authenticator = { mechanism: 'test', requiresEncryption: false, authorize: () => undefined, respond: () => 'Test again' };
    const t = transport({ url: `${server.origin}/wsman`, auth: scheme });
    const err = (await rejection(t.send(soap()))) as AuthenticationError;
    expect(err.code).toBe('PSRP_AUTH_FAILED');
    expect(server.requests.length).toBe(6);
  });
});
