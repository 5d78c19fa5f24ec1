/**
 * Loopback HTTP and HTTPS servers for the transport tests: port 0 on 127.0.0.1, every request
 * recorded (headers and body), TCP connections counted, and every socket destroyed on close.
 */
import { once } from 'node:events';
import { createServer as createHttpServer } from 'node:http';
import type { IncomingHttpHeaders, IncomingMessage, Server as HttpServer, ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { ServerOptions as HttpsServerOptions } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';

export interface RecordedRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  /** 1-based number of the TCP connection the request came on. */
  readonly connection: number;
  readonly socket: Socket;
}

export type Handler = (req: IncomingMessage, res: ServerResponse, recorded: RecordedRequest) => void;

export interface TestServer {
  /** `http(s)://127.0.0.1:<port>` */
  readonly origin: string;
  readonly port: number;
  readonly requests: RecordedRequest[];
  /** TCP connections accepted so far. */
  connections(): number;
  /** Sockets that have closed so far. */
  closedSockets(): number;
  /** Resolves with the next request once its body has arrived. */
  nextRequest(): Promise<RecordedRequest>;
  handle(handler: Handler): void;
  close(): Promise<void>;
}

const open: TestServer[] = [];

/** Closes every server started since the last call (use in afterEach). */
export async function closeAllServers(): Promise<void> {
  await Promise.all(open.splice(0).map((s) => s.close()));
}

/** Starts a server; `tls` makes it HTTPS. The handler may be replaced later with `handle`. */
export async function startServer(handler: Handler, tls?: HttpsServerOptions): Promise<TestServer> {
  const requests: RecordedRequest[] = [];
  const sockets = new Set<Socket>();
  const waiters: ((r: RecordedRequest) => void)[] = [];
  let current = handler;
  let accepted = 0;
  let closed = 0;
  const ids = new WeakMap<Socket, number>();
  const listener = (req: IncomingMessage, res: ServerResponse): void => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const recorded: RecordedRequest = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        connection: ids.get(req.socket) ?? 0,
        socket: req.socket,
      };
      requests.push(recorded);
      waiters.shift()?.(recorded);
      current(req, res, recorded);
    });
  };
  const server: HttpServer = tls ? createHttpsServer(tls, listener) : createHttpServer(listener);
  server.keepAliveTimeout = 60_000;
  const onSocket = (socket: Socket): void => {
    accepted++;
    ids.set(socket, accepted);
    sockets.add(socket);
    socket.on('close', () => {
      closed++;
      sockets.delete(socket);
    });
  };
  // For HTTPS count the raw TCP connection (also the ones whose handshake fails).
  server.on('connection', onSocket);
  if (tls) server.on('secureConnection', (s: Socket) => ids.set(s, accepted));
  server.on('tlsClientError', () => undefined);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const test: TestServer = {
    origin: `${tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    port,
    requests,
    connections: () => accepted,
    closedSockets: () => closed,
    nextRequest: () => new Promise((resolve) => waiters.push(resolve)),
    handle: (h) => {
      current = h;
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      if (server.listening) await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  open.push(test);
  return test;
}

/** A minimal SOAP envelope body, like a WS-Man response. */
export function soap(inner = '<s:Body/>'): string {
  return `<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Header/>${inner}</s:Envelope>`;
}

/** A handler answering every request with `status`, optional headers and body. */
export function reply(status: number, body = '', headers: Record<string, string | string[]> = {}): Handler {
  return (_req, res) => {
    res.writeHead(status, { 'content-type': 'application/soap+xml;charset=UTF-8', ...headers });
    res.end(body);
  };
}
