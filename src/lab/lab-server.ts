/**
 * The lab: a loopback WinRM (WS-Management) endpoint whose shells are real `pwsh -s` processes, in
 * the way Windows' WinRM PowerShell plugin hosts PowerShell. Create starts a process and forwards
 * creationXml; Command, Send, Receive, Signal and Delete map onto PowerShell's out-of-process
 * framing (through OutOfProcConnection). HTTPS with a throw-away certificate and Basic
 * authentication. A dev tool and test double, not a production server.
 */
import { createServer as createHttpsServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
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
  readonly port?: number;
  /** Path to pwsh (default: found on PATH / ~/.dotnet/tools). */
  readonly pwsh?: string;
  /** Mailboxes in the fake organisation. Default 2000. */
  readonly mailboxCount?: number;
}

export interface Lab {
  /** `https://localhost:<port>/wsman` (Microsoft.PowerShell). */
  readonly url: string;
  /** `https://localhost:<port>/PowerShell/` (Microsoft.Exchange: NoLanguage, RBAC, fake organisation). */
  readonly exchangeUrl: string;
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
  readonly connection: OutOfProcConnection;
  readonly defrags: Map<string, Defragmenter>;
  readonly finished: Set<string>;
}

const POWERSHELL_URI = 'http://schemas.microsoft.com/powershell/Microsoft.PowerShell';
const EXCHANGE_URI = 'http://schemas.microsoft.com/powershell/Microsoft.Exchange';
const TERMINAL = new Set([3, 4, 5]);

export async function startLab(options: LabOptions = {}): Promise<Lab> {
  const accounts = options.users ?? LAB_USERS;
  const users = Object.fromEntries(Object.entries(accounts).map(([u, a]) => [u, a.password]));
  const stateDir = await mkdtemp(join(tmpdir(), 'psrp-lab-'));
  const cert = await createTestCertificate({});
  const shells = new Map<string, Shell>();
  const sockets = new Set<Socket>();
  const requestCounts = new Map<string, number>();

  /** The authenticated user name, or undefined. */
  const authorized = (req: IncomingMessage): string | undefined => {
    const h = req.headers['authorization'] ?? '';
    if (!h.startsWith('Basic ')) return undefined;
    const decoded = Buffer.from(h.slice(6), 'base64').toString('utf8');
    const i = decoded.indexOf(':');
    const user = decoded.slice(0, i);
    return i > 0 && Object.prototype.hasOwnProperty.call(users, user) && users[user] === decoded.slice(i + 1) ? user : undefined;
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

  const handle = async (r: LabRequest, user: string, exchange: boolean): Promise<string> => {
    const name = r.action.slice(r.action.lastIndexOf('/') + 1);
    requestCounts.set(name, (requestCounts.get(name) ?? 0) + 1);
    if (r.resourceUri !== (exchange ? EXCHANGE_URI : POWERSHELL_URI)) {
      return faultResponse(r.messageId, 'DestinationUnreachable', 2150858811, `The WS-Management service cannot process the request because the resource URI (${r.resourceUri}) was not found in the WS-Management catalog.`);
    }
    if (r.action === Action.Create) {
      const shellEl = child(r.body, 'Shell');
      const id = (attr(shellEl, 'ShellId') ?? crypto.randomUUID()).toUpperCase();
      const creation = descendants(r.body, 'creationXml')[0]?.text ?? '';
      const launch = exchange
        ? exchangeRunspaceLaunch({ role: accounts[user]!.role, stateDir, ...(options.mailboxCount !== undefined ? { mailboxCount: options.mailboxCount } : {}) })
        : { args: [], env: {} };
      const connection = new OutOfProcConnection({ ...(options.pwsh !== undefined ? { executable: options.pwsh } : {}), args: launch.args, env: launch.env });
      const shell: Shell = { id, connection, defrags: new Map(), finished: new Set() };
      shells.set(id, shell);
      try {
        await connection.openPool(id, new Uint8Array(Buffer.from(creation, 'base64')));
      } catch (e) {
        shells.delete(id);
        await connection.closePool().catch(() => undefined);
        throw e;
      }
      return createResponse(r.messageId, id, r.resourceUri);
    }
    const shell = r.shellId ? shells.get(r.shellId.toUpperCase()) : undefined;
    if (!shell) {
      return faultResponse(r.messageId, 'InvalidSelectors', 2150858843, 'The WS-Management service cannot process the request because the request contained invalid selectors for the resource.');
    }
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
          await shell.connection.send(target, attr(s, 'Name') === 'pr' ? 'pr' : 'default', new Uint8Array(Buffer.from(s.text, 'base64')));
        }
        return emptyResponse(r.action, r.messageId, '<rsp:SendResponse/>');
      }
      case Action.Receive: {
        const commandId = attr(descendants(r.body, 'DesiredStream')[0], 'CommandId')?.toUpperCase();
        const target = commandId ?? null;
        if (commandId && shell.finished.has(commandId)) return receiveResponse(r.messageId, commandId, [], true);
        try {
          const chunk = await shell.connection.receive(target, { signal: AbortSignal.timeout(Math.max(100, r.operationTimeoutMs - 50)) });
          if (commandId) track(shell, commandId, chunk.data);
          return receiveResponse(r.messageId, commandId, chunk.data, commandId ? shell.finished.has(commandId) : false);
        } catch (e) {
          if ((e as Error).name === 'TimeoutError') {
            return faultResponse(r.messageId, 'TimedOut', 2150858793, 'The WS-Management service cannot complete the operation within the time specified in OperationTimeout.');
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
        return faultResponse(r.messageId, 'ActionNotSupported', 2150858771, `The action ${r.action} is not supported by the lab.`);
    }
  };

  const server: Server = createHttpsServer({ cert: cert.cert, key: cert.key }, (req: IncomingMessage, res: ServerResponse) => {
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
        const user = authorized(req);
        if (!user) {
          res.writeHead(401, { 'www-authenticate': ['Negotiate', 'Basic realm="WSMAN"'] }).end();
          return;
        }
        try {
          const out = await handle(parseLabRequest(body), user, exchange);
          const status = out.includes('<s:Fault>') ? 500 : 200;
          res.writeHead(status, { 'content-type': 'application/soap+xml;charset=UTF-8' }).end(out);
        } catch (e) {
          res.writeHead(500, { 'content-type': 'text/plain' }).end(`lab error: ${(e as Error).message}`);
        }
      })();
    });
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `https://localhost:${port}/wsman`,
    exchangeUrl: `https://localhost:${port}/PowerShell/`,
    ca: cert.ca,
    users,
    requestCounts,
    liveShells: () => shells.size,
    async close(): Promise<void> {
      await Promise.all([...shells.values()].map((s) => s.connection.closePool().catch(() => undefined)));
      shells.clear();
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(stateDir, { recursive: true, force: true });
    },
  };
}
