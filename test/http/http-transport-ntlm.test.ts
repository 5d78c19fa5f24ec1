// NTLM over HTTP through HttpTransport: a loopback server keeps one test acceptor per TCP
// connection (NTLM authenticates connections, RFC 4559 / MS-NLMP), as IIS does. The acceptor takes
// SPNEGO-wrapped NTLM (the authenticator's default under Negotiate) and raw NTLM alike.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { NtlmAuthenticator } from '../../src/auth/ntlm-authenticator.js';
import { HttpTransport } from '../../src/http/http-transport.js';
import { AuthenticationError } from '../../src/errors.js';
import { TestSpnegoAcceptor, type TestSpnegoOptions } from '../helpers/spnego-acceptor.js';

const SOAP = '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body>ok</s:Body></s:Envelope>';

interface NtlmServer {
  readonly url: string;
  /** Handshakes completed, and requests answered 200, per connection. */
  readonly handshakes: number;
  readonly answered: number;
  readonly connections: number;
  dropConnections(): void;
  close(): Promise<void>;
}

const servers: NtlmServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function ntlmServer(
  password = 'S3cret!',
  delayMs = 0,
  spnego: Partial<TestSpnegoOptions> = {},
): Promise<NtlmServer> {
  const state = new WeakMap<Socket, { acceptor: TestSpnegoAcceptor; established: boolean }>();
  const sockets = new Set<Socket>();
  let handshakes = 0;
  let answered = 0;
  let connections = 0;
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    req.resume();
    req.on('end', () => {
      const socket = req.socket;
      let s = state.get(socket);
      if (s?.established) {
        answered++;
        setTimeout(() => res.writeHead(200, { 'content-type': 'application/soap+xml' }).end(SOAP), delayMs);
        return;
      }
      const m = /^Negotiate (\S+)$/.exec(req.headers.authorization ?? '');
      if (!m) {
        res.writeHead(401, { 'www-authenticate': 'Negotiate' }).end();
        return;
      }
      const token = Buffer.from(m[1]!, 'base64');
      try {
        const first = token[0] === 0x60 || (token[0] === 0x4e && token.readUInt32LE(8) === 1);
        if (!s || first) {
          s = {
            acceptor: new TestSpnegoAcceptor({ ...spnego, user: 'bob', domain: 'CONTOSO', password }),
            established: false,
          };
          state.set(socket, s);
        }
        const out = s.acceptor.accept(token);
        const www = out.token ? { 'www-authenticate': `Negotiate ${out.token.toString('base64')}` } : {};
        if (!out.complete) {
          res.writeHead(401, www).end();
          return;
        }
        s.established = true;
        handshakes++;
        answered++;
        res.writeHead(200, { 'content-type': 'application/soap+xml', ...www }).end(SOAP);
      } catch {
        state.delete(socket);
        res.writeHead(401, { 'www-authenticate': 'Negotiate' }).end();
      }
    });
  });
  server.on('connection', (s: Socket) => {
    connections++;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const ntlm: NtlmServer = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/wsman`,
    get handshakes() {
      return handshakes;
    },
    get answered() {
      return answered;
    },
    get connections() {
      return connections;
    },
    dropConnections: () => {
      for (const s of sockets) s.destroy();
    },
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise<void>((r) => server.close(() => r()));
    },
  };
  servers.push(ntlm);
  return ntlm;
}

const transport = (url: string, password = 'S3cret!', connections = 4, spnego = true): HttpTransport =>
  new HttpTransport({
    url,
    auth: new NtlmAuthenticator({ credentials: { username: 'CONTOSO\\bob', password }, spnego }),
    connections,
  });

describe('HttpTransport with NTLM (connection-bound authentication)', () => {
  it('authenticates a connection once and reuses it', async () => {
    const server = await ntlmServer();
    const t = transport(server.url);
    for (let i = 0; i < 5; i++) expect(await t.send(SOAP)).toContain('ok');
    expect(server.handshakes).toBe(1);
    expect(server.connections).toBe(1);
    await t.close();
  });

  it('gives each concurrent connection its own handshake and context', async () => {
    const server = await ntlmServer('S3cret!', 150);
    const t = transport(server.url);
    const answers = await Promise.all(Array.from({ length: 3 }, () => t.send(SOAP)));
    expect(answers.every((a) => a.includes('ok'))).toBe(true);
    expect(server.connections).toBe(3);
    expect(server.handshakes).toBe(3);
    // The three connections stay authenticated.
    await Promise.all(Array.from({ length: 3 }, () => t.send(SOAP)));
    expect(server.handshakes).toBe(3);
    await t.close();
  });

  it('authenticates again when the server drops the connection', async () => {
    const server = await ntlmServer();
    const t = transport(server.url);
    await t.send(SOAP);
    server.dropConnections();
    await new Promise((r) => setTimeout(r, 50));
    expect(await t.send(SOAP)).toContain('ok');
    expect(server.handshakes).toBe(2);
    await t.close();
  });

  it('a wrong password is an AuthenticationError, and the password appears nowhere', async () => {
    const server = await ntlmServer();
    const t = transport(server.url, 'wrong-password!');
    const err = await t.send(SOAP).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AuthenticationError);
    expect((err as AuthenticationError).code).toBe('PSRP_AUTH_FAILED');
    expect(JSON.stringify(err) + String(err) + JSON.stringify(t)).not.toContain('wrong-password!');
    await t.close();
  });

  it('raw NTLM under Negotiate (spnego: false) works the same way', async () => {
    const server = await ntlmServer();
    const t = transport(server.url, 'S3cret!', 4, false);
    for (let i = 0; i < 3; i++) expect(await t.send(SOAP)).toContain('ok');
    expect(server.handshakes).toBe(1);
    await t.close();
  });

  it('a 200 whose SPNEGO mechListMIC does not verify fails with PSRP_SPNEGO_MIC_INVALID', async () => {
    for (const options of [{ corruptMechListMic: true }, { omitMechListMic: true }]) {
      const server = await ntlmServer('S3cret!', 0, options);
      const t = transport(server.url);
      const err = await t.send(SOAP).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AuthenticationError);
      expect((err as AuthenticationError).code).toBe('PSRP_SPNEGO_MIC_INVALID');
      await t.close();
    }
  });
});
