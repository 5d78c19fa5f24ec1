// NTLM over HTTP through HttpTransport: a loopback server keeps one test acceptor per TCP
// connection (NTLM authenticates connections, RFC 4559 / MS-NLMP), as IIS does. The acceptor takes
// SPNEGO-wrapped NTLM (the authenticator's default under Negotiate) and raw NTLM alike.
import { X509Certificate } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { tlsServerEndPoint } from '../../src/auth/channel-bindings.js';
import { NtlmAuthenticator } from '../../src/http/ntlm-authenticator.js';
import { ntlmSealingContext } from '../../src/auth/ntlm-sealing.js';
import { createTestCertificate } from '../../src/lab/certificate.js';
import { decryptMessage, encryptMessage } from '../../src/http/message-encryption.js';
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

interface ServerOptions {
  readonly password?: string;
  readonly delayMs?: number;
  /** Serve https with this certificate and require matching channel bindings (Extended Protection). */
  readonly tls?: { readonly cert: string; readonly key: string };
  /** SPNEGO misbehaviour to test (a bad or missing server mechListMIC). */
  readonly spnego?: Partial<TestSpnegoOptions>;
  /** Flip a byte of the sealed answer to this many requests (then answer properly). */
  readonly tamperAnswers?: number;
}

/**
 * A WinRM-like NTLM endpoint: the handshake on one connection (the last leg carries an empty
 * body), then over http every request must be `multipart/encrypted` and every answer is sealed;
 * over https the messages travel in clear and the AUTHENTICATE must bind the TLS certificate.
 */
async function ntlmServer(options: ServerOptions = {}): Promise<NtlmServer> {
  const { password = 'S3cret!', delayMs = 0, tls, spnego = {} } = options;
  let tamper = options.tamperAnswers ?? 0;
  const bindings = tls ? tlsServerEndPoint(new X509Certificate(tls.cert).raw) : undefined;
  const state = new WeakMap<Socket, { acceptor: TestSpnegoAcceptor; established: boolean }>();
  const sockets = new Set<Socket>();
  let handshakes = 0;
  let answered = 0;
  let connections = 0;
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        const body = Buffer.concat(chunks);
        const socket = req.socket;
        let s = state.get(socket);
        if (s?.established) {
          if (tls) {
            answered++;
            setTimeout(
              () => res.writeHead(200, { 'content-type': 'application/soap+xml' }).end(SOAP),
              delayMs,
            );
            return;
          }
          const sealer = ntlmSealingContext(s.acceptor.ntlm);
          let request: string;
          try {
            request = await decryptMessage(sealer, body, req.headers['content-type'] ?? '');
          } catch {
            res.writeHead(400).end();
            return;
          }
          answered++;
          const answer = await encryptMessage(sealer, SOAP.replace('ok', `ok ${request.length}`));
          if (tamper > 0) {
            tamper--;
            answer.body[answer.body.length - 30]! ^= 0x01;
          }
          setTimeout(
            () => res.writeHead(200, { 'content-type': answer.contentType }).end(answer.body),
            delayMs,
          );
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
              acceptor: new TestSpnegoAcceptor({
                ...spnego,
                user: 'bob',
                domain: 'CONTOSO',
                password,
                ...(bindings ? { channelBindings: bindings } : {}),
              }),
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
          if (tls) {
            answered++;
            res.writeHead(200, { 'content-type': 'application/soap+xml', ...www }).end(SOAP);
          } else {
            // Over http the handshake carries no message: WinRM answers the empty body with 200.
            if (body.length !== 0) throw new Error('a message before the context exists cannot be sealed');
            res.writeHead(200, www).end();
          }
        } catch {
          state.delete(socket);
          res.writeHead(401, { 'www-authenticate': 'Negotiate' }).end();
        }
      })();
    });
  };
  const server = tls ? createHttpsServer(tls, handler) : createServer(handler);
  server.on('connection', (s: Socket) => {
    connections++;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const ntlm: NtlmServer = {
    url: `${tls ? 'https' : 'http'}://localhost:${(server.address() as AddressInfo).port}/wsman`,
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

const transport = (
  url: string,
  password = 'S3cret!',
  connections = 4,
  ca?: string,
  spnego = true,
): HttpTransport =>
  new HttpTransport({
    url,
    auth: new NtlmAuthenticator({ credentials: { username: 'CONTOSO\\bob', password }, spnego }),
    connections,
    ...(ca ? { ca } : {}),
  });

describe('HttpTransport with NTLM (connection-bound authentication)', () => {
  it('authenticates a connection once and reuses it', async () => {
    const server = await ntlmServer();
    const t = transport(server.url);
    for (let i = 0; i < 5; i++) expect(await t.send(SOAP)).toContain(`ok ${SOAP.length}`);
    expect(server.handshakes).toBe(1);
    expect(server.answered).toBe(5);
    expect(server.connections).toBe(1);
    await t.close();
  });

  it('gives each concurrent connection its own handshake and context', async () => {
    const server = await ntlmServer({ delayMs: 150 });
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

  it('over http seals every message: the server sees no envelope in clear and answers sealed', async () => {
    const server = await ntlmServer();
    const seen: string[] = [];
    const listener = (e: unknown): void => {
      seen.push(JSON.stringify(e));
    };
    const { channels } = await import('../../src/internal/debug.js');
    channels.httpExchange.subscribe(listener);
    try {
      const t = transport(server.url);
      expect(await t.send(SOAP.replace('ok', 'secret-payload'))).toContain('ok ');
      await t.close();
    } finally {
      channels.httpExchange.unsubscribe(listener);
    }
    // The anonymous probe, NEGOTIATE and AUTHENTICATE carry empty bodies; then the sealed message.
    expect(seen).toHaveLength(4);
    expect(seen.slice(0, 3).every((e) => e.includes('"requestBytes":0'))).toBe(true);
    expect(seen[3]).toContain('multipart/encrypted');
    expect(seen.join('')).not.toContain('secret-payload');
  });

  it('over https binds the AUTHENTICATE to the server certificate read off the connection', async () => {
    const cert = await createTestCertificate({ days: 30 });
    const server = await ntlmServer({ tls: { cert: cert.cert, key: cert.key } });
    const t = transport(server.url, 'S3cret!', 4, cert.ca);
    expect(await t.send(SOAP)).toContain('ok');
    expect(server.handshakes).toBe(1);
    await t.close();
    // The same acceptor with bindings of another certificate refuses.
    const other = await createTestCertificate({ days: 30 });
    const wrong = await ntlmServer({ tls: { cert: cert.cert, key: cert.key } });
    const t2 = new HttpTransport({
      url: wrong.url,
      ca: cert.ca,
      auth: new NtlmAuthenticator({
        credentials: { username: 'CONTOSO\\bob', password: 'S3cret!' },
        channelBindings: tlsServerEndPoint(new X509Certificate(other.cert).raw),
      }),
    });
    const err = await t2.send(SOAP).catch((e: unknown) => e);
    expect((err as AuthenticationError).code).toBe('PSRP_AUTH_FAILED');
    await t2.close();
  });

  it('raw NTLM under Negotiate (spnego: false) works the same way', async () => {
    const server = await ntlmServer();
    const t = transport(server.url, 'S3cret!', 4, undefined, false);
    for (let i = 0; i < 3; i++) expect(await t.send(SOAP)).toContain('ok');
    expect(server.handshakes).toBe(1);
    await t.close();
  });

  it('a 200 whose SPNEGO mechListMIC does not verify fails with PSRP_SPNEGO_MIC_INVALID', async () => {
    for (const spnego of [{ corruptMechListMic: true }, { omitMechListMic: true }]) {
      const server = await ntlmServer({ spnego });
      const t = transport(server.url);
      const err = await t.send(SOAP).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AuthenticationError);
      expect((err as AuthenticationError).code).toBe('PSRP_SPNEGO_MIC_INVALID');
      await t.close();
    }
  });

  it('a sealed answer that fails its check: PSRP_ENCRYPTION_INVALID, and the next request starts afresh', async () => {
    const server = await ntlmServer({ tamperAnswers: 1 });
    const t = transport(server.url, 'S3cret!', 1);
    const err = await t.send(SOAP).catch((e: unknown) => e);
    expect((err as { code?: string }).code).toBe('PSRP_ENCRYPTION_INVALID');
    expect(await t.send(SOAP)).toContain('ok ');
    expect(server.connections).toBe(2);
    expect(server.handshakes).toBe(2);
    await t.close();
  });
});
