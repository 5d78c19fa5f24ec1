/**
 * The lab: a loopback WinRM (WS-Management) endpoint whose shells are real `pwsh -s` processes, in
 * the way Windows' WinRM PowerShell plugin hosts PowerShell. HTTPS with a throw-away certificate
 * and Basic authentication (GSSAPI and client certificates on request). A dev tool and test double,
 * not a production server.
 *
 * This file keeps the listeners and the wiring; the parts are lab-accounts.ts (users, tokens, Basic
 * and certificate authentication), gss-sessions.ts (Negotiate/Kerberos/NTLM per connection, message
 * encryption), lab-request.ts (the request listener: routing, authentication, sealing),
 * lab-behaviours.ts (Exchange behaviours, front-end answers, fault injection),
 * shell-registry.ts (shells, reaper, drop), wsman-handler.ts (Command, Send, Signal, Delete) with
 * wsman-create.ts and wsman-receive.ts, and exo-admin-api.ts (the Exchange Online admin API).
 */
import { createServer as createHttpsServer, type Server } from 'node:https';
import { createServer as createHttpServer, type RequestListener, type Server as HttpServer } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { findPwsh } from '../client/outofproc-connection.js';
import {
  createClientCertificate,
  createTestCertificate,
  createTestCertificateAuthority,
  type TestCertificate,
  type TestCertificateOptions,
} from './certificate.js';
import type { LabRole } from './exchange-runspace.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { InvalidArgumentError } from '../errors.js';
import { GssAcceptor } from './gss-acceptor.js';
import { LabCmdShells } from './winrs-cmd-shell.js';
import { createExoSurface, type LabExo, type LabExoBehaviours } from './exo-admin-api.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { labBehaviours, type LabBehaviours } from './lab-behaviours.js';
import { windowsLimits, type LabLimits } from './lab-quotas.js';
import { LabAccounts } from './lab-accounts.js';
import { GssSessions } from './gss-sessions.js';
import { ShellRegistry } from './shell-registry.js';
import { createWSManHandler } from './wsman-handler.js';
import { labListener } from './lab-request.js';
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
export async function startLab(options: LabOptions = {}): Promise<Lab> {
  // Every shell is a pwsh process: without pwsh every request would fail later with a 500.
  findPwsh(options.pwsh);
  const accounts = new LabAccounts(options);
  const { users, tokens } = accounts;
  const { gssSessions, stateDir, sshd } = await startLabServices(options, accounts);
  const cert = options.tlsCertificate ?? (await createTestCertificate(options.certificate ?? { days: 365 }));
  const clientCa = options.clientCertificates
    ? await createTestCertificateAuthority({ days: 365 })
    : undefined;
  const registry = new ShellRegistry();
  const shells = registry.shells;
  /** Disconnect, Reconnect, Connect, Get and Enumerate of shells (src/lab/shell-sessions.ts). */
  const sessions = new ShellSessions();
  /** WinRS cmd shells on /wsman (src/lab/winrs-cmd-shell.ts). */
  const cmdShells = new LabCmdShells();
  const exo = createExoSurface({
    stateDir,
    accounts: accounts.accounts,
    pwsh: options.pwsh,
    mailboxCount: options.mailboxCount,
    behaviours: options.exoBehaviours,
  });
  const requestCounts = new Map<string, number>();
  const behaviours: LabBehaviours = labBehaviours(options.behaviours);
  const limits: LabLimits = { ...windowsLimits(), ...options.limits };
  const firedFaults = new Map<string, number>();
  const fired = (name: string): void => {
    firedFaults.set(name, (firedFaults.get(name) ?? 0) + 1);
  };
  registry.startReaper((shell) =>
    // WinRM's IdleTimeout for every shell; Exchange's (shorter) one on /PowerShell/.
    Math.min(
      limits.idleTimeoutMs ?? Infinity,
      shell.exchange ? (behaviours.idleTimeoutMs ?? Infinity) : Infinity,
      sessions.disconnectedIdleMs(shell) ?? Infinity,
    ),
  );
  const handle = createWSManHandler({
    registry,
    sessions,
    cmdShells,
    accounts,
    behaviours,
    limits,
    fired,
    requestCounts,
    stateDir,
    options,
  });

  const inFlight = { count: 0 };
  const clientCaOn = clientCa !== undefined;
  const ctx = { exo, behaviours, limits, accounts, gssSessions, requestCounts, fired, handle, inFlight };
  const listener = (secure: boolean) => labListener({ ...ctx, clientCa: clientCaOn }, secure);
  let listening: Awaited<ReturnType<typeof listenLab>>;
  try {
    listening = await listenLab(cert, clientCa?.cert, listener, options.port);
  } catch (e) {
    await registry.close();
    await gssSessions.close();
    await sshd?.close();
    await rm(stateDir, { recursive: true, force: true });
    throw e;
  }
  const { server, plain, sockets } = listening;
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
      for (const sh of all) registry.drop(sh);
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
    gssCounts: gssSessions.counts,
    liveShells: () => shells.size + cmdShells.size,
    limits,
    stats(): LabStats {
      const { commands, operations } = registry.usage();
      return { shells: shells.size + cmdShells.size, commands, operations, inFlight: inFlight.count };
    },
    async close(): Promise<void> {
      await registry.close();
      await exo.close();
      cmdShells.closeAll();
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await new Promise<void>((resolve) => plain.close(() => resolve()));
      await gssSessions.close();
      await sshd?.close();
      await rm(stateDir, { recursive: true, force: true });
    },
  };
}

/** The parts that outlive requests: the GSSAPI acceptor and sessions, the state directory, the SSH endpoint. */
async function startLabServices(
  options: LabOptions,
  accounts: LabAccounts,
): Promise<{
  gssSessions: GssSessions;
  stateDir: string;
  sshd: Awaited<ReturnType<typeof startLabSsh>> | undefined;
}> {
  const acceptor = options.gssapi
    ? await GssAcceptor.start({
        env: options.gssapi.env,
        ...(options.gssapi.python !== undefined ? { python: options.gssapi.python } : {}),
      })
    : undefined;
  const gssSessions = new GssSessions(
    acceptor,
    options.gssapi?.mapUser ?? ((principal) => accounts.userOfPrincipal(principal)),
  );
  const stateDir = await mkdtemp(join(tmpdir(), 'psrp-lab-'));
  const sshd = options.ssh
    ? await startLabSsh({
        stateDir,
        accounts: accounts.accounts,
        pwsh: options.pwsh,
        mailboxCount: options.mailboxCount,
        ssh: options.ssh === true ? {} : options.ssh,
      }).catch(async (e: unknown) => {
        await gssSessions.close();
        await rm(stateDir, { recursive: true, force: true });
        throw e;
      })
    : undefined;
  return { gssSessions, stateDir, sshd };
}

/** The HTTPS and plain-HTTP servers, listening on loopback (HTTPS on `port`, default any). */
async function listenLab(
  cert: TestCertificate,
  clientCaCert: string | undefined,
  listener: (secure: boolean) => RequestListener,
  port: number | undefined,
): Promise<{ server: Server; plain: HttpServer; sockets: Set<Socket> }> {
  const sockets = new Set<Socket>();
  const server: Server = createHttpsServer(
    {
      cert: cert.cert,
      key: cert.key,
      // Ask for a client certificate but let the request decide (401 when it is missing or bad).
      ...(clientCaCert ? { requestCert: true, rejectUnauthorized: false, ca: clientCaCert } : {}),
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
      server.listen(port ?? 0, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (e) {
    await new Promise<void>((resolve) => plain.close(() => resolve()));
    throw e;
  }
  return { server, plain, sockets };
}
