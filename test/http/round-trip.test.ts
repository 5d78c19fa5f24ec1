import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Dispatcher } from 'undici';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { undiciClient } from '../../src/http/undici-parts.js';
import { roundTrip, type RoundTripRequest } from '../../src/http/round-trip.js';
import { TransportError } from '../../src/errors.js';
import { RequestAbort } from '../../src/http/request-abort.js';

const Client = undiciClient();

/** Answers by path: what each test needs of a server. */
const routes: Record<string, (res: ServerResponse, body: string) => void> = {
  '/echo': (res, body) => {
    res.writeHead(200, { 'content-type': 'text/plain', 'set-cookie': ['a=1', 'b=2'] });
    res.end(`got ${body}`);
  },
  '/chunks': (res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    for (let i = 0; i < 5; i++) res.write(Buffer.alloc(1000, 0x61 + i));
    res.end();
  },
  '/declared': (res) => {
    res.writeHead(200, { 'content-length': '5000000' });
    res.write('x');
  },
  '/grows': (res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.write(Buffer.alloc(3000, 0x62));
    res.write(Buffer.alloc(3000, 0x62));
    res.end();
  },
  '/redirect-big': (res) => {
    res.writeHead(302, { location: '/elsewhere' });
    res.end(Buffer.alloc(200_000, 0x63));
  },
  '/stall': (res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.write('first part');
  },
};

let server: Server;
let origin: string;
beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => routes[req.url ?? '']!(res, body));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

function req(path: string, over: Partial<RoundTripRequest> = {}): RoundTripRequest {
  return {
    path,
    headers: { 'content-type': 'text/plain' },
    body: Buffer.from('hello'),
    maxBytes: 4096,
    headersTimeout: 10_000,
    bodyTimeout: 10_000,
    signal: new AbortController().signal,
    ...over,
  };
}

describe('roundTrip: one POST, its whole bounded response (issue 17)', () => {
  /** A client (one connection) of its own per test. */
  let client: Dispatcher;
  beforeEach(() => {
    client = new Client(origin);
  });
  afterEach(async () => {
    await client.destroy();
  });

  it('sends the body and returns status, lower-case headers (repeated ones as arrays) and the body', async () => {
    const res = await roundTrip(client, req('/echo'));
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('text/plain');
    expect(res.headers['set-cookie']).toEqual(['a=1', 'b=2']);
    expect(res.bytes.toString()).toBe('got hello');
    // The connection is kept: a second request on the same client works.
    expect((await roundTrip(client, req('/chunks', { maxBytes: 5000 }))).bytes.toString()).toBe(
      ['a', 'b', 'c', 'd', 'e'].map((c) => c.repeat(1000)).join(''),
    );
  });

  it('refuses a Content-Length above the limit before reading the body, and a body that grows past it', async () => {
    const declared = await roundTrip(client, req('/declared')).catch((e: unknown) => e);
    expect(declared).toBeInstanceOf(TransportError);
    expect(declared).toMatchObject({ code: 'PSRP_HTTP_RESPONSE_TOO_LARGE', statusCode: 200 });
    expect(String((declared as Error).message)).toContain('declares 5000000 bytes');
    const grows = await roundTrip(client, req('/grows', { maxBytes: 5000 })).catch((e: unknown) => e);
    expect(grows).toMatchObject({ code: 'PSRP_HTTP_RESPONSE_TOO_LARGE' });
    expect(String((grows as Error).message)).toContain('exceeds the 5000-byte limit');
    // After either, the client still works (the broken connection was dropped, a new one made).
    expect((await roundTrip(client, req('/echo'))).status).toBe(200);
  });

  it('answers a redirect with its status and headers even when its body is larger than the drain limit', async () => {
    const res = await roundTrip(client, req('/redirect-big'));
    expect(res.status).toBe(302);
    expect(res.headers['location']).toBe('/elsewhere');
    expect(res.bytes.length).toBe(0);
  });

  it('ends with the signal’s reason when aborted mid-response, or at once when already aborted', async () => {
    const controller = new AbortController();
    const reason = new Error('caller gave up');
    const pending = roundTrip(client, req('/stall', { signal: controller.signal }));
    setTimeout(() => controller.abort(reason), 100);
    await expect(pending).rejects.toBe(reason);
    const done = new AbortController();
    done.abort(reason);
    await expect(roundTrip(client, req('/echo', { signal: done.signal }))).rejects.toBe(reason);
    expect((await roundTrip(client, req('/echo'))).status).toBe(200);
  });

  it('times out a body that stalls between chunks (bodyTimeout) with undici’s error code', async () => {
    const err = await roundTrip(client, req('/stall', { bodyTimeout: 300 })).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'UND_ERR_BODY_TIMEOUT' });
  });

  it('takes a RequestAbort as its signal: an abort ends the pending request with its reason', async () => {
    const abort = new RequestAbort();
    const reason = new Error('timed out');
    const pending = roundTrip(client, req('/stall', { signal: abort }));
    setTimeout(() => abort.abort(reason), 100);
    await expect(pending).rejects.toBe(reason);
  });
});

describe('RequestAbort', () => {
  it('aborts once, calls each listener once in order, not removed ones nor ones added after', () => {
    const abort = new RequestAbort();
    const calls: string[] = [];
    const a = (): void => void calls.push('a');
    const b = (): void => void calls.push('b');
    const c = (): void => void calls.push('c');
    abort.addEventListener('abort', a);
    abort.addEventListener('abort', b, { once: true });
    abort.addEventListener('abort', c);
    abort.removeEventListener('abort', c);
    expect(abort.aborted).toBe(false);
    abort.abort('first');
    abort.abort('second');
    abort.addEventListener('abort', c);
    expect(calls).toEqual(['a', 'b']);
    expect(abort.aborted).toBe(true);
    expect(abort.reason).toBe('first');
  });
});
