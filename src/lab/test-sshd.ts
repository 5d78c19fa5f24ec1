/**
 * A throw-away OpenSSH server for PowerShell-over-SSH tests and the lab: Debian's sshd on a loopback
 * port, with its own host key, sshd_config and authorized_keys in a temp dir (the system's sshd and
 * its files are never touched). It serves PowerShell 7's `powershell` subsystem (`pwsh -sshs`) and
 * `powershell-jea` (the same with `-ConfigurationFile`: a RestrictedRemoteServer, NoLanguage
 * endpoint). Logins are the local user's, by key (a plain and a passphrase-protected one are made);
 * password and keyboard-interactive are enabled but no password is set or changed by this module.
 * A dev tool: openssh-server and pwsh must be installed (`scripts/ensure-ssh.sh`).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { freePort } from './loopback-port.js';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { findPwsh } from '../client/outofproc-connection.js';
import { PsrpError } from '../errors.js';

export interface TestSshdOptions {
  /** pwsh for the subsystems. Default: `findPwsh()`. */
  readonly pwsh?: string;
  /** Passphrase of the protected client key. Default `Key-Passphr4se`. */
  readonly passphrase?: string;
}

export interface TestSshd {
  readonly host: '127.0.0.1';
  readonly port: number;
  /** The user who may log in (the local user: sshd can only log in as itself unless root). */
  readonly username: string;
  /** The temp dir with keys and configs (removed by close). */
  readonly dir: string;
  /** An OpenSSH known_hosts file naming this server's host key as `[127.0.0.1]:port`. */
  readonly knownHostsFile: string;
  /** The server's host public key line (`ssh-ed25519 AAAA…`). */
  readonly hostPublicKey: string;
  /** Private key files in authorized_keys: plain, and protected by `passphrase`. */
  readonly clientKeyFile: string;
  readonly encryptedClientKeyFile: string;
  readonly passphrase: string;
  /** A key that is not in authorized_keys. */
  readonly strangerKeyFile: string;
  /** The NoLanguage endpoint's subsystem name. */
  readonly jeaSubsystem: 'powershell-jea';
  /** Kills every SSH session (per-connection sshd processes), as a server crash would; the listener stays. */
  killSessions(): void;
  /** sshd's log so far (for failure messages). */
  log(): string;
  /** Stops sshd, its sessions, and removes the dir. */
  close(): Promise<void>;
}

export function missing(what: string): PsrpError {
  return new PsrpError(
    `The private sshd (test or lab) cannot start: ${what}. Install Debian's openssh-server (scripts/ensure-ssh.sh does it as root).`,
    {
      code: 'PSRP_LAB_SSH_FAILED',
    },
  );
}

/** An OpenSSH program (`sshd`, `ssh-keygen`) from the usual system directories. */
export function tool(name: string): string {
  const found = ['/usr/sbin', '/sbin', '/usr/bin', '/bin']
    .map((d) => join(d, name))
    .find((f) => existsSync(f));
  if (!found) throw missing(`${name} is not installed`);
  return found;
}

export function run(file: string, args: readonly string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { timeout: 20_000 }, (err, _stdout, stderr) => {
      if (err)
        reject(
          new PsrpError(`${file} ${args.join(' ')} failed: ${`${stderr}`.trim().slice(0, 400)}`, {
            code: 'PSRP_LAB_SSH_FAILED',
            cause: err,
          }),
        );
      else resolve();
    });
  });
}

function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
      .split(/\s+/)
      .filter((p) => p !== '')
      .map(Number);
  } catch {
    return [];
  }
}

/** A running sshd (`sshd -D -e -f config`): its log, its sessions, and how to stop it. */
export interface SshdProcess {
  /** sshd's log so far. */
  readonly log: () => string;
  /** Kills every SSH session (per-connection sshd processes); the listener stays. */
  readonly killSessions: () => void;
  /** Kills the sessions, then sshd (SIGTERM, SIGKILL after 3 s). */
  readonly stop: () => Promise<void>;
}

/** Runs sshd in the foreground with `config` (checked first with `sshd -t`) until it listens. */
export async function launchSshd(sshd: string, config: string): Promise<SshdProcess> {
  // sshd's privilege-separation directory (Debian creates it only when its service starts).
  if (process.getuid?.() === 0 && !existsSync('/run/sshd'))
    mkdirSync('/run/sshd', { mode: 0o755, recursive: true });
  await run(sshd, ['-t', '-f', config]);
  let log = '';
  const child: ChildProcess = spawn(sshd, ['-D', '-e', '-f', config], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  child.stderr!.setEncoding('utf8');
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(missing(`sshd did not start within 10 s: ${log.slice(-400)}`)),
      10_000,
    );
    child.stderr!.on('data', (t: string) => {
      log = (log + t).slice(-20_000);
      if (log.includes('Server listening')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      const inUse = /Bind to port (\d+) .*Address already in use/.exec(log);
      reject(
        inUse
          ? new PsrpError(`sshd cannot listen: port ${inUse[1]} on 127.0.0.1 is in use (pick another port)`, {
              code: 'PSRP_LAB_SSH_FAILED',
            })
          : missing(`sshd exited (code ${code}): ${log.slice(-400)}`),
      );
    });
  });

  const killSessions = (): void => {
    for (const pid of child.pid === undefined ? [] : childrenOf(child.pid)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  };
  return {
    log: () => log,
    killSessions,
    stop: async () => {
      killSessions();
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(killer);
    },
  };
}

/** Where a private sshd listens and whom it lets in: the part of its configuration every lab sshd shares. */
export interface SshdBase {
  readonly port: number;
  readonly hostKey: string;
  readonly pidFile: string;
  readonly authorizedKeysFile: string;
  readonly user: string;
}

/**
 * Writes a private sshd's configuration: loopback only, this port, its own host key, pid file and
 * authorized_keys, the one account it runs as, no PAM or file-mode checks (a temporary directory),
 * verbose log; then `settings` (authentication methods, subsystems). Also writes the known_hosts
 * line a client needs for it.
 */
export async function writeSshdConfig(
  configFile: string,
  knownHostsFile: string,
  base: SshdBase,
  hostPublicKey: string,
  settings: readonly string[],
): Promise<void> {
  await writeFile(knownHostsFile, `[127.0.0.1]:${base.port} ${hostPublicKey}\n`);
  await writeFile(
    configFile,
    [
      'ListenAddress 127.0.0.1',
      `Port ${base.port}`,
      `HostKey ${base.hostKey}`,
      `PidFile ${base.pidFile}`,
      `AuthorizedKeysFile ${base.authorizedKeysFile}`,
      `AllowUsers ${base.user}`,
      'StrictModes no',
      'UsePAM no',
      'LogLevel VERBOSE',
      ...settings,
      '',
    ].join('\n'),
  );
}

/** Starts the private sshd; about a second. */
export async function startTestSshd(options: TestSshdOptions = {}): Promise<TestSshd> {
  const sshd = tool('sshd');
  const keygen = tool('ssh-keygen');
  const pwsh = options.pwsh ?? findPwsh();
  const passphrase = options.passphrase ?? 'Key-Passphr4se';
  const dir = await mkdtemp(join(tmpdir(), 'psrp-sshd-'));
  const file = (n: string): string => join(dir, n);
  await Promise.all([
    run(keygen, ['-q', '-t', 'ed25519', '-N', '', '-C', 'psrp-test-host', '-f', file('host_key')]),
    run(keygen, ['-q', '-t', 'ed25519', '-N', '', '-C', 'psrp-test-client', '-f', file('client_key')]),
    run(keygen, [
      '-q',
      '-t',
      'ed25519',
      '-N',
      passphrase,
      '-C',
      'psrp-test-client-protected',
      '-f',
      file('client_key_protected'),
    ]),
    run(keygen, ['-q', '-t', 'ed25519', '-N', '', '-C', 'psrp-test-stranger', '-f', file('stranger_key')]),
  ]);
  const pub = async (n: string): Promise<string> => (await readFile(file(`${n}.pub`), 'utf8')).trim();
  await writeFile(
    file('authorized_keys'),
    `${await pub('client_key')}\n${await pub('client_key_protected')}\n`,
    { mode: 0o600 },
  );
  await writeFile(
    file('jea.pssc'),
    "@{\nSchemaVersion = '2.0.0.0'\nSessionType = 'RestrictedRemoteServer'\nLanguageMode = 'NoLanguage'\n}\n",
  );
  const port = await freePort();
  const hostPublicKey = (await pub('host_key')).split(/\s+/).slice(0, 2).join(' ');
  const username = userInfo().username;
  await writeSshdConfig(
    file('sshd_config'),
    file('known_hosts'),
    {
      port,
      hostKey: file('host_key'),
      pidFile: file('sshd.pid'),
      authorizedKeysFile: file('authorized_keys'),
      user: username,
    },
    hostPublicKey,
    [
      // Root may log in (a CI container runs as root); password logins are allowed so that their
      // refusal can be tested; no password is set here.
      'PermitRootLogin yes',
      'PubkeyAuthentication yes',
      'PasswordAuthentication yes',
      'KbdInteractiveAuthentication yes',
      'PermitEmptyPasswords no',
      'MaxAuthTries 10',
      `Subsystem powershell ${pwsh} -sshs -NoLogo -NoProfile`,
      `Subsystem powershell-jea ${pwsh} -sshs -NoLogo -NoProfile -ConfigurationFile ${file('jea.pssc')}`,
    ],
  );
  const sshdProcess = await launchSshd(sshd, file('sshd_config'));
  const killSessions = sshdProcess.killSessions;
  let closing: Promise<void> | undefined;
  return {
    host: '127.0.0.1',
    port,
    username,
    dir,
    knownHostsFile: file('known_hosts'),
    hostPublicKey,
    clientKeyFile: file('client_key'),
    encryptedClientKeyFile: file('client_key_protected'),
    passphrase,
    strangerKeyFile: file('stranger_key'),
    jeaSubsystem: 'powershell-jea',
    killSessions,
    log: sshdProcess.log,
    close: () =>
      (closing ??= (async () => {
        await sshdProcess.stop();
        await rm(dir, { recursive: true, force: true });
      })()),
  };
}
