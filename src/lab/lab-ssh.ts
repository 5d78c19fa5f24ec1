/**
 * The lab over SSH (`psrp lab --ssh`, `startLab({ ssh: true })`): a private OpenSSH server
 * (Debian's sshd, as src/lab/test-sshd.ts runs it) on a loopback port serving the lab's two
 * endpoints as SSH subsystems, the way PowerShell 7 is reached over SSH:
 *
 * - `powershell`: plain `pwsh -sshs` (what /wsman's Microsoft.PowerShell is over WinRM);
 * - `exchange`: the lab's Exchange runspace (`pwsh -sshs -ConfigurationFile <role>.pssc`: NoLanguage,
 *   the fake organisation, the cmdlets of the user's role), what /PowerShell/ is over WinRM.
 *
 * sshd can only log in as the account it runs as (unless root, and the lab never adds system
 * accounts), and it checks passwords against the system's (PAM or shadow), not the lab's. So every
 * lab user gets a key pair instead, and the key says who they are: each key in authorized_keys has a
 * forced command (`restrict,command=…`) that runs this lab's subsystem script with the user's role,
 * which starts the subsystem the client asked for (sshd passes its name in SSH_ORIGINAL_COMMAND) and
 * refuses anything else (no shell, no exec, no forwarding). As root, sshd takes root logins with
 * forced-command keys only.
 *
 * Keys and the host key are kept in `keyDir` when given (`psrp lab --ssh --state-dir DIR`), so the
 * same known_hosts line and identity files keep working across runs; known_hosts is rewritten with
 * the port of each run.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { findPwsh } from '../client/outofproc-connection.js';
import { exchangeRunspaceLaunch, type LabRole } from './exchange-runspace.js';
import { freePort } from './loopback-port.js';
import { launchSshd, run, tool, writeSshdConfig } from './test-sshd.js';

/** `startLab({ ssh: … })`: `true`, or where to listen and keep keys. */
export interface LabSshOptions {
  /** Port on 127.0.0.1. Default: a free one. */
  readonly port?: number;
  /** Keep the host key and the users' keys here (made on the first run). Default: the lab's temp state dir. */
  readonly keyDir?: string;
}

/** The lab's SSH endpoint (`lab.ssh`). */
export interface LabSsh {
  readonly host: '127.0.0.1';
  readonly port: number;
  /** The system account every lab user logs in as (the one sshd runs as); the key picks the lab user. */
  readonly username: string;
  /** `ssh://<username>@127.0.0.1:<port>`: a target for `psrp exec`. */
  readonly url: string;
  /** The subsystem of the Exchange runspace (`powershell` is plain pwsh). */
  readonly exchangeSubsystem: 'exchange';
  /** The server's host public key line (`ssh-ed25519 AAAA…`). */
  readonly hostPublicKey: string;
  /** An OpenSSH known_hosts file naming the host key as `[127.0.0.1]:<port>` (`knownHostsFile` option, `--known-hosts`). */
  readonly knownHostsFile: string;
  /** lab user → private key file (no passphrase) that logs in as that user (`privateKeyPath`, `--identity`). */
  readonly keyFiles: Readonly<Record<string, string>>;
  /** Kills every SSH session, as a server crash would; the listener stays. */
  killSessions(): void;
  /** sshd's log so far. */
  log(): string;
}

/** Lab user names as file names; a name changed by that gets a short hash, so two users never share a key. */
const fileName = (user: string): string => {
  const safe = user.replace(/[^\w.-]/g, '_');
  return safe === user ? user : `${safe}-${createHash('sha256').update(user).digest('hex').slice(0, 8)}`;
};
/** A word for sh, in single quotes. */
const sh = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/** The subsystem script: $1 is the role (from the key's forced command); sshd names the subsystem asked for. */
function subsystemScript(
  pwsh: string,
  roles: ReadonlyMap<LabRole, { args: string[]; env: Record<string, string> }>,
): string {
  const pwshSshs = `${sh(pwsh)} -sshs -NoLogo -NoProfile`;
  const exchange = [...roles]
    .map(
      ([role, launch]) =>
        `      ${role}) ${Object.entries(launch.env)
          .map(([k, v]) => `${k}=${sh(v)}; export ${k}; `)
          .join('')}exec ${pwshSshs} ${launch.args.map(sh).join(' ')} ;;`,
    )
    .join('\n');
  return `#!/bin/sh
# psrp lab: what an SSH session with a lab user's key runs (sshd's forced command, src/lab/lab-ssh.ts).
# $1 is the user's role; SSH_ORIGINAL_COMMAND is the requested subsystem's command in sshd_config.
case "\${SSH_ORIGINAL_COMMAND:-}" in
  'psrp-lab-subsystem powershell') exec ${pwshSshs} ;;
  'psrp-lab-subsystem exchange')
    case "$1" in
${exchange}
    esac ;;
esac
echo "psrp lab: a lab key opens only the powershell and exchange subsystems" >&2
exit 1
`;
}

/** Starts the lab's sshd; `stateDir` is the lab's (Exchange configurations and mailboxes are shared with WinRM). */
export async function startLabSsh(options: {
  readonly stateDir: string;
  readonly accounts: Readonly<Record<string, { readonly role: LabRole }>>;
  readonly pwsh?: string | undefined;
  readonly mailboxCount?: number | undefined;
  readonly ssh: LabSshOptions;
}): Promise<{ readonly ssh: LabSsh; close(): Promise<void> }> {
  const sshd = tool('sshd');
  const keygen = tool('ssh-keygen');
  const pwsh = findPwsh(options.pwsh);
  const dir = join(options.stateDir, 'ssh');
  const keyDir = options.ssh.keyDir ?? dir;
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  mkdirSync(keyDir, { recursive: true, mode: 0o700 });
  const file = (n: string): string => join(dir, n);
  const key = (n: string): string => join(keyDir, n);
  const makeKey = async (path: string, comment: string): Promise<void> => {
    if (!existsSync(path)) await run(keygen, ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', path]);
  };
  const users = Object.keys(options.accounts);
  await Promise.all([
    makeKey(key('host_key'), 'psrp-lab-host'),
    ...users.map((u) => makeKey(key(`${fileName(u)}.key`), `psrp-lab-${fileName(u)}`)),
  ]);
  const pub = async (path: string): Promise<string> =>
    (await readFile(`${path}.pub`, 'utf8')).trim().split(/\s+/).slice(0, 2).join(' ');

  const roles = new Map<LabRole, { args: string[]; env: Record<string, string> }>();
  for (const { role } of Object.values(options.accounts))
    if (!roles.has(role))
      roles.set(
        role,
        exchangeRunspaceLaunch({
          role,
          stateDir: options.stateDir,
          ...(options.mailboxCount !== undefined ? { mailboxCount: options.mailboxCount } : {}),
        }),
      );
  await writeFile(file('subsystem.sh'), subsystemScript(pwsh, roles), { mode: 0o700 });
  const keyLines = await Promise.all(
    users.map(
      async (u) =>
        `restrict,command="/bin/sh ${sh(file('subsystem.sh'))} ${options.accounts[u]!.role}" ${await pub(key(`${fileName(u)}.key`))} psrp-lab-${fileName(u)}`,
    ),
  );
  await writeFile(file('authorized_keys'), `${keyLines.join('\n')}\n`, { mode: 0o600 });

  const port = options.ssh.port ?? (await freePort());
  const hostPublicKey = await pub(key('host_key'));
  const username = userInfo().username;
  await writeSshdConfig(
    file('sshd_config'),
    file('known_hosts'),
    {
      port,
      hostKey: key('host_key'),
      pidFile: file('sshd.pid'),
      authorizedKeysFile: file('authorized_keys'),
      user: username,
    },
    hostPublicKey,
    [
      // Every lab key has a forced command; root (a CI container) logs in with those only.
      'PermitRootLogin forced-commands-only',
      'AuthenticationMethods publickey',
      'PubkeyAuthentication yes',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      // Names the forced command reads from SSH_ORIGINAL_COMMAND (a session without one has no lab key).
      'Subsystem powershell psrp-lab-subsystem powershell',
      'Subsystem exchange psrp-lab-subsystem exchange',
    ],
  );
  const proc = await launchSshd(sshd, file('sshd_config'));
  const ssh: LabSsh = {
    host: '127.0.0.1',
    port,
    username,
    url: `ssh://${username}@127.0.0.1:${port}`,
    exchangeSubsystem: 'exchange',
    hostPublicKey,
    knownHostsFile: file('known_hosts'),
    keyFiles: Object.fromEntries(users.map((u) => [u, key(`${fileName(u)}.key`)])),
    killSessions: proc.killSessions,
    log: proc.log,
  };
  return { ssh, close: proc.stop };
}
