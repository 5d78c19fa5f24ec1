/**
 * A hostile WS-Man server on loopback for the reliability tests: a real HTTP(S) listener (so the
 * public client's own transport, timeouts and redaction are what is tested) that answers like the
 * in-memory FakeWSManServer — a real PSRP pool and pipelines — except for the requests a test hands
 * to a hostile handler: hang, trickle one byte a second, echo the request, answer garbage, end a
 * command without its final state. It counts every action (Create versus Delete: no shell left
 * behind) and records the ShellIds that Create proposed and Delete named.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ServerOptions as HttpsServerOptions } from 'node:https';
import { startServer, type RecordedRequest, type TestServer } from '../http/servers.js';
import { FakeWSManServer, type PipelinePlan } from './fake-wsman-server.js';

/** What a hostile handler sees: the request, its WS-Man action, and the well-behaved answer. */
export interface HostileRequest {
  readonly action: string;
  readonly body: string;
  readonly recorded: RecordedRequest;
  /** The answer the well-behaved fake would give (computed lazily). */
  honest(): Promise<string>;
}

/** Returns true when it answered (or will, or never will) the request itself. */
export type HostileHandler = (
  req: HostileRequest,
  res: ServerResponse,
  raw: IncomingMessage,
) => boolean | Promise<boolean>;

export interface HostileServer {
  /** The WS-Man endpoint: `http(s)://127.0.0.1:<port>/wsman`. */
  readonly url: string;
  readonly fake: FakeWSManServer;
  readonly server: TestServer;
  /** Requests seen per action (`Create`, `Receive`, `Delete`, ...). */
  count(action: string): number;
  /** ShellIds proposed in Create bodies, and named by Delete selectors, in order. */
  readonly proposedShellIds: string[];
  readonly deletedShellIds: string[];
  /** Every Authorization header value received. */
  readonly authorizations: string[];
  /** Replaces the hostile handler (undefined: behave). */
  hostile(handler: HostileHandler | undefined): void;
  close(): Promise<void>;
}

/** The WS-Man action name (last path segment) of a request envelope. */
export function actionOf(body: string): string {
  const m = /<(?:[\w.-]+:)?Action\b[^>]*>([^<]+)</.exec(body);
  return m?.[1]?.trim().split('/').pop() ?? '';
}

/** Writes `text` one chunk of `bytes` every `everyMs` ms, forever slower than any sane timeout. */
export function trickle(res: ServerResponse, text: string, bytes = 1, everyMs = 1000): void {
  res.writeHead(200, {
    'content-type': 'application/soap+xml;charset=UTF-8',
    'content-length': String(Buffer.byteLength(text)),
  });
  const data = Buffer.from(text);
  let at = 0;
  const tick = (): void => {
    if (res.destroyed || at >= data.length) return;
    res.write(data.subarray(at, at + bytes));
    at += bytes;
    setTimeout(tick, everyMs).unref();
  };
  tick();
}

export async function startHostileServer(
  options: {
    readonly planner?: (commands: string[]) => PipelinePlan;
    readonly tls?: HttpsServerOptions;
  } = {},
): Promise<HostileServer> {
  const fake = new FakeWSManServer(options.planner);
  const counts = new Map<string, number>();
  const proposedShellIds: string[] = [];
  const deletedShellIds: string[] = [];
  const authorizations: string[] = [];
  let handler: HostileHandler | undefined;
  const server = await startServer((raw, res, recorded) => {
    const body = recorded.body;
    const action = actionOf(body);
    counts.set(action, (counts.get(action) ?? 0) + 1);
    const auth = recorded.headers.authorization;
    if (auth) authorizations.push(auth);
    if (action === 'Create') {
      const id = /<(?:[\w.-]+:)?Shell\b[^>]*\bShellId="([^"]+)"/.exec(body)?.[1];
      if (id) proposedShellIds.push(id);
    }
    if (action === 'Delete') {
      const id = /<(?:[\w.-]+:)?Selector\b[^>]*Name="ShellId"[^>]*>([^<]+)</.exec(body)?.[1];
      if (id) deletedShellIds.push(id);
    }
    let answer: Promise<string> | undefined;
    const request: HostileRequest = { action, body, recorded, honest: () => (answer ??= fake.send(body)) };
    void (async () => {
      if (handler && (await handler(request, res, raw))) return;
      const text = await request.honest();
      res.writeHead(200, { 'content-type': 'application/soap+xml;charset=UTF-8' });
      res.end(text);
    })().catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(String(err));
    });
  }, options.tls);
  const scheme = options.tls ? 'https' : 'http';
  return {
    url: `${scheme}://127.0.0.1:${server.port}/wsman`,
    fake,
    server,
    count: (action) => counts.get(action) ?? 0,
    proposedShellIds,
    deletedShellIds,
    authorizations,
    hostile: (h) => {
      handler = h;
    },
    close: () => server.close(),
  };
}
