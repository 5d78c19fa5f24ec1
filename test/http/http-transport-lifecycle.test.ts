import diagnosticsChannel from 'node:diagnostics_channel';
import { once } from 'node:events';
import { createServer } from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import { inspect } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { PsrpError, TransportError } from '../../src/errors.js';
import { channels } from '../../src/internal/debug.js';
import { createTestCertificate } from '../../src/lab/certificate.js';
import type { TestCertificate } from '../../src/lab/certificate.js';
import { reply, soap, startServer } from './servers.js';
import { transportsClosedAfterEach } from './transports.js';

let cert: TestCertificate;
beforeAll(async () => {
  cert = await createTestCertificate();
});

const transport = transportsClosedAfterEach();

async function failure(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

describe('connections', () => {
  it('reuses one keep-alive TLS connection for many sequential requests', async () => {
    const server = await startServer(reply(200, soap()), { cert: cert.cert, key: cert.key });
    const t = transport({ url: `https://localhost:${server.port}/wsman`, ca: cert.ca });
    for (let i = 0; i < 25; i++) await t.send(soap(`<s:Body>${i}</s:Body>`));
    expect(server.requests).toHaveLength(25);
    expect(server.connections()).toBe(1);
    expect(new Set(server.requests.map((r) => r.connection))).toEqual(new Set([1]));
  });

  it('opens up to `connections` sockets for concurrent long polls', async () => {
    const server = await startServer(() => undefined);
    const pending: ((v?: unknown) => void)[] = [];
    server.handle((_req, res) => {
      pending.push(() => {
        res.writeHead(200);
        res.end(soap());
      });
    });
    const t = transport({ url: `${server.origin}/wsman`, connections: 2 });
    const sends = [t.send(soap()), t.send(soap()), t.send(soap())];
    while (server.requests.length < 2) await new Promise((r) => setTimeout(r, 5));
    await new Promise((r) => setTimeout(r, 50));
    expect(server.requests).toHaveLength(2); // the third waits for a free connection
    while (pending.length > 0 || server.requests.length < 3) {
      pending.shift()?.();
      await new Promise((r) => setTimeout(r, 5));
    }
    await Promise.all(sends);
    expect(server.connections()).toBe(2);
  });

  it('an aborted request waiting for a connection leaves the queue without sending', async () => {
    const server = await startServer(() => undefined);
    const answers: (() => void)[] = [];
    server.handle((_req, res) => {
      answers.push(() => {
        res.writeHead(200);
        res.end(soap());
      });
    });
    const t = transport({ url: `${server.origin}/wsman`, connections: 1 });
    const first = t.send(soap('<s:Body>1</s:Body>'));
    await server.nextRequest();
    const controller = new AbortController();
    const waiting = t.send(soap('<s:Body>2</s:Body>'), { signal: controller.signal });
    const third = t.send(soap('<s:Body>3</s:Body>'));
    const reason = new Error('not needed');
    controller.abort(reason);
    await expect(waiting).rejects.toBe(reason);
    answers.shift()?.();
    await first;
    while (server.requests.length < 2) await new Promise((r) => setTimeout(r, 5));
    expect(server.requests[1]?.body).toBe(soap('<s:Body>3</s:Body>'));
    answers.shift()?.();
    await third;
    expect(server.requests.map((r) => r.body)).toEqual([soap('<s:Body>1</s:Body>'), soap('<s:Body>3</s:Body>')]);
    expect(server.connections()).toBe(1);
  });

  it('maps a refused connection to PSRP_CONNECTION_FAILED with the cause', async () => {
    const probe = createServer();
    probe.listen(0, '127.0.0.1');
    await once(probe, 'listening');
    const { port } = probe.address() as AddressInfo;
    await new Promise((r) => probe.close(r));
    const err = (await failure(transport({ url: `http://127.0.0.1:${port}/wsman` }).send(soap()))) as TransportError;
    expect(err).toBeInstanceOf(TransportError);
    expect(err.code).toBe('PSRP_CONNECTION_FAILED');
    expect(err.message).toContain('ECONNREFUSED');
    expect(err.hint).toMatch(/port/);
    expect(err.cause).toBeDefined();
  });

  it('maps a connection closed before the answer to PSRP_CONNECTION_FAILED', async () => {
    const server = await startServer((req) => req.socket.destroy());
    const err = (await failure(transport({ url: `${server.origin}/wsman` }).send(soap()))) as TransportError;
    expect(err.code).toBe('PSRP_CONNECTION_FAILED');
  });
});

describe('aborts and timeouts', () => {
  it('rejects with signal.reason when aborted mid-request, and the server sees the socket close', async () => {
    const server = await startServer(() => undefined); // never answers
    const t = transport({ url: `${server.origin}/wsman` });
    const controller = new AbortController();
    const sending = t.send(soap(), { signal: controller.signal });
    const request = await server.nextRequest();
    const closed = once(request.socket, 'close');
    const reason = new Error('user cancelled');
    const started = Date.now();
    controller.abort(reason);
    await expect(sending).rejects.toBe(reason);
    expect(Date.now() - started).toBeLessThan(1000);
    await closed;
    expect(server.closedSockets()).toBe(1);
  });

  it('rejects at once with the reason of an already-aborted signal, sending nothing', async () => {
    const server = await startServer(reply(200, soap()));
    const t = transport({ url: `${server.origin}/wsman` });
    const reason = new Error('too late');
    await expect(t.send(soap(), { signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
    expect(server.requests).toHaveLength(0);
  });

  it('aborts while the body is streaming', async () => {
    const server = await startServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/soap+xml' });
      res.write('<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope">');
    });
    const t = transport({ url: `${server.origin}/wsman` });
    const controller = new AbortController();
    const sending = t.send(soap(), { signal: controller.signal });
    await server.nextRequest();
    await new Promise((r) => setTimeout(r, 50));
    controller.abort(new Error('stop'));
    await expect(sending).rejects.toThrow('stop');
  });

  it('times out a request that gets no answer with PSRP_TIMEOUT', async () => {
    const server = await startServer(() => undefined);
    const t = transport({ url: `${server.origin}/wsman`, requestTimeoutMs: 300 });
    const started = Date.now();
    const err = (await failure(t.send(soap()))) as TransportError;
    expect(err).toBeInstanceOf(TransportError);
    expect(err.code).toBe('PSRP_TIMEOUT');
    expect(err.hint).toMatch(/OperationTimeout/);
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(290);
    expect(elapsed).toBeLessThan(3000);
  });

  it('times out a TLS handshake that never completes with connectTimeoutMs', async () => {
    const sockets: Socket[] = [];
    const silent = createServer((socket) => {
      sockets.push(socket); // accepts TCP, never speaks TLS
    });
    silent.listen(0, '127.0.0.1');
    await once(silent, 'listening');
    const { port } = silent.address() as AddressInfo;
    try {
      const started = Date.now();
      const err = (await failure(transport({ url: `https://127.0.0.1:${port}/wsman`, connectTimeoutMs: 200 }).send(soap()))) as TransportError;
      expect(err.code).toBe('PSRP_TIMEOUT');
      // TCP was accepted: the TLS handshake is what stalled, and the error says so.
      expect(err).toMatchObject({ name: 'TimeoutError', stage: 'tls', url: `https://127.0.0.1:${port}` });
      expect(err.message).toMatch(/TLS handshake/);
      expect(Date.now() - started).toBeLessThan(3000);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise((r) => silent.close(r));
    }
  });

  it('times out a body that stalls half-way', async () => {
    const server = await startServer((_req, res) => {
      res.writeHead(200, { 'content-length': '1000' });
      res.write('<s:Envelope');
    });
    const err = (await failure(transport({ url: `${server.origin}/wsman`, requestTimeoutMs: 300 }).send(soap()))) as TransportError;
    expect(err.code).toBe('PSRP_TIMEOUT');
  });

  it('close() rejects pending sends with PSRP_TRANSPORT_CLOSED and refuses new ones', async () => {
    const server = await startServer(() => undefined);
    const t = transport({ url: `${server.origin}/wsman` });
    const sending = failure(t.send(soap()));
    await server.nextRequest();
    await t.close();
    expect(((await sending) as TransportError).code).toBe('PSRP_TRANSPORT_CLOSED');
    expect(((await failure(t.send(soap()))) as TransportError).code).toBe('PSRP_TRANSPORT_CLOSED');
    await t.close(); // idempotent
  });
});

describe('response size cap', () => {
  it('rejects a Content-Length above the cap before reading the body', async () => {
    const server = await startServer((_req, res) => {
      res.writeHead(200, { 'content-length': String(10 * 1024 * 1024) });
      res.write('x'.repeat(100)); // and never more: reading would hang
    });
    const t = transport({ url: `${server.origin}/wsman`, maxResponseBytes: 1024, requestTimeoutMs: 5000 });
    const started = Date.now();
    const err = (await failure(t.send(soap()))) as TransportError;
    expect(err.code).toBe('PSRP_HTTP_RESPONSE_TOO_LARGE');
    expect(err.statusCode).toBe(200);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('cuts off a chunked body that grows past the cap', async () => {
    const server = await startServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/soap+xml' });
      for (let i = 0; i < 20; i++) res.write('y'.repeat(1024));
      res.end();
    });
    const err = (await failure(transport({ url: `${server.origin}/wsman`, maxResponseBytes: 4096 }).send(soap()))) as TransportError;
    expect(err.code).toBe('PSRP_HTTP_RESPONSE_TOO_LARGE');
  });

  it('accepts a body exactly at the cap', async () => {
    const body = soap().padEnd(4096, ' ');
    const server = await startServer(reply(200, body));
    await expect(transport({ url: `${server.origin}/wsman`, maxResponseBytes: 4096 }).send(soap())).resolves.toBe(body);
  });
});

describe('observability without secrets', () => {
  const password = 'Tr0ub4dor&3-very-secret';
  const username = 'CONTOSO\\svc-exchange';
  const encoded = Buffer.from(`${username}:${password}`, 'utf8').toString('base64');

  it('publishes each exchange on channels.httpExchange and never leaks the password, the Authorization or the cookie values', async () => {
    const server = await startServer((req, res) => {
      const headers: Record<string, string | string[]> = { 'content-type': 'text/plain' };
      if (req.url === '/set') {
        res.writeHead(200, { 'set-cookie': 'MS-WSMAN=cookie-value-42; path=/' });
        res.end(soap());
        return;
      }
      // A misbehaving server that echoes the request headers into an error body.
      res.writeHead(req.url === '/unauthorized' ? 401 : 400, headers);
      res.end(`Bad request. Authorization: ${req.headers.authorization ?? ''}\nCookie: ${req.headers.cookie ?? ''}\n${req.headers.authorization ?? ''} ${encoded}`);
    }, { cert: cert.cert, key: cert.key });

    const events: unknown[] = [];
    const listener = (message: unknown): void => {
      events.push(message);
    };
    diagnosticsChannel.subscribe(channels.httpExchange.name, listener);
    const errors: unknown[] = [];
    try {
      const set = transport({ url: `https://localhost:${server.port}/set`, ca: cert.ca, auth: { username, password } });
      await set.send(soap());
      const bad = transport({ url: `https://localhost:${server.port}/bad`, ca: cert.ca, auth: { username, password } });
      errors.push(await failure(bad.send(soap())));
      const unauthorized = transport({ url: `https://localhost:${server.port}/unauthorized`, ca: cert.ca, auth: { username, password } });
      errors.push(await failure(unauthorized.send(soap())));
      // Same transport as the cookie: the echoed body now contains the cookie value too.
      const again = transport({ url: `https://localhost:${server.port}/set`, ca: cert.ca, auth: { username, password } });
      await again.send(soap());
      server.handle((req, res) => {
        res.writeHead(502);
        res.end(`proxy saw Cookie: ${req.headers.cookie ?? ''} and ${req.headers.cookie ?? ''}`);
      });
      errors.push(await failure(again.send(soap())));
      errors.push(inspect(again, { depth: 5 }), JSON.stringify(again));
    } finally {
      diagnosticsChannel.unsubscribe(channels.httpExchange.name, listener);
    }

    expect(events.length).toBeGreaterThanOrEqual(5);
    const first = events[0] as Record<string, unknown>;
    expect(first).toMatchObject({ method: 'POST', origin: `https://localhost:${server.port}`, path: '/set', status: 200 });
    expect(first.bytes).toBe(Buffer.byteLength(soap()));
    expect(typeof first.durationMs).toBe('number');
    expect((first.requestHeaders as Record<string, string>).authorization).toBe('[redacted]');

    const errorCodes = errors.filter((e): e is PsrpError => e instanceof PsrpError).map((e) => e.code);
    expect(errorCodes).toEqual(['PSRP_HTTP_BAD_REQUEST', 'PSRP_AUTH_FAILED', 'PSRP_HTTP_BAD_GATEWAY']);
    const dump = [
      ...events.map((e) => inspect(e, { depth: 10 })),
      ...errors.map((e) => (typeof e === 'string' ? e : `${inspect(e, { depth: 10 })} ${JSON.stringify(e)} ${String((e as Error).message)}`)),
    ].join('\n');
    expect(dump).toContain('PSRP_HTTP_BAD_REQUEST'); // the dump is real
    expect(dump).not.toContain(password);
    expect(dump).not.toContain(encoded);
    expect(dump).not.toContain('cookie-value-42');
  });
});
