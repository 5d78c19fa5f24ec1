/**
 * `psrp lab` (`npm run lab`): starts the loopback lab WinRM endpoint and prints how to connect,
 * with a copy-paste `npx psrp exec` line. Stops on Ctrl+C. Checks for pwsh first; a port in use, a
 * bad users file or a missing pwsh print one line saying what to do, never a stack trace.
 *
 *   --port N         listen on this port (default: a free one)
 *   --users FILE     users file (`{ "user": { "password": "…", "role": "admin" } }`)
 *   --state-dir DIR  keep the lab's certificate and CA in DIR, so clients keep trusting it across runs
 *   --ssh            serve it over SSH too (a private sshd, src/lab/lab-ssh.ts); --ssh-port N picks its port
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLab } from './lab-server.js';
import { sshFingerprint } from '../client/ssh-connection.js';
import { createTestCertificate, type TestCertificate } from './certificate.js';

export const LAB_USAGE = `usage: psrp lab [--port N] [--users FILE] [--state-dir DIR] [--ssh [--ssh-port N]]

Starts a loopback WinRM endpoint backed by real PowerShell (pwsh) for trying psrp without a server:
/wsman (Microsoft.PowerShell) and an Exchange-like /PowerShell/ with a fake organisation.

  --port N         listen on port N on 127.0.0.1 (default: a free port)
  --users FILE     accounts, as JSON: { "alice": { "password": "…", "role": "admin|helpdesk|readonly" } }
  --state-dir DIR  keep the TLS certificate and its CA in DIR (ca.pem): the same CA on every run
                   (and with --ssh the SSH host key and user keys, in DIR/ssh)
  --ssh            serve PowerShell over SSH too: a private OpenSSH sshd on 127.0.0.1 with the
                   subsystems powershell (pwsh -sshs) and exchange (the Exchange-like runspace);
                   each lab user logs in with their own key (needs Debian's openssh-server)
  --ssh-port N     the sshd's port (default: a free port)
  --help           this text
`;

/** Parses the lab's flags; a string is a usage error. */
export function parseLabArgs(
  argv: readonly string[],
):
  | { help: true }
  | { help: false; port: number; users?: string; stateDir?: string; ssh: boolean; sshPort?: number }
  | string {
  const out: { port: number; users?: string; stateDir?: string; ssh: boolean; sshPort?: number } = {
    port: 0,
    ssh: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const eq = a.indexOf('=');
    const name = a.startsWith('--') && eq > 0 ? a.slice(0, eq) : a;
    const value = (): string | undefined => (eq > 0 && a.startsWith('--') ? a.slice(eq + 1) : argv[++i]);
    if (name === '--help' || name === '-h') return { help: true };
    if (name === '--ssh' && eq < 0) out.ssh = true;
    else if (name === '--port' || name === '--ssh-port') {
      const v = value();
      const port = Number(v);
      if (v === undefined || !Number.isInteger(port) || port < 0 || port > 65535)
        return `psrp lab: ${name} needs a port number (0-65535), got ${v === undefined ? 'nothing' : JSON.stringify(v)}`;
      if (name === '--port') out.port = port;
      else out.sshPort = port;
    } else if (name === '--users' || name === '--state-dir') {
      const v = value();
      if (!v) return `psrp lab: ${name} needs a path`;
      if (name === '--users') out.users = v;
      else out.stateDir = v;
    } else return `psrp lab: unknown option ${a} (psrp lab --help)`;
  }
  if (out.sshPort !== undefined && !out.ssh) return 'psrp lab: --ssh-port needs --ssh';
  return { help: false, ...out };
}

/** The certificate kept in `dir` (made and saved on the first run, remade when it expires within a day). */
export async function persistentCertificate(dir: string): Promise<TestCertificate> {
  const file = join(dir, 'certificate.json');
  if (existsSync(file)) {
    const saved = JSON.parse(readFileSync(file, 'utf8')) as TestCertificate;
    if (new Date(new X509Certificate(saved.cert).validTo).getTime() > Date.now() + 86_400_000) return saved;
  }
  mkdirSync(dir, { recursive: true });
  const cert = await createTestCertificate({ days: 365 });
  writeFileSync(file, JSON.stringify(cert), { mode: 0o600 });
  return cert;
}

/** One line for what went wrong starting the lab. */
function explain(e: unknown, options: { port: number; users?: string }): string {
  const err = e as NodeJS.ErrnoException & { code?: string };
  if (err.code === 'EADDRINUSE')
    return `port ${options.port} is in use: pick another with --port N, or leave --port out for a free one`;
  if (err.code === 'EACCES' && options.port > 0 && options.port < 1024)
    return `port ${options.port} needs root: use a port above 1023`;
  if (options.users !== undefined && (err.code === 'ENOENT' || err.code === 'EACCES'))
    return `cannot read the users file ${options.users} (${err.code}): --users needs a JSON file like { "alice": { "password": "…", "role": "admin" } }`;
  if (options.users !== undefined && e instanceof SyntaxError)
    return `the users file ${options.users} is not JSON: ${e.message}`;
  return `${err.message}${err.code ? ` [${err.code}]` : ''}`;
}

const quote = (s: string): string => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

export async function runLabCli(argv: readonly string[] = process.argv.slice(2)): Promise<void> {
  const parsed = parseLabArgs(argv);
  if (typeof parsed === 'string') {
    process.stderr.write(`${parsed}\n`);
    process.exitCode = 2;
    return;
  }
  if (parsed.help) {
    process.stdout.write(LAB_USAGE);
    return;
  }
  let lab;
  try {
    const tlsCertificate =
      parsed.stateDir !== undefined ? await persistentCertificate(parsed.stateDir) : undefined;
    lab = await startLab({
      port: parsed.port,
      ...(parsed.users !== undefined ? { usersFile: parsed.users } : {}),
      ...(tlsCertificate ? { tlsCertificate } : {}),
      ...(parsed.ssh
        ? {
            ssh: {
              ...(parsed.sshPort ? { port: parsed.sshPort } : {}),
              ...(parsed.stateDir !== undefined ? { keyDir: join(parsed.stateDir, 'ssh') } : {}),
            },
          }
        : {}),
    });
  } catch (e) {
    process.stderr.write(`psrp lab: ${explain(e, parsed)}\n`);
    process.exitCode = 1;
    return;
  }
  const caFile =
    parsed.stateDir !== undefined
      ? join(parsed.stateDir, 'ca.pem')
      : join(tmpdir(), `psrp-lab-ca-${process.pid}.pem`);
  writeFileSync(caFile, lab.ca);
  const [user, password] = Object.entries(lab.users)[0]!;
  const ssh = lab.ssh;
  const sshText = ssh
    ? `
  SSH           ${ssh.url}   (subsystems powershell and exchange)
  host key      ${ssh.hostPublicKey.split(' ')[0]} ${sshFingerprint(Buffer.from(ssh.hostPublicKey.split(' ')[1]!, 'base64'))}
  known_hosts   ${ssh.knownHostsFile}
  SSH keys      ${Object.entries(ssh.keyFiles)
    .map(([u, f]) => `${u}: ${f}`)
    .join('\n                ')}`
    : '';
  const sshTry = ssh
    ? `
over SSH, as ${user} (the key is who you are; the exchange subsystem runs commands, not scripts):

  npx psrp exec ${ssh.url} --subsystem ${ssh.exchangeSubsystem} --identity ${quote(ssh.keyFiles[user]!)} --known-hosts ${quote(ssh.knownHostsFile)} -- Get-Mailbox -ResultSize 5
  npx psrp exec ${ssh.url} --identity ${quote(ssh.keyFiles[user]!)} --known-hosts ${quote(ssh.knownHostsFile)} -- '$PSVersionTable.PSVersion'
`
    : '';
  console.log(`psrp lab: a loopback WinRM endpoint backed by real PowerShell (dev tool, not a server)

  Windows-like  ${lab.url}          (configuration Microsoft.PowerShell)
  Exchange-like ${lab.exchangeUrl}    (configuration Microsoft.Exchange)
  plain HTTP    ${lab.httpOrigin}
  Exchange Online admin API  ${lab.exo.baseUrl}/adminapi/v2.0/${lab.exo.tenantId}/<Endpoint>  (tenant ${lab.exo.tenantId})
  users         ${Object.entries(lab.users)
    .map(([u, p]) => `${u} / ${p}`)
    .join(', ')}
  CA file       ${caFile}${sshText}

Try it from another terminal:

  npx psrp exec ${lab.exchangeUrl} --ca ${quote(caFile)} --user ${quote(user)} --password ${quote(password)} -- Get-Mailbox -ResultSize 5
${sshTry}
or from code: PSRP_URI=${lab.exchangeUrl} PSRP_USER=${quote(user)} PSRP_PASSWORD=${quote(password)} PSRP_CA_FILE=${quote(caFile)}

  PSRP_EXO_TOKEN=${lab.exo.issueToken({ expiresInSeconds: 12 * 3600 })} \
    npx tsx src/cli/main.ts exec exo://${lab.exo.tenantId} --base-url ${lab.exo.baseUrl} --ca ${caFile} -- Get-Mailbox -ResultSize 5

Ctrl+C stops it.`);
  const stop = (): void => {
    void lab.close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
