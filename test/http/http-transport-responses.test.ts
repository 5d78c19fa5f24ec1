import { beforeAll, describe, expect, it } from 'vitest';
import { TransportError } from '../../src/errors.js';
import { HttpTransport } from '../../src/http/http-transport.js';
import { createTestCertificate } from '../../src/lab/certificate.js';
import type { TestCertificate } from '../../src/lab/certificate.js';
import { reply, soap, startServer } from './servers.js';
import { transportsClosedAfterEach } from './transports.js';
import type { TestServer } from './servers.js';

let cert: TestCertificate;
beforeAll(async () => {
  cert = await createTestCertificate();
});

const transport = transportsClosedAfterEach();

const creds = { username: 'admin@contoso.com', password: 'S3cret!pw' };
const tls = (): { ca: string } => ({ ca: cert.ca });
const https = (): Promise<TestServer> => startServer(reply(200, soap()), { cert: cert.cert, key: cert.key });

async function failure(p: Promise<unknown>): Promise<TransportError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(TransportError);
    return err as TransportError;
  }
  throw new Error('expected a rejection');
}

describe('request headers', () => {
  it('sends the WS-Man headers, the exact UTF-8 body and extra headers', async () => {
    const server = await startServer(reply(200, soap()));
    const t = transport({ url: `${server.origin}/wsman?PSVersion=5.1`, headers: { 'X-AnchorMailbox': 'admin@contoso.com' } });
    const envelope = soap('<s:Body>Grüße ✓</s:Body>');
    await t.send(envelope);
    const r = server.requests[0]!;
    expect(r.method).toBe('POST');
    expect(r.url).toBe('/wsman?PSVersion=5.1');
    expect(r.body).toBe(envelope);
    expect(r.headers['content-type']).toBe('application/soap+xml;charset=UTF-8');
    expect(r.headers['accept-encoding']).toBe('identity');
    expect(r.headers['content-length']).toBe(String(Buffer.byteLength(envelope, 'utf8')));
    expect(r.headers['user-agent']).toBe(`psrp/0.1.0 (Node.js ${process.versions.node})`);
    expect(r.headers['x-anchormailbox']).toBe('admin@contoso.com');
    expect(r.headers.authorization).toBeUndefined();
  });

  it('refuses to let extra headers override protocol headers', () => {
    for (const name of ['Authorization', 'cookie', 'Content-Length', 'Host']) {
      expect(() => new HttpTransport({ url: 'https://cas.contoso.com/PowerShell/', headers: { [name]: 'x' } })).toThrow(/cannot be overridden/);
    }
    expect(() => new HttpTransport({ url: 'https://cas.contoso.com/PowerShell/', headers: { 'X-Bad': 'a\r\nInjected: 1' } })).toThrow(/Invalid value/);
  });

  it('refuses bad URLs and credentials in the URL', () => {
    expect(() => new HttpTransport({ url: 'not a url' })).toThrow(/Invalid URL/);
    expect(() => new HttpTransport({ url: 'ftp://cas/PowerShell/' })).toThrow(/scheme/);
    const err = (() => {
      try {
        new HttpTransport({ url: 'https://admin:hunter22@cas/PowerShell/' });
      } catch (e) {
        return e as Error;
      }
      return undefined;
    })();
    expect(err?.message).toMatch(/auth/);
    expect(err?.message).not.toContain('hunter22');
  });
});

describe('HTTP statuses', () => {
  it('resolves a 500 that carries a SOAP fault (the WS-Man layer parses it)', async () => {
    const fault = soap('<s:Body><s:Fault><s:Code><s:Value>s:Receiver</s:Value></s:Code></s:Fault></s:Body>');
    const server = await startServer(reply(500, `<?xml version="1.0" encoding="utf-8"?>\n${fault}`));
    const t = transport({ url: `${server.origin}/wsman` });
    await expect(t.send(soap())).resolves.toContain('<s:Fault>');
  });

  it('maps a 500 without SOAP to PSRP_HTTP_SERVER_ERROR with an excerpt', async () => {
    const server = await startServer(reply(500, 'Internal failure in module X', { 'content-type': 'text/plain' }));
    const err = await failure(transport({ url: `${server.origin}/wsman` }).send(soap()));
    expect(err.code).toBe('PSRP_HTTP_SERVER_ERROR');
    expect(err.statusCode).toBe(500);
    expect(err.responseExcerpt).toBe('Internal failure in module X');
  });

  it('maps an Exchange-style 400 with a plain-text body to PSRP_HTTP_BAD_REQUEST with the 401/404 hint', async () => {
    // Exchange's friendly-error module: soap content type, plain-text diagnostic body.
    const body = '[ClientAccessServer=CAS01,BackEndServer=MBX01.contoso.com,RequestId=1b2c,TimeStamp=11/24/2026 10:00:00 PM] [FailureCategory=Cafe-SendFailure] ';
    const server = await https();
    server.handle(reply(400, body));
    const err = await failure(transport({ url: `https://localhost:${server.port}/PowerShell/`, ...tls(), auth: creds }).send(soap()));
    expect(err.code).toBe('PSRP_HTTP_BAD_REQUEST');
    expect(err.statusCode).toBe(400);
    expect(err.hint).toMatch(/401 and 404 into 400/);
    expect(err.hint).toMatch(/Basic/);
    expect(err.responseExcerpt).toContain('FailureCategory=Cafe-SendFailure');
  });

  it.each([
    [403, 'PSRP_HTTP_FORBIDDEN', /Require SSL/],
    [404, 'PSRP_HTTP_NOT_FOUND', /\/PowerShell\//],
    [502, 'PSRP_HTTP_BAD_GATEWAY', /reverse proxy/],
    [503, 'PSRP_HTTP_UNAVAILABLE', /not available/],
    [504, 'PSRP_HTTP_GATEWAY_TIMEOUT', /OperationTimeout/],
    [418, 'PSRP_HTTP_STATUS', /^$/],
  ])('maps %i to %s with a hint', async (status, code, hint) => {
    const server = await startServer(reply(status, `<html><body>status ${status}</body></html>`, { 'content-type': 'text/html' }));
    const err = await failure(transport({ url: `${server.origin}/PowerShell/` }).send(soap()));
    expect(err.code).toBe(code);
    expect(err.statusCode).toBe(status);
    expect(err.hint ?? '').toMatch(hint);
    expect(err.message).toContain(`HTTP ${status}`);
    expect(err.responseExcerpt).toContain(`status ${status}`);
  });

  it('keeps the fault text of a non-500 SOAP fault in the message', async () => {
    const body = soap('<s:Body><s:Fault><s:Reason><s:Text xml:lang="en-US">The envelope is malformed.</s:Text></s:Reason></s:Fault></s:Body>');
    const server = await startServer(reply(400, body));
    const err = await failure(transport({ url: `${server.origin}/wsman` }).send(soap()));
    expect(err.code).toBe('PSRP_HTTP_BAD_REQUEST');
    expect(err.message).toContain('The envelope is malformed.');
  });

  it('accepts a UTF-16 response body', async () => {
    const server = await startServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/soap+xml;charset=UTF-16' });
      res.end(Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(soap('<s:Body>ü</s:Body>'), 'utf16le')]));
    });
    await expect(transport({ url: `${server.origin}/wsman` }).send(soap())).resolves.toBe(soap('<s:Body>ü</s:Body>'));
  });
});

describe('redirects', () => {
  async function pair(): Promise<{ from: TestServer; to: TestServer }> {
    const to = await https();
    to.handle(reply(200, soap('<s:Body>target</s:Body>')));
    const from = await https();
    from.handle(reply(302, '', { location: `https://localhost:${to.port}/PowerShell-LiveID?PSVersion=5.1` }));
    return { from, to };
  }

  it('refuses a redirect without allowRedirection, naming the Location and the option', async () => {
    const { from, to } = await pair();
    const err = await failure(transport({ url: `https://localhost:${from.port}/PowerShell/`, ...tls(), auth: creds }).send(soap()));
    expect(err.code).toBe('PSRP_REDIRECT_NOT_ALLOWED');
    expect(err.statusCode).toBe(302);
    expect(err.message).toContain(`https://localhost:${to.port}/PowerShell-LiveID`);
    expect(err.message).toContain('allowRedirection');
    expect(to.requests).toHaveLength(0);
  });

  it('follows it with allowRedirection, re-sends credentials and the body, and keeps the new URL', async () => {
    const { from, to } = await pair();
    const t = transport({ url: `https://localhost:${from.port}/PowerShell/`, ...tls(), auth: creds, allowRedirection: true });
    const envelope = soap('<s:Body>create</s:Body>');
    await expect(t.send(envelope)).resolves.toContain('target');
    expect(to.requests).toHaveLength(1);
    expect(to.requests[0]?.url).toBe('/PowerShell-LiveID?PSVersion=5.1');
    expect(to.requests[0]?.body).toBe(envelope);
    expect(to.requests[0]?.headers.authorization).toBe(from.requests[0]?.headers.authorization);
    expect(to.requests[0]?.headers.authorization).toMatch(/^Basic /);
    expect(t.url).toBe(`https://localhost:${to.port}/PowerShell-LiveID?PSVersion=5.1`);
    await t.send(soap());
    expect(from.requests).toHaveLength(1); // the session now talks to the final URL directly
    expect(to.requests).toHaveLength(2);
  });

  it.each([301, 303, 307, 308])('follows %i the same way', async (status) => {
    const { from, to } = await pair();
    from.handle(reply(status, '', { location: `https://localhost:${to.port}/wsman` }));
    const t = transport({ url: `https://localhost:${from.port}/wsman`, ...tls(), allowRedirection: true });
    await expect(t.send(soap())).resolves.toContain('target');
    expect(to.requests[0]?.method).toBe('POST');
  });

  it('never follows https to http', async () => {
    const plain = await startServer(reply(200, soap()));
    const from = await https();
    from.handle(reply(302, '', { location: `${plain.origin}/wsman` }));
    const t = transport({ url: `https://localhost:${from.port}/wsman`, ...tls(), auth: creds, allowRedirection: true, allowUnencrypted: true });
    const err = await failure(t.send(soap()));
    expect(err.code).toBe('PSRP_REDIRECT_INSECURE');
    expect(plain.requests).toHaveLength(0);
    expect(t.url).toBe(`https://localhost:${from.port}/wsman`);
  });

  it('follows at most 5 redirects: 5 succeed, a loop of 6 is refused', async () => {
    const server = await https();
    let hops = 0;
    let limit = 5;
    server.handle((_req, res) => {
      if (hops++ < limit) {
        res.writeHead(307, { location: `/hop${hops}` });
        res.end();
      } else {
        res.writeHead(200);
        res.end(soap('<s:Body>end</s:Body>'));
      }
    });
    const t = transport({ url: `https://localhost:${server.port}/wsman`, ...tls(), allowRedirection: true });
    await expect(t.send(soap())).resolves.toContain('end');
    expect(server.requests.map((r) => r.url)).toEqual(['/wsman', '/hop1', '/hop2', '/hop3', '/hop4', '/hop5']);

    hops = 0;
    limit = 6;
    server.requests.length = 0;
    const t2 = transport({ url: `https://localhost:${server.port}/wsman`, ...tls(), allowRedirection: true });
    const err = await failure(t2.send(soap()));
    expect(err.code).toBe('PSRP_TOO_MANY_REDIRECTS');
    expect(server.requests).toHaveLength(6);
  });

  it('rejects a redirect without a Location', async () => {
    const server = await startServer(reply(302, ''));
    const err = await failure(transport({ url: `${server.origin}/wsman`, allowRedirection: true }).send(soap()));
    expect(err.code).toBe('PSRP_REDIRECT_INVALID');
  });
});

describe('cookies', () => {
  it('sends cookies set by one response on the next, per transport', async () => {
    const server = await https();
    server.handle((req, res) => {
      const headers: Record<string, string | string[]> = { 'content-type': 'application/soap+xml' };
      if (!req.headers.cookie) {
        headers['set-cookie'] = ['MS-WSMAN=sid=abc123; expires=Fri, 01-Jan-2100 00:00:00 GMT; path=/powershell; secure; HttpOnly', 'ARRAffinity=f00d; Path=/; HttpOnly'];
      }
      res.writeHead(200, headers);
      res.end(soap());
    });
    const url = `https://localhost:${server.port}/PowerShell/`;
    const a = transport({ url, ...tls() });
    const b = transport({ url, ...tls() });
    await a.send(soap());
    await a.send(soap());
    await b.send(soap());
    expect(server.requests[0]?.headers.cookie).toBeUndefined();
    // Longer path first (RFC 6265 5.4); the path attribute matches case-insensitively (IIS).
    expect(server.requests[1]?.headers.cookie).toBe('MS-WSMAN=sid=abc123; ARRAffinity=f00d');
    expect(server.requests[2]?.headers.cookie).toBeUndefined();
    expect(a.cookieNames().sort()).toEqual(['ARRAffinity', 'MS-WSMAN']);
    expect(JSON.stringify(a)).not.toContain('abc123');
  });

  it('keeps cookies set on a redirect response and by error responses', async () => {
    const target = await https();
    target.handle(reply(200, soap()));
    const from = await https();
    from.handle(reply(302, '', { location: `https://localhost:${target.port}/wsman`, 'set-cookie': 'pod=1; path=/' }));
    const t = transport({ url: `https://localhost:${from.port}/wsman`, ...tls(), allowRedirection: true });
    await t.send(soap());
    // host-only cookie of the same host name (cookies ignore ports, RFC 6265 8.5)
    expect(target.requests[0]?.headers.cookie).toBe('pod=1');
  });
});
