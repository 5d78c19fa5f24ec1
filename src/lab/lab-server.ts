/**
 * The lab: a loopback WinRM (WS-Management) endpoint whose shells are real `pwsh -s` processes, in
 * the way Windows' WinRM PowerShell plugin hosts PowerShell. Create starts a process and forwards
 * creationXml; Command, Send, Receive, Signal and Delete map onto PowerShell's out-of-process
 * framing (through OutOfProcConnection). HTTPS with a throw-away certificate and Basic
 * authentication. A dev tool and test double, not a production server.
 */
import { createServer as createHttpsServer, type Server } from 'node:https';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { OutOfProcConnection } from '../client/outofproc-connection.js';
import { deserializeObject } from '../clixml/index.js';
import { Defragmenter } from '../psrp/fragment.js';
import { decodeMessage } from '../psrp/message.js';
import { attr, child, descendants } from '../internal/xml-tree.js';
import { Action, Signal } from '../wsman/namespaces.js';
import { createTestCertificate } from './certificate.js';
import { exchangeRunspaceLaunch, LAB_USERS, type LabRole } from './exchange-runspace.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { InvalidArgumentError } from '../errors.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  commandResponse,
  createResponse,
  emptyResponse,
  faultResponse,
  parseLabRequest,
  receiveResponse,
  type LabRequest,
} from './wsman-server-codec.js';

export interface LabOptions {
  /** user → password and role. Default: LAB_USERS (admin, helpdesk, readonly). */
  readonly users?: Readonly<Record<string, { readonly password: string; readonly role: LabRole }>>;
  /** A JSON file `{ "user": { "password": "…", "role": "admin" | "helpdesk" | "readonly" } }` (instead of `users`). */
  readonly usersFile?: string;
  readonly port?: number;
  /** Path to pwsh (default: found on PATH / ~/.dotnet/tools). */
  readonly pwsh?: string;
  /** Mailboxes in the fake organisation. Default 2000. */
  readonly mailboxCount?: number;
  /** Exchange behaviours to switch on from the start (they can be changed later on `lab.behaviours`). */
  readonly behaviours?: Partial<LabBehaviours>;
}

/**
 * Exchange behaviours clients must survive, each switchable (research A4, A7, A9; the field guide).
 * They apply to the `/PowerShell/` endpoint.
 */
export interface LabBehaviours {
  /** Set the `MS-WSMAN` affinity cookie on Create; with `required`, a request without it fails with invalid selectors. Default 'set'. */
  affinityCookie: 'off' | 'set' | 'required';
  /** Concurrent shells per user (Exchange PowerShellMaxConcurrency); beyond it Create fails with Exchange's text. Default 18. */
  maxShellsPerUser: number;
  /** Answer requests with a 302 to this host name (e.g. `127.0.0.1`), like an Exchange pod redirect. Default undefined. */
  redirectToHost: string | undefined;
  /** Rewrite 401 to 400 with Exchange's plain-text FriendlyError body. Default false. */
  rewrite401To400: boolean;
  /** Plain-HTTP requests to /PowerShell/ get 403 ("Require SSL" on the vdir). Default true. */
  requireSsl: boolean;
  /** Delete shells idle for longer than this (ms); later requests get invalid selectors. Default undefined. */
  idleTimeoutMs: number | undefined;
}

export interface Lab {
  /** `https://localhost:<port>/wsman` (Microsoft.PowerShell). */
  readonly url: string;
  /** `https://localhost:<port>/PowerShell/` (Microsoft.Exchange: NoLanguage, RBAC, fake organisation). */
  readonly exchangeUrl: string;
  /** The same endpoints over plain HTTP (`http://localhost:<port2>`). */
  readonly httpOrigin: string;
  /** Switchable Exchange behaviours (change them at any time). */
  readonly behaviours: LabBehaviours;
  /** Forget every affinity cookie, as when a request reaches another back end. */
  loseAffinity(): void;
  /** The PEM certificate to trust (`ca` option). */
  readonly ca: string;
  /** user → password. */
  readonly users: Readonly<Record<string, string>>;
  /** Shells currently open (each one a pwsh process). */
  liveShells(): number;
  /** Requests handled, by WS-Man action name. */
  readonly requestCounts: Map<string, number>;
  close(): Promise<void>;
}

interface Shell {
  readonly id: string;
  readonly user: string;
  readonly exchange: boolean;
  affinity: string | undefined;
  lastUsed: number;
  /** Requests being handled (a shell is not idle while one is). */
  busy: number;
  readonly connection: OutOfProcConnection;
  readonly defrags: Map<string, Defragmenter>;
  readonly finished: Set<string>;
}

function readUsersFile(file: string): Record<string, { password: string; role: LabRole }> {
  const raw = JSON.parse(readFileSync(file, 'utf8')) as Record<
    string,
    { password?: unknown; role?: unknown }
  >;
  const out: Record<string, { password: string; role: LabRole }> = {};
  for (const [user, v] of Object.entries(raw)) {
    if (typeof v.password !== 'string' || !['admin', 'helpdesk', 'readonly'].includes(String(v.role))) {
      throw new InvalidArgumentError(
        `Lab users file ${file}: user ${user} needs a password and a role (admin, helpdesk, readonly)`,
      );
    }
    out[user] = { password: v.password, role: v.role as LabRole };
  }
  return out;
}

const POWERSHELL_URI = 'http://schemas.microsoft.com/powershell/Microsoft.PowerShell';
const EXCHANGE_URI = 'http://schemas.microsoft.com/powershell/Microsoft.Exchange';
const TERMINAL = new Set([3, 4, 5]);

export async function startLab(options: LabOptions = {}): Promise<Lab> {
  const accounts = options.usersFile ? readUsersFile(options.usersFile) : (options.users ?? LAB_USERS);
  const users = Object.fromEntries(Object.entries(accounts).map(([u, a]) => [u, a.password]));
  const stateDir = await mkdtemp(join(tmpdir(), 'psrp-lab-'));
  const cert = await createTestCertificate({});
  const shells = new Map<string, Shell>();
  const sockets = new Set<Socket>();
  const requestCounts = new Map<string, number>();
  const behaviours: LabBehaviours = {
    affinityCookie: 'set',
    maxShellsPerUser: 18,
    redirectToHost: undefined,
    rewrite401To400: false,
    requireSsl: true,
    idleTimeoutMs: undefined,
    ...options.behaviours,
  };
  const reaper = setInterval(() => {
    const limit = behaviours.idleTimeoutMs;
    if (limit === undefined) return;
    for (const shell of shells.values()) {
      if (shell.exchange && shell.busy === 0 && Date.now() - shell.lastUsed > limit) {
        shells.delete(shell.id);
        void shell.connection.closePool().catch(() => undefined);
      }
    }
  }, 200);
  reaper.unref();

  /** The authenticated user name, or undefined. */
  const authorized = (req: IncomingMessage): string | undefined => {
    const h = req.headers['authorization'] ?? '';
    if (!h.startsWith('Basic ')) return undefined;
    const decoded = Buffer.from(h.slice(6), 'base64').toString('utf8');
    const i = decoded.indexOf(':');
    const user = decoded.slice(0, i);
    return i > 0 && Object.prototype.hasOwnProperty.call(users, user) && users[user] === decoded.slice(i + 1)
      ? user
      : undefined;
  };

  /** Notes PIPELINE_STATE messages so Receive can say CommandState Done, as Windows does. */
  const track = (shell: Shell, target: string, chunks: readonly Uint8Array[]): void => {
    let d = shell.defrags.get(target);
    if (!d) shell.defrags.set(target, (d = new Defragmenter()));
    for (const c of chunks) {
      for (const m of d.push(c.slice())) {
        const msg = decodeMessage(m);
        if (msg.typeName !== 'PipelineState') continue;
        const v = deserializeObject(msg.data) as Record<string, unknown>;
        if (TERMINAL.has(Number(v['PipelineState']))) shell.finished.add(target);
      }
    }
  };

  const handle = async (
    r: LabRequest,
    user: string,
    exchange: boolean,
    cookies: string,
    setCookie: (c: string) => void,
  ): Promise<string> => {
    const name = r.action.slice(r.action.lastIndexOf('/') + 1);
    requestCounts.set(name, (requestCounts.get(name) ?? 0) + 1);
    if (r.resourceUri !== (exchange ? EXCHANGE_URI : POWERSHELL_URI)) {
      return faultResponse(
        r.messageId,
        'DestinationUnreachable',
        2150858811,
        `The WS-Management service cannot process the request because the resource URI (${r.resourceUri}) was not found in the WS-Management catalog.`,
      );
    }
    if (r.action === Action.Create) {
      if (
        exchange &&
        [...shells.values()].filter((x) => x.exchange && x.user === user).length >=
          behaviours.maxShellsPerUser
      ) {
        return faultResponse(
          r.messageId,
          'QuotaLimit',
          2150859173,
          `Fail to create a runspace because you have exceeded the maximum number of connections allowed : ${behaviours.maxShellsPerUser} for the policy party : MaxConcurrency. Please close existing runspace and try again.`,
        );
      }
      const shellEl = child(r.body, 'Shell');
      const id = (attr(shellEl, 'ShellId') ?? crypto.randomUUID()).toUpperCase();
      const creation = descendants(r.body, 'creationXml')[0]?.text ?? '';
      const launch = exchange
        ? exchangeRunspaceLaunch({
            role: accounts[user]!.role,
            stateDir,
            ...(options.mailboxCount !== undefined ? { mailboxCount: options.mailboxCount } : {}),
          })
        : { args: [], env: {} };
      const connection = new OutOfProcConnection({
        ...(options.pwsh !== undefined ? { executable: options.pwsh } : {}),
        args: launch.args,
        env: launch.env,
      });
      const shell: Shell = {
        id,
        user,
        exchange,
        affinity: undefined,
        lastUsed: Date.now(),
        busy: 1,
        connection,
        defrags: new Map(),
        finished: new Set(),
      };
      shells.set(id, shell);
      try {
        await connection.openPool(id, new Uint8Array(Buffer.from(creation, 'base64')));
      } catch (e) {
        shells.delete(id);
        await connection.closePool().catch(() => undefined);
        throw e;
      } finally {
        // Idle time counts from the end of the Create (starting pwsh can take a while on a busy machine).
        shell.busy--;
        shell.lastUsed = Date.now();
      }
      if (exchange && behaviours.affinityCookie !== 'off') {
        shell.affinity = crypto.randomUUID();
        setCookie(`MS-WSMAN=${shell.affinity}; path=/PowerShell; secure; HttpOnly`);
      }
      return createResponse(r.messageId, id, r.resourceUri);
    }
    let shell = r.shellId ? shells.get(r.shellId.toUpperCase()) : undefined;
    if (shell && shell.exchange && behaviours.affinityCookie === 'required') {
      // Without its affinity cookie the request reaches a back end that does not own the shell.
      const sent = /(?:^|;\s*)MS-WSMAN=([^;]*)/.exec(cookies)?.[1];
      if (sent !== shell.affinity) shell = undefined;
    }
    if (!shell) {
      return faultResponse(
        r.messageId,
        'InvalidSelectors',
        2150858843,
        'The WS-Management service cannot process the request because the request contained invalid selectors for the resource.',
      );
    }
    shell.busy++;
    try {
      return await handleShellRequest(r, shell);
    } finally {
      shell.busy--;
      shell.lastUsed = Date.now();
    }
  };

  const handleShellRequest = async (r: LabRequest, shell: Shell): Promise<string> => {
    switch (r.action) {
      case Action.Command: {
        const line = child(r.body, 'CommandLine');
        const commandId = (attr(line, 'CommandId') ?? crypto.randomUUID()).toUpperCase();
        const args = child(line, 'Arguments')?.text ?? '';
        await shell.connection.createPipeline(commandId, new Uint8Array(Buffer.from(args, 'base64')));
        return commandResponse(r.messageId, commandId);
      }
      case Action.Send: {
        for (const s of descendants(r.body, 'Stream')) {
          const target = attr(s, 'CommandId') ?? null;
          await shell.connection.send(
            target,
            attr(s, 'Name') === 'pr' ? 'pr' : 'default',
            new Uint8Array(Buffer.from(s.text, 'base64')),
          );
        }
        return emptyResponse(r.action, r.messageId, '<rsp:SendResponse/>');
      }
      case Action.Receive: {
        const commandId = attr(descendants(r.body, 'DesiredStream')[0], 'CommandId')?.toUpperCase();
        const target = commandId ?? null;
        if (commandId && shell.finished.has(commandId))
          return receiveResponse(r.messageId, commandId, [], true);
        try {
          const chunk = await shell.connection.receive(target, {
            signal: AbortSignal.timeout(Math.max(100, r.operationTimeoutMs - 50)),
          });
          if (commandId) track(shell, commandId, chunk.data);
          return receiveResponse(
            r.messageId,
            commandId,
            chunk.data,
            commandId ? shell.finished.has(commandId) : false,
          );
        } catch (e) {
          if ((e as Error).name === 'TimeoutError') {
            return faultResponse(
              r.messageId,
              'TimedOut',
              2150858793,
              'The WS-Management service cannot complete the operation within the time specified in OperationTimeout.',
            );
          }
          throw e;
        }
      }
      case Action.Signal: {
        const sig = child(r.body, 'Signal');
        const commandId = (attr(sig, 'CommandId') ?? '').toUpperCase();
        const code = child(sig, 'Code')?.text.trim();
        if (code === Signal.PsCtrlC || code === Signal.CtrlC) await shell.connection.stopPipeline(commandId);
        else await shell.connection.closePipeline(commandId);
        return emptyResponse(r.action, r.messageId, '<rsp:SignalResponse/>');
      }
      case Action.Delete:
        shells.delete(shell.id);
        await shell.connection.closePool();
        return emptyResponse(r.action, r.messageId);
      default:
        return faultResponse(
          r.messageId,
          'ActionNotSupported',
          2150858771,
          `The action ${r.action} is not supported by the lab.`,
        );
    }
  };

  const listener =
    (secure: boolean) =>
    (req: IncomingMessage, res: ServerResponse): void => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (c: string) => (body += c));
      req.on('end', () => {
        void (async () => {
          const exchange = /^\/powershell\/?(\?.*)?$/i.test(req.url ?? '');
          if (req.method !== 'POST' || (!exchange && !/^\/wsman\/?(\?.*)?$/i.test(req.url ?? ''))) {
            res.writeHead(404).end();
            return;
          }
          if (exchange && !secure && behaviours.requireSsl) {
            res
              .writeHead(403, { 'content-type': 'text/html' })
              .end('<h1>403 - Forbidden: Access is denied.</h1><p>SSL is required.</p>');
            return;
          }
          const host = (req.headers.host ?? '').replace(/:\d+$/, '');
          if (exchange && behaviours.redirectToHost && host !== behaviours.redirectToHost) {
            const port = (req.socket.localPort ?? 0).toString();
            res
              .writeHead(302, {
                location: `${secure ? 'https' : 'http'}://${behaviours.redirectToHost}:${port}${req.url ?? '/'}`,
              })
              .end();
            return;
          }
          const user = authorized(req);
          if (!user) {
            if (exchange && behaviours.rewrite401To400) {
              res
                .writeHead(400, { 'content-type': 'application/soap+xml;charset=UTF-8' })
                .end(
                  `[ClientAccessServer=LAB,BackEndServer=lab.contoso.com,RequestId=${crypto.randomUUID()},TimeStamp=${new Date().toUTCString()}] [FailureCategory=Auth-401] Access is denied.`,
                );
            } else {
              res.writeHead(401, { 'www-authenticate': ['Negotiate', 'Basic realm="WSMAN"'] }).end();
            }
            return;
          }
          try {
            const cookies: string[] = [];
            const out = await handle(parseLabRequest(body), user, exchange, req.headers.cookie ?? '', (c) =>
              cookies.push(c),
            );
            const status = out.includes('<s:Fault>') ? 500 : 200;
            res
              .writeHead(status, {
                'content-type': 'application/soap+xml;charset=UTF-8',
                ...(cookies.length > 0 ? { 'set-cookie': cookies } : {}),
              })
              .end(out);
          } catch (e) {
            res.writeHead(500, { 'content-type': 'text/plain' }).end(`lab error: ${(e as Error).message}`);
          }
        })();
      });
    };
  const server: Server = createHttpsServer({ cert: cert.cert, key: cert.key }, listener(true));
  const plain = createHttpServer(listener(false));
  plain.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', resolve));
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `https://localhost:${port}/wsman`,
    exchangeUrl: `https://localhost:${port}/PowerShell/`,
    httpOrigin: `http://localhost:${(plain.address() as AddressInfo).port}`,
    behaviours,
    loseAffinity(): void {
      for (const sh of shells.values()) sh.affinity = crypto.randomUUID();
    },
    ca: cert.ca,
    users,
    requestCounts,
    liveShells: () => shells.size,
    async close(): Promise<void> {
      await Promise.all([...shells.values()].map((s) => s.connection.closePool().catch(() => undefined)));
      shells.clear();
      clearInterval(reaper);
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await new Promise<void>((resolve) => plain.close(() => resolve()));
      await rm(stateDir, { recursive: true, force: true });
    },
  };
}
