import { once } from 'node:events';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import diagnosticsChannel from 'node:diagnostics_channel';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { HttpTransport, type HttpTransportOptions } from '../../src/http/http-transport.js';
import { createTestCertificate, type TestCertificate } from '../../src/lab/certificate.js';

type Handler = (req: IncomingMessage, body: string, res: ServerResponse) => void;

interface Running {
  readonly server: Server;
  readonly url: string;
  readonly sockets: Set<Socket>;
  connections: number;
  readonly requests: { headers: IncomingMessage['headers']; body: string; path: string }[];
}

const running: Running[] = [];
const transports: HttpTransport[] = [];
let cert: TestCertificate;
let caSigned: TestCertificate;

beforeAll(async () => {
  cert = await createTestCertificate({ dnsNames: ['alias.localhost'] });
  caSigned = await createTestCertificate({ signedByCa: true });
}, 60_000);

afterEach(async () => {
  await Promise.all(transports.splice(0).map((t) => t.close()));
  for (const r of running.splice(0)) {
    for (const s of r.sockets) s.destroy();
    r.server.close();
  }
});

async function serve(handler: Handler, options: { tls?: TestCertificate | false } = {}): Promise<Running> {
  const tls = options.tls === undefined ? cert : options.tls;
  const listener = (req: IncomingMessage, res: ServerResponse): void => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      r.requests.push({ headers: req.headers, body, path: req.url ?? '' });
      handler(req, body, res);
    });
  };
  const server = tls ? createHttpsServer({ cert: tls.cert, key: tls.key }, listener) : createHttpServer(listener);
  const r: Running = { server, url: '', sockets: new Set(), connections: 0, requests: [] };
  server.on('connection', (s: Socket) => {
    r.connections++;
    r.sockets.add(s);
    s.on('close', () => r.sockets.delete(s));
  });
  server.on('secureConnection', () => undefined);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  (r as { url: string }).url = `${tls ? 'https' : 'http'}://localhost:${port}/wsman`;
  running.push(r);
  return r;
}

const SOAP = '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body/></s:Envelope>';
const ok: Handler = (_req, _body, res) => {
  res.writeHead(200, { 'content-type': 'application/soap+xml;charset=UTF-8' });
  res.end(SOAP);
};

function transport(options: Partial<HttpTransportOptions> & { url: string }): HttpTransport {
  const t = new HttpTransport({ auth: { username: 'CONTOSO\\admin', password: 'P@ss:w0rd' }, ca: cert.ca, ...options });
  transports.push(t);
  return t;
}

const fail = async (p: Promise<unknown>): Promise<{ code: string; statusCode?: number; hint?: string; message: string; responseExcerpt?: string }> => {
  try {
    await p;
  } catch (e) {
    return e as never;
  }
  throw new Error('expected a rejection');
};

describe('HttpTransport against loopback servers', () => {
  it('sends SOAP with Basic credentials, the right headers, and verifies TLS with a custom CA', async () => {
    const srv = await serve(ok);
    const t = transport({ url: srv.url });
    expect(await t.send('<x/>')).toBe(SOAP);
    const req = srv.requests[0]!;
    expect(req.headers['authorization']).toBe(`Basic ${Buffer.from('CONTOSO\\admin:P@ss:w0rd').toString('base64')}`);
    expect(req.headers['content-type']).toBe('application/soap+xml;charset=UTF-8');
    expect(req.headers['accept-encoding']).toBe('identity');
    expect(req.headers['user-agent']).toMatch(/^psrp\//);
    expect(req.body).toBe('<x/>');
  });

  it('refuses an untrusted certificate, a wrong name, and accepts skipCertificateCheck', async () => {
    const srv = await serve(ok);
    expect((await fail(transport({ url: srv.url, ca: caSigned.ca }).send('<x/>'))).code).toBe('PSRP_TLS_UNTRUSTED');
    // Connect by a name the certificate does not list.
    const wrong = transport({ url: srv.url.replace('localhost', 'wrong.localhost'), servername: 'wrong.localhost' });
    const e = await fail(wrong.send('<x/>'));
    expect(['PSRP_TLS_NAME_MISMATCH', 'PSRP_CONNECTION_FAILED']).toContain(e.code);
    expect(await transport({ url: srv.url, ca: undefined, skipCertificateCheck: true }).send('<x/>')).toBe(SOAP);
    const custom = await serve(ok, { tls: caSigned });
    expect(await transport({ url: custom.url, ca: caSigned.ca }).send('<x/>')).toBe(SOAP);
  });

  it('refuses Basic over http unless allowed', async () => {
    const srv = await serve(ok, { tls: false });
    expect(() => transport({ url: srv.url })).toThrow(expect.objectContaining({ code: 'PSRP_INSECURE_BASIC' }));
    expect(await transport({ url: srv.url, allowUnencrypted: true }).send('<x/>')).toBe(SOAP);
  });

  it('maps HTTP failures to typed errors with hints and short excerpts', async () => {
    const cases: [number, string, string, Record<string, string>][] = [
      [401, '', 'PSRP_AUTH_FAILED', { 'www-authenticate': 'Negotiate, Basic realm="x"' }],
      [400, '[ClientAccessServer=CAS01,BackEndServer=be,RequestId=1] [FailureCategory=Auth-401]', 'PSRP_HTTP_BAD_REQUEST', {}],
      [403, 'Forbidden', 'PSRP_HTTP_FORBIDDEN', {}],
      [404, 'Not Found', 'PSRP_HTTP_NOT_FOUND', {}],
      [500, 'plain failure', 'PSRP_HTTP_SERVER_ERROR', {}],
      [502, 'Bad Gateway', 'PSRP_HTTP_BAD_GATEWAY', {}],
    ];
    for (const [status, body, code, headers] of cases) {
      const srv = await serve((_q, _b, res) => {
        res.writeHead(status, headers);
        res.end(body);
      });
      const e = await fail(transport({ url: srv.url }).send('<x/>'));
      expect(e.code, String(status)).toBe(code);
      expect(e.statusCode).toBe(status);
      if (status === 400) {
        expect(e.hint).toMatch(/turn 401 and 404 into 400/);
        expect(e.responseExcerpt).toContain('FailureCategory=Auth-401');
      }
      if (status === 401) expect(e.message).toContain('Negotiate, Basic');
      if (status === 403) expect(e.hint).toMatch(/Require SSL/);
      if (status === 502) expect(e.hint).toMatch(/reverse proxy/);
      expect(JSON.stringify(e) + e.message).not.toContain('P@ss');
    }
    // A 500 carrying a SOAP fault is the WS-Man layer's business: the body comes back.
    const fault = await serve((_q, _b, res) => {
      res.writeHead(500);
      res.end('<s:Envelope xmlns:s="x"><s:Body><s:Fault/></s:Body></s:Envelope>');
    });
    expect(await transport({ url: fault.url }).send('<x/>')).toContain('s:Fault');
  });

  it('follows redirects only when allowed, never to http, at most 5', async () => {
    const target = await serve(ok);
    const redirect = await serve((_q, _b, res) => {
      res.writeHead(302, { location: target.url });
      res.end();
    });
    const e = await fail(transport({ url: redirect.url }).send('<x/>'));
    expect(e.code).toBe('PSRP_REDIRECT_NOT_ALLOWED');
    expect(target.requests).toHaveLength(0);
    const t = transport({ url: redirect.url, allowRedirection: true });
    expect(await t.send('<x/>')).toBe(SOAP);
    expect(target.requests[0]!.headers['authorization']).toMatch(/^Basic /);
    expect(t.url).toBe(target.url);
    const plain = await serve(ok, { tls: false });
    const down = await serve((_q, _b, res) => {
      res.writeHead(307, { location: plain.url });
      res.end();
    });
    expect((await fail(transport({ url: down.url, allowRedirection: true }).send('<x/>'))).code).toBe('PSRP_REDIRECT_INSECURE');
    let loopUrl = '';
    const loop = await serve((_q, _b, res) => {
      res.writeHead(302, { location: loopUrl });
      res.end();
    });
    loopUrl = loop.url;
    expect((await fail(transport({ url: loop.url, allowRedirection: true }).send('<x/>'))).code).toBe('PSRP_TOO_MANY_REDIRECTS');
    expect(loop.requests.length).toBe(6);
  });

  it('keeps cookies per transport (the MS-WSMAN affinity cookie)', async () => {
    const srv = await serve((req, _b, res) => {
      res.writeHead(200, { 'set-cookie': ['MS-WSMAN=backend1; path=/; secure; HttpOnly', 'ARRAffinity=abc'] });
      res.end(SOAP);
    });
    const a = transport({ url: srv.url });
    const b = transport({ url: srv.url });
    await a.send('<1/>');
    await a.send('<2/>');
    await b.send('<3/>');
    expect(srv.requests[0]!.headers['cookie']).toBeUndefined();
    expect(srv.requests[1]!.headers['cookie']).toBe('MS-WSMAN=backend1; ARRAffinity=abc');
    expect(srv.requests[2]!.headers['cookie']).toBeUndefined();
    expect(a.cookieNames()).toEqual(['MS-WSMAN', 'ARRAffinity']);
  });

  it('reuses one keep-alive connection for sequential requests', async () => {
    const srv = await serve(ok);
    const t = transport({ url: srv.url });
    for (let i = 0; i < 20; i++) await t.send('<x/>');
    expect(srv.requests).toHaveLength(20);
    // undici may open a second socket while the first is being released; never one per request.
    expect(srv.connections).toBeLessThanOrEqual(2);
  });

  it('aborts and times out promptly, and caps response size', async () => {
    const stall = await serve(() => undefined); // never answers
    const ac = new AbortController();
    const t0 = Date.now();
    setTimeout(() => ac.abort(), 100);
    const aborted = await fail(transport({ url: stall.url }).send('<x/>', { signal: ac.signal }));
    expect((aborted as unknown as Error).name).toBe('AbortError');
    const timed = await fail(transport({ url: stall.url, requestTimeoutMs: 300 }).send('<x/>'));
    expect(timed.code).toBe('PSRP_TIMEOUT');
    expect(Date.now() - t0).toBeLessThan(5000);
    const big = await serve((_q, _b, res) => {
      res.writeHead(200);
      res.end('x'.repeat(10_000));
    });
    expect((await fail(transport({ url: big.url, maxResponseBytes: 1000 }).send('<x/>'))).code).toBe('PSRP_HTTP_RESPONSE_TOO_LARGE');
    const refused = await fail(transport({ url: 'https://127.0.0.1:1/wsman' }).send('<x/>'));
    expect(refused.code).toBe('PSRP_CONNECTION_FAILED');
  });

  it('publishes diagnostics without secrets', async () => {
    const srv = await serve(ok);
    const seen: unknown[] = [];
    const onMessage = (m: unknown): void => {
      seen.push(m);
    };
    diagnosticsChannel.subscribe('psrp:http:exchange', onMessage);
    try {
      await transport({ url: srv.url }).send('<x/>');
    } finally {
      diagnosticsChannel.unsubscribe('psrp:http:exchange', onMessage);
    }
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ method: 'POST', status: 200, path: '/wsman' });
    const text = JSON.stringify(seen);
    expect(text).not.toContain('P@ss');
    expect(text).not.toContain(Buffer.from('CONTOSO\\admin:P@ss:w0rd').toString('base64'));
  });
});
