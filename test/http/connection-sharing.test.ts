/**
 * TLS set-up and idle connections shared across transports (issue 17): one secure context per set
 * of CAs, TLS sessions resumed by a new connection to a host already seen, and the idle connection
 * of a closed transport taken over by the next transport of the same origin, TLS set-up and scheme,
 * never by a transport of a connection-bound scheme (NTLM, Negotiate).
 */
import type { TLSSocket } from 'node:tls';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { TransportError } from '../../src/errors.js';
import type { Authenticator } from '../../src/http/authenticator.js';
import { HttpTransport, type HttpTransportOptions } from '../../src/http/http-transport.js';
import { secureContextFor } from '../../src/http/tls-context.js';
import { createTestCertificate, type TestCertificate } from '../../src/lab/certificate.js';
import { closeAllServers, reply, soap, startServer, type TestServer } from './servers.js';

let cert: TestCertificate;
let other: TestCertificate;
const transports: HttpTransport[] = [];

beforeAll(async () => {
  cert = await createTestCertificate();
  other = await createTestCertificate();
}, 60_000);

afterEach(async () => {
  await Promise.all(transports.splice(0).map((t) => t.close()));
  await closeAllServers();
});

function transport(server: TestServer, options: Partial<HttpTransportOptions> = {}): HttpTransport {
  const t = new HttpTransport({
    url: `${server.origin.replace('127.0.0.1', 'localhost')}/wsman`,
    auth: { username: 'alice', password: 'Secret-1' },
    ca: cert.cert,
    ...options,
  });
  transports.push(t);
  return t;
}

async function https(): Promise<TestServer> {
  return startServer(reply(200, soap()), { cert: cert.cert, key: cert.key });
}

/** An authenticator of a connection-bound scheme that needs no challenge (stands for NTLM here). */
function connectionBound(): Authenticator {
  const auth: Authenticator = {
    mechanism: 'test-bound',
    requiresEncryption: false,
    connectionBound: true,
    authorize: () => 'Bound dG9rZW4tb2YtYWxpY2U=',
    respond: () => undefined,
    forConnection: () => auth,
  };
  return auth;
}

describe('secure contexts', () => {
  it('are made once per set of CAs and shared; a client certificate gets its own', () => {
    const a = secureContextFor({ ca: [cert.cert] });
    expect(secureContextFor({ ca: [cert.cert] })).toBe(a);
    expect(secureContextFor({ ca: [other.cert] })).not.toBe(a);
    expect(secureContextFor({ ca: [cert.cert, other.cert] })).not.toBe(a);
    const withIdentity = { ca: [cert.cert], cert: cert.cert, key: cert.key };
    expect(secureContextFor(withIdentity)).not.toBe(secureContextFor(withIdentity));
  });

  it('still trust exactly the extra CA besides the default roots: another self-signed server is refused', async () => {
    const server = await startServer(reply(200, soap()), { cert: other.cert, key: other.key });
    await expect(transport(server).send('<x/>')).rejects.toMatchObject({ code: 'PSRP_TLS_UNTRUSTED' });
  });

  it('CA text that is no certificate adds no trust, as before: the server stays untrusted', async () => {
    const server = await https();
    const t = transport(server, {
      ca: '-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n',
    });
    const err = await t.send('<x/>').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(TransportError);
    expect((err as TransportError).code).toBe('PSRP_TLS_UNTRUSTED');
    expect(server.requests).toHaveLength(0);
  });
});

describe('connections shared across transports', () => {
  it('a closed transport leaves its idle connection to the next one (Basic: each request still carries its own credentials)', async () => {
    const server = await https();
    const first = transport(server);
    await first.send('<one/>');
    await first.close();
    const second = transport(server, { auth: { username: 'bob', password: 'Secret-2' } });
    await second.send('<two/>');
    expect(server.connections()).toBe(1);
    expect(server.requests.map((r) => r.connection)).toEqual([1, 1]);
    const basic = (r: number): string =>
      Buffer.from(String(server.requests[r]!.headers.authorization).slice(6), 'base64').toString();
    expect([basic(0), basic(1)]).toEqual(['alice:Secret-1', 'bob:Secret-2']);
  });

  it('a new connection to a host already seen resumes the TLS session', async () => {
    const server = await https();
    const first = transport(server);
    await first.send('<one/>');
    // Give the TLS 1.3 session ticket, sent after the handshake, time to arrive.
    await new Promise((r) => setTimeout(r, 50));
    const second = transport(server); // the first is still open: its connection is not free
    await second.send('<two/>');
    expect(server.connections()).toBe(2);
    const sockets = server.requests.map((r) => r.socket as TLSSocket);
    expect(sockets[0]!.isSessionReused()).toBe(false);
    expect(sockets[1]!.isSessionReused()).toBe(true);
  });

  it('a connection-bound scheme never hands its connection on, nor takes another', async () => {
    const server = await https();
    const basic = transport(server);
    await basic.send('<basic/>');
    await basic.close(); // its idle connection is left for the next Basic transport
    const first = transport(server, { auth: connectionBound() });
    await first.send('<one/>');
    await first.close();
    const second = transport(server, { auth: connectionBound() });
    await second.send('<two/>');
    expect(server.requests.map((r) => r.connection)).toEqual([1, 2, 3]);
  });

  it('other TLS options (no certificate check) or another scheme do not share', async () => {
    const server = await https();
    const first = transport(server);
    await first.send('<one/>');
    await first.close();
    const unchecked = transport(server, { ca: undefined, skipCertificateCheck: true });
    await unchecked.send('<two/>');
    await unchecked.close();
    const anonymous = transport(server, { auth: undefined });
    await anonymous.send('<three/>');
    expect(server.requests.map((r) => r.connection)).toEqual([1, 2, 3]);
  });

  it('a left connection is closed once unused for keepAliveTimeoutMs', async () => {
    const server = await https();
    const first = transport(server, { keepAliveTimeoutMs: 100 });
    await first.send('<one/>');
    await first.close();
    await new Promise((r) => setTimeout(r, 400));
    expect(server.closedSockets()).toBe(1);
    const second = transport(server, { keepAliveTimeoutMs: 100 });
    await second.send('<two/>');
    expect(server.connections()).toBe(2);
  });
});
