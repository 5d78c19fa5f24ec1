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
import {
  createClientCertificate,
  createTestCertificate,
  createTestCertificateAuthority,
  type TestCertificate,
  type TestCertificateOptions,
} from './certificate.js';
import { mapClientCertificate } from './certificate-mapping.js';
import { basicTokenUser } from './basic-token.js';
import { WSMAN_HTTPS_MUTUAL } from '../http/certificate-authenticator.js';
import { exchangeRunspaceLaunch, LAB_USERS, type LabRole } from './exchange-runspace.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { InvalidArgumentError } from '../errors.js';
import {
  decryptMessage,
  encryptedBoundary,
  encryptMessage,
  KERBEROS_ENCRYPTED,
  SPNEGO_ENCRYPTED,
  type SealingContext,
} from '../http/message-encryption.js';
import { GssAcceptor } from './gss-acceptor.js';
import { LabCmdShells } from './winrs-cmd-shell.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  commandResponse,
  createResponse,
  emptyResponse,
  faultResponse,
  identifyResponse,
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
  /** The TLS certificate to make (e.g. `{ expired: true }`, `{ commonName: 'cas.contoso.com', dnsNames: [...] }`). Default: self-signed for localhost. */
  readonly certificate?: TestCertificateOptions;
  /**
   * WinRM certificate authentication on `/wsman` (HTTPS only): the listener asks every client for a
   * certificate, and a request with `Authorization: <https/mutual profile URI>` authenticates as the
   * lab user its certificate names, if a lab client CA issued it (`lab.issueClientCertificate`).
   * Default false.
   */
  readonly clientCertificates?: boolean;
  /** Bearer tokens accepted through Basic when the URL has `BasicAuthToOAuthConversion=true`: token → lab user. */
  readonly tokens?: Readonly<Record<string, string>>;
  /**
   * Accept Negotiate, Kerberos and NTLM for real through GSSAPI (MIT krb5 + gss-ntlmssp, driven by
   * `lab/gss-acceptor.py`), with WinRM message encryption required over plain HTTP. Put the
   * schemes into `behaviours.authSchemes` too. `startTestRealm()` makes a realm and gives `env`.
   */
  readonly gssapi?: LabGssOptions;
}

/** See {@link LabOptions.gssapi} and docs/lab.md. */
export interface LabGssOptions {
  /** Environment of the acceptor: KRB5_CONFIG, KRB5_KTNAME, NTLM_USER_FILE (`TestRealm.acceptorEnv`). */
  readonly env: Readonly<Record<string, string>>;
  /** Python with python3-gssapi. Default `/usr/bin/python3`. */
  readonly python?: string;
  /**
   * Maps the authenticated GSSAPI name (`alice@PSRP.TEST`, `PSRP\alice`) to a lab user (a key of
   * `users`); undefined refuses it (401). Default: the name without realm or domain, if a lab user.
   */
  readonly mapUser?: (principal: string) => string | undefined;
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
  /**
   * Authentication schemes the virtual directory offers in `WWW-Authenticate` (IIS order). Basic
   * credentials are accepted only while `Basic` is listed: without it the vdir has Basic disabled, as
   * the field guide's 400/401 cases. Negotiate/Kerberos/NTLM complete only with `LabOptions.gssapi`
   * (otherwise they are offered and never accepted). Default
   * `['Negotiate', 'Basic']`.
   */
  authSchemes: readonly ('Basic' | 'Negotiate' | 'Kerberos' | 'NTLM')[];
  /** A reverse proxy that cannot reach or trust the back end: every /PowerShell/ request gets IIS ARR's 502. Default false. */
  badGateway: boolean;
  /** One-shot faults (both endpoints): arm one and the next matching request suffers it, then it switches itself off. */
  faults: LabFaults;
}

/** A WS-Man request kind, by the last segment of its action URI. */
export type LabAction = 'Create' | 'Command' | 'Send' | 'Receive' | 'Signal' | 'Delete';

/**
 * Faults clients must survive, each one-shot: it fires on the next matching request and switches
 * itself off (`lab.firedFaults` counts what fired). `true` matches any request; an action name only
 * requests of that kind. See docs/lab.md for what a client sees.
 */
export interface LabFaults {
  /** Destroy the TCP connection of the next Receive without answering (a connection reset mid-Receive; the Receive is not processed). */
  resetNextReceive: boolean;
  /** Answer the next matching request with HTTP 500 and a plain-text body, no SOAP fault, without processing it. */
  http500Next: boolean | LabAction;
  /** Answer the next matching request with HTTP 503 (a recycling app pool, a throttling proxy), without processing it. */
  http503Next: boolean | LabAction;
  /** Hold the next request (of `stallAction`, when set) this many ms before processing it; dropped if the client gave up meanwhile. 0 = off. */
  stallNextMs: number;
  stallAction: LabAction | undefined;
  /** SIGKILL the pwsh process of the shell that gets the next Command, 200 ms after its pipeline started. */
  killPwshOnNextCommand: boolean;
  /** The next request to a shell with an affinity cookie (`/PowerShell/`) is handled as if it came without it: invalid selectors, once. */
  dropAffinityCookie: boolean;
}

/** Every fault off. */
export function noFaults(): LabFaults {
  return {
    resetNextReceive: false,
    http500Next: false,
    http503Next: false,
    stallNextMs: 0,
    stallAction: undefined,
    killPwshOnNextCommand: false,
    dropAffinityCookie: false,
  };
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
  /** Delete every shell now, as an idle timeout or a server-side cleanup would; returns how many. Later requests get invalid selectors. */
  expireShellsNow(): number;
  /** How many times each fault of `behaviours.faults` fired (including `expireShellsNow`). */
  readonly firedFaults: Map<string, number>;
  /** The PEM certificate to trust (`ca` option). */
  readonly ca: string;
  /** user → password. */
  readonly users: Readonly<Record<string, string>>;
  /** The lab client CA (PEM) with `clientCertificates`, else undefined. */
  readonly clientCa: string | undefined;
  /** A client certificate (and key) for a user, issued by the lab client CA (needs `clientCertificates`). */
  issueClientCertificate(user: string, options?: { upn?: string | false }): Promise<TestCertificate>;
  /** Accepted bearer tokens (token → user); delete one to make it "expire". */
  readonly tokens: Map<string, string>;
  /** Shells currently open: PowerShell shells (each a pwsh process) and WinRS cmd shells. */
  liveShells(): number;
  /** Requests handled, by WS-Man action name. */
  readonly requestCounts: Map<string, number>;
  /**
   * With `gssapi`: `handshakeLegs` (tokens accepted), `authenticated` (contexts complete),
   * `authFailed` (tokens or users refused), `decrypted` / `encrypted` (messages), `unsealFailed`
   * (messages that did not unwrap), `plaintextRefused` (unencrypted bodies on an authenticated
   * plain-HTTP connection); and, by name, the last authenticated principal's mechanism as
   * `mech:krb5` / `mech:ntlm` counts.
   */
  readonly gssCounts: Map<string, number>;
  close(): Promise<void>;
}

interface Shell {
  readonly id: string;
  readonly user: string;
  readonly exchange: boolean;
  affinity: string | undefined;
  lastUsed: number;
  readonly connection: OutOfProcConnection;
  readonly defrags: Map<string, Defragmenter>;
  readonly finished: Set<string>;
  /** Command ids the shell has been given. */
  readonly commands: Set<string>;
  /** Requests being handled for the shell (a shell with a pending Receive is not idle). */
  inFlight: number;
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
  const tokens = new Map(Object.entries(options.tokens ?? {}));
  for (const user of tokens.values()) {
    if (!Object.prototype.hasOwnProperty.call(users, user))
      throw new InvalidArgumentError(`Lab token for unknown user ${JSON.stringify(user)}`);
  }
  const acceptor = options.gssapi
    ? await GssAcceptor.start({
        env: options.gssapi.env,
        ...(options.gssapi.python !== undefined ? { python: options.gssapi.python } : {}),
      })
    : undefined;
  const stateDir = await mkdtemp(join(tmpdir(), 'psrp-lab-'));
  const cert = await createTestCertificate(options.certificate ?? { days: 365 });
  const clientCa = options.clientCertificates
    ? await createTestCertificateAuthority({ days: 365 })
    : undefined;
  const shells = new Map<string, Shell>();
  /** WinRS cmd shells on /wsman (src/lab/winrs-cmd-shell.ts). */
  const cmdShells = new LabCmdShells();
  const sockets = new Set<Socket>();
  const requestCounts = new Map<string, number>();
  const behaviours: LabBehaviours = {
    affinityCookie: 'set',
    maxShellsPerUser: 18,
    redirectToHost: undefined,
    rewrite401To400: false,
    requireSsl: true,
    idleTimeoutMs: undefined,
    authSchemes: ['Negotiate', 'Basic'],
    badGateway: false,
    ...options.behaviours,
    faults: { ...noFaults(), ...options.behaviours?.faults },
  };
  const firedFaults = new Map<string, number>();
  const fired = (name: string): void => {
    firedFaults.set(name, (firedFaults.get(name) ?? 0) + 1);
  };
  /** Removes a shell and ends its process (Delete, expiry, a dead process). */
  const dropShell = (shell: Shell): void => {
    if (shells.get(shell.id) !== shell) return;
    shells.delete(shell.id);
    void shell.connection.closePool().catch(() => undefined);
  };
  const reaper = setInterval(() => {
    const limit = behaviours.idleTimeoutMs;
    if (limit === undefined) return;
    for (const shell of shells.values()) {
      if (shell.exchange && shell.inFlight === 0 && Date.now() - shell.lastUsed > limit) dropShell(shell);
    }
  }, 200);
  reaper.unref();

  /** The authenticated user name, or undefined. */
  const authorized = (req: IncomingMessage): string | undefined => {
    const h = req.headers['authorization'] ?? '';
    if (h === WSMAN_HTTPS_MUTUAL) {
      // WinRM certificate authentication: /wsman only (Exchange's /PowerShell vdir does not do it).
      return clientCa && !/^\/powershell/i.test(req.url ?? '')
        ? mapClientCertificate(req, Object.keys(users))
        : undefined;
    }
    if (!h.startsWith('Basic ') || !behaviours.authSchemes.includes('Basic')) return undefined;
    const byToken = basicTokenUser(req, tokens);
    if (byToken !== undefined) return byToken;
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
    if (!exchange && LabCmdShells.handles(r)) return cmdShells.handle(r, user);
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
        connection,
        defrags: new Map(),
        finished: new Set(),
        commands: new Set(),
        inFlight: 1,
      };
      shells.set(id, shell);
      try {
        await connection.openPool(id, new Uint8Array(Buffer.from(creation, 'base64')));
      } catch (e) {
        shells.delete(id);
        await connection.closePool().catch(() => undefined);
        throw e;
      } finally {
        shell.inFlight--;
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
    if (shell && shell.affinity !== undefined && behaviours.faults.dropAffinityCookie) {
      // This one request lost its cookie on the way and reached a back end that does not own the shell.
      behaviours.faults.dropAffinityCookie = false;
      fired('dropAffinityCookie');
      shell = undefined;
    }
    if (shell) shell.lastUsed = Date.now();
    if (!shell) {
      return faultResponse(
        r.messageId,
        'InvalidSelectors',
        2150858843,
        'The WS-Management service cannot process the request because the request contained invalid selectors for the resource.',
      );
    }
    shell.inFlight++;
    try {
      return await operate(r, shell);
    } catch (e) {
      // The shell went away under the request (expired, deleted, its pwsh died): Windows answers
      // invalid selectors for a shell it no longer has.
      if (shells.get(shell.id) !== shell || (e as { code?: unknown }).code === 'PSRP_PROCESS_EXITED') {
        dropShell(shell);
        return faultResponse(
          r.messageId,
          'InvalidSelectors',
          2150858843,
          'The WS-Management service cannot process the request because the request contained invalid selectors for the resource.',
        );
      }
      throw e;
    } finally {
      shell.inFlight--;
      shell.lastUsed = Date.now();
    }
  };

  const operate = async (r: LabRequest, shell: Shell): Promise<string> => {
    switch (r.action) {
      case Action.Command: {
        const line = child(r.body, 'CommandLine');
        const commandId = (attr(line, 'CommandId') ?? crypto.randomUUID()).toUpperCase();
        const args = child(line, 'Arguments')?.text ?? '';
        await shell.connection.createPipeline(commandId, new Uint8Array(Buffer.from(args, 'base64')));
        shell.commands.add(commandId);
        if (behaviours.faults.killPwshOnNextCommand) {
          behaviours.faults.killPwshOnNextCommand = false;
          fired('killPwshOnNextCommand');
          const pid = shell.connection.pid;
          setTimeout(() => {
            try {
              if (pid !== undefined) process.kill(pid, 'SIGKILL');
            } catch {
              // already gone
            }
          }, 200).unref();
        }
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
        // A command this shell never started (its Command was lost or refused) has nothing to signal.
        if (!shell.commands.has(commandId))
          return emptyResponse(r.action, r.messageId, '<rsp:SignalResponse/>');
        if (code === Signal.PsCtrlC || code === Signal.CtrlC) await shell.connection.stopPipeline(commandId);
        else await shell.connection.closePipeline(commandId);
        return emptyResponse(r.action, r.messageId, '<rsp:SignalResponse/>');
      }
      case Action.Delete:
        dropShell(shell);
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

  /** Applies an armed one-shot fault to this request; true when it was answered (or dropped) here. */
  const injectFault = async (r: LabRequest, req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    const f = behaviours.faults;
    const action = r.action.slice(r.action.lastIndexOf('/') + 1);
    const matches = (t: boolean | LabAction): boolean => t === true || t === action;
    if (f.resetNextReceive && action === 'Receive') {
      f.resetNextReceive = false;
      fired('resetNextReceive');
      req.socket.destroy();
      return true;
    }
    for (const [name, status, text] of [
      ['http500Next', 500, 'Internal Server Error'],
      ['http503Next', 503, 'Service Unavailable'],
    ] as const) {
      if (matches(f[name])) {
        f[name] = false;
        fired(name);
        res.writeHead(status, { 'content-type': 'text/plain' }).end(text);
        return true;
      }
    }
    if (f.stallNextMs > 0 && (f.stallAction === undefined || f.stallAction === action)) {
      const ms = f.stallNextMs;
      f.stallNextMs = 0;
      fired('stallNextMs');
      await new Promise((resolve) => setTimeout(resolve, ms).unref());
      // A client that gave up has closed the connection: the request is dropped unprocessed.
      if (req.socket.destroyed || res.destroyed) return true;
    }
    return false;
  };

  /** Per-connection GSSAPI state (connection-based auth, as HTTP.sys does for NTLM/Kerberos). */
  interface GssConnection {
    readonly id: string;
    readonly scheme: 'Negotiate' | 'Kerberos' | 'NTLM';
    complete: boolean;
    user: string | undefined;
  }
  const gssConnections = new WeakMap<Socket, GssConnection>();
  let nextContext = 1;
  const gssCounts = new Map<string, number>();
  const gcount = (k: string): void => {
    gssCounts.set(k, (gssCounts.get(k) ?? 0) + 1);
  };
  const mapUser =
    options.gssapi?.mapUser ??
    ((principal: string): string | undefined => {
      const name = principal.replace(/@[^@]*$/, '').replace(/^.*\\/, '');
      const own = (u: string): boolean => Object.prototype.hasOwnProperty.call(users, u);
      return own(name) ? name : own(name.toLowerCase()) ? name.toLowerCase() : undefined;
    });
  const forgetGss = (socket: Socket): void => {
    const c = gssConnections.get(socket);
    if (!c) return;
    gssConnections.delete(socket);
    acceptor?.drop(c.id);
  };

  const listener =
    (secure: boolean) =>
    (req: IncomingMessage, res: ServerResponse): void => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        void (async () => {
          const raw = Buffer.concat(chunks);
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
          if (exchange && behaviours.badGateway) {
            res
              .writeHead(502, { 'content-type': 'text/html' })
              .end(
                '<h2>502 - Web server received an invalid response while acting as a gateway or proxy server.</h2><h3>There is a problem with the page you are looking for, and it cannot be displayed. When the Web server (while acting as a gateway or proxy) contacted the upstream content server, it received an invalid response from the content server.</h3>',
              );
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
          const unauthorized = (): void => {
            if (exchange && behaviours.rewrite401To400) {
              res
                .writeHead(400, { 'content-type': 'application/soap+xml;charset=UTF-8' })
                .end(
                  `[ClientAccessServer=LAB,BackEndServer=lab.contoso.com,RequestId=${crypto.randomUUID()},TimeStamp=${new Date().toUTCString()}] [FailureCategory=Auth-401] Access is denied.`,
                );
            } else {
              res
                .writeHead(401, {
                  'www-authenticate': behaviours.authSchemes.map((a) =>
                    a === 'Basic' ? 'Basic realm="WSMAN"' : a,
                  ),
                })
                .end();
            }
          };

          // GSSAPI (Negotiate / Kerberos / NTLM): one context per TCP connection. 401 with the
          // acceptor's token while the handshake goes on; the request that completes it is
          // processed and its answer carries the last token (mutual authentication).
          let finalToken: string | undefined;
          const gssHeader = /^(Negotiate|Kerberos|NTLM)\s+([A-Za-z0-9+/=]+)\s*$/i.exec(
            req.headers['authorization'] ?? '',
          );
          if (acceptor && gssHeader) {
            const scheme = (['Negotiate', 'Kerberos', 'NTLM'] as const).find(
              (s) => s.toLowerCase() === gssHeader[1]!.toLowerCase(),
            )!;
            if (!behaviours.authSchemes.includes(scheme)) {
              unauthorized();
              return;
            }
            let conn = gssConnections.get(req.socket);
            if (!conn || conn.complete || conn.scheme !== scheme) {
              // A new handshake (also one that re-authenticates an authenticated connection).
              forgetGss(req.socket);
              conn = { id: `c${nextContext++}`, scheme, complete: false, user: undefined };
              gssConnections.set(req.socket, conn);
              const socket = req.socket;
              socket.once('close', () => forgetGss(socket));
            }
            gcount('handshakeLegs');
            let result;
            try {
              result = await acceptor.accept(conn.id, scheme, Buffer.from(gssHeader[2]!, 'base64'));
            } catch {
              // Windows answers a token it refuses with a bare 401 (the schemes again, no token).
              gcount('authFailed');
              gssConnections.delete(req.socket);
              unauthorized();
              return;
            }
            if (!result.complete) {
              res
                .writeHead(401, { 'www-authenticate': `${scheme} ${result.token.toString('base64')}` })
                .end();
              return;
            }
            const labUser = result.user !== undefined ? mapUser(result.user) : undefined;
            if (labUser === undefined) {
              gcount('authFailed');
              forgetGss(req.socket);
              unauthorized();
              return;
            }
            conn.complete = true;
            conn.user = labUser;
            gcount('authenticated');
            gcount(`mech:${result.mech ?? 'unknown'}`);
            if (result.token.length > 0) finalToken = `${scheme} ${result.token.toString('base64')}`;
          }
          const gss = gssConnections.get(req.socket);
          const gssUser = gss?.complete ? gss.user : undefined;

          // WinRM message encryption: required over plain HTTP on a GSS-authenticated connection
          // (AllowUnencrypted=false), optional over HTTPS; the answer is sealed like the request.
          let body: string;
          let sealing: SealingContext | undefined;
          const contentType = req.headers['content-type'];
          if (acceptor && gss && gssUser !== undefined && encryptedBoundary(contentType) !== undefined) {
            const id = gss.id;
            sealing = {
              protocol: gss.scheme === 'Kerberos' ? KERBEROS_ENCRYPTED : SPNEGO_ENCRYPTED,
              seal: (p) => acceptor.wrap(id, p),
              unseal: (h, d) => acceptor.unwrap(id, h, d),
            };
            try {
              body = await decryptMessage(sealing, raw, contentType ?? '');
              gcount('decrypted');
            } catch {
              // A message that does not unwrap (tampered, wrong key, out of sequence).
              gcount('unsealFailed');
              res.writeHead(400).end();
              return;
            }
          } else if (gssUser !== undefined && raw.length === 0) {
            // A handshake-only request (clients that encrypt authenticate with an empty body).
            res.writeHead(200, finalToken ? { 'www-authenticate': finalToken } : {}).end();
            return;
          } else if (gssUser !== undefined && !secure) {
            // Windows with AllowUnencrypted=false refuses it with HTTP 500 (docs/lab.md).
            gcount('plaintextRefused');
            res.writeHead(500, finalToken ? { 'www-authenticate': finalToken } : {}).end();
            return;
          } else {
            body = raw.toString('utf8');
          }
          const reply = async (
            status: number,
            text: string,
            headers: Record<string, string | string[]> = {},
          ): Promise<void> => {
            const h: Record<string, string | string[]> = { ...headers };
            if (finalToken) h['www-authenticate'] = finalToken;
            if (sealing) {
              const enc = await encryptMessage(sealing, text);
              gcount('encrypted');
              res.writeHead(status, { ...h, 'content-type': enc.contentType }).end(enc.body);
            } else {
              res.writeHead(status, { ...h, 'content-type': 'application/soap+xml;charset=UTF-8' }).end(text);
            }
          };

          const user = gssUser ?? authorized(req);
          const identify = /<(?:[\w.-]+:)?Identify\s*\/?>/.test(body);
          if (identify && (user || (!exchange && req.headers['wsmanidentify'] === 'unauthenticated'))) {
            requestCounts.set('Identify', (requestCounts.get('Identify') ?? 0) + 1);
            await reply(200, identifyResponse(user !== undefined));
            return;
          }
          if (!user) {
            unauthorized();
            return;
          }
          try {
            const request = parseLabRequest(body);
            if (await injectFault(request, req, res)) return;
            const cookies: string[] = [];
            const out = await handle(request, user, exchange, req.headers.cookie ?? '', (c) =>
              cookies.push(c),
            );
            const status = out.includes('<s:Fault>') ? 500 : 200;
            await reply(status, out, cookies.length > 0 ? { 'set-cookie': cookies } : {});
          } catch (e) {
            res.writeHead(500, { 'content-type': 'text/plain' }).end(`lab error: ${(e as Error).message}`);
          }
        })();
      });
    };
  const server: Server = createHttpsServer(
    {
      cert: cert.cert,
      key: cert.key,
      // Ask for a client certificate but let the request decide (401 when it is missing or bad).
      ...(clientCa ? { requestCert: true, rejectUnauthorized: false, ca: clientCa.cert } : {}),
    },
    listener(true),
  );
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
    expireShellsNow(): number {
      const all = [...shells.values()];
      for (const sh of all) dropShell(sh);
      const expired = all.length + cmdShells.closeAll();
      if (expired > 0) fired('expireShellsNow');
      return expired;
    },
    firedFaults,
    ca: cert.ca,
    users,
    clientCa: clientCa?.cert,
    async issueClientCertificate(user: string, o: { upn?: string | false } = {}): Promise<TestCertificate> {
      if (!clientCa)
        throw new InvalidArgumentError(
          'Start the lab with clientCertificates: true to issue client certificates',
        );
      return createClientCertificate({ user, issuer: clientCa, upn: o.upn, days: 2 });
    },
    tokens,
    requestCounts,
    gssCounts,
    liveShells: () => shells.size + cmdShells.size,
    async close(): Promise<void> {
      await Promise.all([...shells.values()].map((s) => s.connection.closePool().catch(() => undefined)));
      shells.clear();
      cmdShells.closeAll();
      clearInterval(reaper);
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await new Promise<void>((resolve) => plain.close(() => resolve()));
      await acceptor?.close();
      await rm(stateDir, { recursive: true, force: true });
    },
  };
}
