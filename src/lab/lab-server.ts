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
import { findPwsh, OutOfProcConnection } from '../client/outofproc-connection.js';
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
import { createExoSurface, type LabExo, type LabExoBehaviours } from './exo-admin-api.js';
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
import { injectFault, noFaults, type LabBehaviours } from './lab-behaviours.js';
import {
  checkCommand,
  checkCreate,
  checkRequestSize,
  effectiveTimeoutMs,
  operationsOf,
  quotaFaults,
  responseEnvelopeLimit,
  windowsLimits,
  type LabLimits,
  type QuotaFault,
} from './lab-quotas.js';
import { ReceiveOutbox } from './receive-outbox.js';
import { startLabSsh, type LabSsh, type LabSshOptions } from './lab-ssh.js';
import { ShellSessions } from './shell-sessions.js';

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
  /** A certificate made earlier (PEM) to serve instead of making one, so clients keep trusting the same CA (`psrp lab --state-dir`). */
  readonly tlsCertificate?: TestCertificate;
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
  /** WinRM's limits (docs/lab.md), Windows' defaults unless changed here or later on `lab.limits`; `undefined` switches one off. */
  readonly limits?: Partial<LabLimits>;
  /** Exchange Online admin API behaviours (`/adminapi/`) to switch on from the start (see docs/exchange-online.md). */
  readonly exoBehaviours?: Partial<LabExoBehaviours>;
  /** Serve the endpoints over SSH too (a private sshd: `lab.ssh`, src/lab/lab-ssh.ts, docs/lab.md). Default false. */
  readonly ssh?: boolean | LabSshOptions;
}

/** What the lab has open now (`lab.stats()`). */
export interface LabStats {
  /** Open shells (each a pwsh process). */
  readonly shells: number;
  /** Commands started and not yet terminated (Signal terminate) nor deleted with their shell. */
  readonly commands: number;
  /** Live WinRM operations, as MaxConcurrentOperationsPerUser counts them: shells + commands. */
  readonly operations: number;
  /** Requests being handled now. */
  readonly inFlight: number;
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

export { noFaults, type LabAction, type LabBehaviours, type LabFaults } from './lab-behaviours.js';

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
  /** WinRM's limits, switchable at any time (see `LabLimits`, docs/lab.md). */
  readonly limits: LabLimits;
  /** Live shells, commands and operations. */
  stats(): LabStats;
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
  /** The Exchange Online admin API surface (`https://localhost:<port>/adminapi/…`) over the same fake organisation. */
  readonly exo: LabExo & { readonly baseUrl: string };
  /** With `ssh`: the SSH endpoint (subsystems `powershell` and `exchange`, a key per lab user). */
  readonly ssh: LabSsh | undefined;
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
  /** Commands started and not terminated yet (what MaxConcurrentCommandsPerShell counts). */
  readonly commands: Set<string>;
  /** Output waiting for Receive, by command id ('' for the shell). */
  readonly outbox: Map<string, ReceiveOutbox>;
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
  // Every shell is a pwsh process: without pwsh every request would fail later with a 500.
  findPwsh(options.pwsh);
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
  const sshd = options.ssh
    ? await startLabSsh({
        stateDir,
        accounts,
        pwsh: options.pwsh,
        mailboxCount: options.mailboxCount,
        ssh: options.ssh === true ? {} : options.ssh,
      }).catch(async (e: unknown) => {
        await acceptor?.close();
        await rm(stateDir, { recursive: true, force: true });
        throw e;
      })
    : undefined;
  const cert = options.tlsCertificate ?? (await createTestCertificate(options.certificate ?? { days: 365 }));
  const clientCa = options.clientCertificates
    ? await createTestCertificateAuthority({ days: 365 })
    : undefined;
  const shells = new Map<string, Shell>();
  /** Disconnect, Reconnect, Connect, Get and Enumerate of shells (src/lab/shell-sessions.ts). */
  const sessions = new ShellSessions();
  /** WinRS cmd shells on /wsman (src/lab/winrs-cmd-shell.ts). */
  const cmdShells = new LabCmdShells();
  const exo = createExoSurface({
    stateDir,
    accounts,
    pwsh: options.pwsh,
    mailboxCount: options.mailboxCount,
    behaviours: options.exoBehaviours,
  });
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
  const limits: LabLimits = { ...windowsLimits(), ...options.limits };
  let inFlightRequests = 0;
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
    for (const shell of shells.values()) {
      // WinRM's IdleTimeout for every shell; Exchange's (shorter) one on /PowerShell/.
      const limit = Math.min(
        limits.idleTimeoutMs ?? Infinity,
        shell.exchange ? (behaviours.idleTimeoutMs ?? Infinity) : Infinity,
        sessions.disconnectedIdleMs(shell) ?? Infinity,
      );
      if (shell.inFlight === 0 && Date.now() - shell.lastUsed > limit) dropShell(shell);
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
    if (ShellSessions.handles(r)) return sessions.handleResource(r, user, exchange, shells.values());
    if (r.resourceUri !== (exchange ? EXCHANGE_URI : POWERSHELL_URI)) {
      return faultResponse(
        r.messageId,
        'DestinationUnreachable',
        2150858811,
        `The WS-Management service cannot process the request because the resource URI (${r.resourceUri}) was not found in the WS-Management catalog.`,
      );
    }
    if (r.action === Action.Create) {
      const refused =
        exchange &&
        [...shells.values()].filter((x) => x.exchange && x.user === user).length >=
          behaviours.maxShellsPerUser
          ? quotaFaults.exchangeConcurrency(behaviours.maxShellsPerUser)
          : checkCreate(limits, { shells: [...shells.values()] }, user);
      if (refused) return quota(r, refused);
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
        outbox: new Map(),
        inFlight: 1,
      };
      shells.set(id, shell);
      sessions.created(shell, r, new Uint8Array(Buffer.from(creation, 'base64')));
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
    if (shell && shell.user !== user) shell = undefined; // another user's shell is not there for this one
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

  /** A quota fault for this request (lab-quotas.ts). */
  const quota = (r: LabRequest, f: QuotaFault): string =>
    faultResponse(r.messageId, f.subcode, f.code, f.message, { sender: f.sender, detail: f.detail });

  /** A terminated command: it stops counting, and its state goes. */
  const forgetCommand = (shell: Shell, commandId: string): void => {
    shell.commands.delete(commandId);
    shell.finished.delete(commandId);
    shell.defrags.delete(commandId);
    shell.outbox.delete(commandId);
  };

  const operate = async (r: LabRequest, shell: Shell): Promise<string> => {
    const disconnection = sessions.operate(r, shell);
    if (disconnection !== undefined) return disconnection;
    switch (r.action) {
      case Action.Command: {
        const refused = checkCommand(limits, { shells: [...shells.values()] }, shell);
        if (refused) return quota(r, refused);
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
          const bytes = new Uint8Array(Buffer.from(s.text, 'base64'));
          sessions.fromClient(shell, target, [bytes]);
          await shell.connection.send(target, attr(s, 'Name') === 'pr' ? 'pr' : 'default', bytes);
        }
        return emptyResponse(r.action, r.messageId, '<rsp:SendResponse/>');
      }
      case Action.Receive: {
        const commandId = attr(descendants(r.body, 'DesiredStream')[0], 'CommandId')?.toUpperCase();
        const target = commandId ?? null;
        const envelope = responseEnvelopeLimit(limits, r.maxEnvelopeSize);
        if (typeof envelope !== 'number') return quota(r, envelope);
        let outbox = shell.outbox.get(commandId ?? '');
        if (!outbox) shell.outbox.set(commandId ?? '', (outbox = new ReceiveOutbox()));
        // Never more than the client's MaxEnvelopeSize: the base64 of the fragments plus the
        // envelope around them (measured with the longer CommandState, Running).
        const overhead = Buffer.byteLength(
          receiveResponse(r.messageId, commandId, [new Uint8Array(0)], false),
        );
        const room = Math.floor((envelope - overhead) / 4) * 3;
        const timeout = Math.max(100, effectiveTimeoutMs(limits, r.operationTimeoutMs) - 50);
        const pull = async (ms: number): Promise<void> => {
          const detached = sessions.detachSignal(shell);
          const signal = detached
            ? AbortSignal.any([AbortSignal.timeout(ms), detached])
            : AbortSignal.timeout(ms);
          const chunk = await shell.connection.receive(target, { signal });
          if (commandId) track(shell, commandId, chunk.data);
          else sessions.fromPwsh(shell, null, chunk.data);
          outbox.push(chunk.data);
        };
        try {
          if (outbox.empty) {
            if (commandId && shell.finished.has(commandId))
              return receiveResponse(r.messageId, commandId, [], true);
            await pull(timeout);
            // A stream of output (a whole pwsh fragment or more) gathers what follows for a moment,
            // as WinRM fills an envelope rather than answering with each fragment.
            const more = (): Promise<boolean> =>
              pull(15).then(
                () => true,
                (e: Error) => (e.name === 'TimeoutError' ? false : Promise.reject(e)),
              );
            while (outbox.pendingBytes >= 32 * 1024 && outbox.pendingBytes < room && (await more()));
          }
          const data = outbox.take(room);
          const done = commandId !== undefined && shell.finished.has(commandId) && outbox.empty;
          return receiveResponse(r.messageId, commandId, data.length > 0 ? [data] : [], done);
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
        else {
          await shell.connection.closePipeline(commandId);
          // Terminated: it no longer counts against MaxConcurrentCommandsPerShell.
          if (code === Signal.Terminate) forgetCommand(shell, commandId);
        }
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
          if (/^\/adminapi\//i.test(req.url ?? '')) {
            await exo.handle(req, res, raw, secure);
            return;
          }
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
            if (await injectFault(behaviours.faults, fired, request, req, res)) return;
            const tooLarge = checkRequestSize(limits, Buffer.byteLength(body));
            if (tooLarge) {
              await reply(500, quota(request, tooLarge));
              return;
            }
            const cookies: string[] = [];
            inFlightRequests++;
            const out = await handle(request, user, exchange, req.headers.cookie ?? '', (c) =>
              cookies.push(c),
            ).finally(() => inFlightRequests--);
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
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject); // EADDRINUSE, EACCES: reject instead of an unhandled 'error' event
      server.listen(options.port ?? 0, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (e) {
    clearInterval(reaper);
    await new Promise<void>((resolve) => plain.close(() => resolve()));
    await acceptor?.close();
    await sshd?.close();
    await rm(stateDir, { recursive: true, force: true });
    throw e;
  }
  const port = (server.address() as AddressInfo).port;
  return {
    url: `https://localhost:${port}/wsman`,
    exchangeUrl: `https://localhost:${port}/PowerShell/`,
    httpOrigin: `http://localhost:${(plain.address() as AddressInfo).port}`,
    behaviours,
    exo: Object.assign(exo, { baseUrl: `https://localhost:${port}` }),
    ssh: sshd?.ssh,
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
    limits,
    stats(): LabStats {
      let commands = 0;
      for (const sh of shells.values()) commands += sh.commands.size;
      const users = new Set([...shells.values()].map((sh) => sh.user));
      let operations = 0;
      for (const u of users) operations += operationsOf({ shells: [...shells.values()] }, u);
      return { shells: shells.size + cmdShells.size, commands, operations, inFlight: inFlightRequests };
    },
    async close(): Promise<void> {
      await Promise.all([...shells.values()].map((s) => s.connection.closePool().catch(() => undefined)));
      await exo.close();
      shells.clear();
      cmdShells.closeAll();
      clearInterval(reaper);
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await new Promise<void>((resolve) => plain.close(() => resolve()));
      await acceptor?.close();
      await sshd?.close();
      await rm(stateDir, { recursive: true, force: true });
    },
  };
}
