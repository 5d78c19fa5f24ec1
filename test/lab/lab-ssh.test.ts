/**
 * The lab over SSH (`psrp lab --ssh`, `startLab({ ssh })`, src/lab/lab-ssh.ts): Debian's real
 * OpenSSH sshd on loopback serves the `powershell` subsystem (pwsh -sshs) and the `exchange` one
 * (the Exchange-like NoLanguage runspace of the user's role); each lab user's key says who they are.
 * The printed copy-paste line runs Get-Mailbox over SSH and gets what WinRM gets.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runExec } from '../../src/cli/exec.js';
import { loadSsh2 } from '../../src/client/ssh-connection.js';
import { ExchangeSession } from '../../src/exchange/index.js';
import { RunspacePool, SshConnection, type SshOptions } from '../../src/index.js';
import { startLab, type Lab } from '../../src/lab/lab-server.js';
import { parseLabArgs } from '../../src/lab/cli.js';
import { requirePwsh } from '../helpers/pwsh.js';

const root = resolve(import.meta.dirname, '../..');

async function exec(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number; out: string; err: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d: Buffer) => (out += d.toString()));
  stderr.on('data', (d: Buffer) => (err += d.toString()));
  const code = await runExec(args, { stdout, stderr, env });
  return { code, out, err };
}

/** Splits a printed shell line (plain words and '…' quoting, as the lab prints). */
const words = (line: string): string[] =>
  [...line.matchAll(/'((?:[^']|'\\'')*)'|(\S+)/g)].map((m) =>
    m[1] !== undefined ? m[1].replace(/'\\''/g, "'") : m[2]!,
  );

describe('psrp lab --ssh (real sshd)', () => {
  it('parses --ssh and --ssh-port', () => {
    expect(parseLabArgs(['--ssh', '--ssh-port', '2222'])).toEqual({
      help: false,
      port: 0,
      ssh: true,
      sshPort: 2222,
    });
    expect(parseLabArgs(['--ssh-port', '2222'])).toBe('psrp lab: --ssh-port needs --ssh');
    expect(parseLabArgs(['--ssh-port', 'x', '--ssh'])).toMatch(/--ssh-port needs a port number/);
  });

  it('prints a psrp exec ssh:// line that runs Get-Mailbox on the Exchange subsystem, as the WinRM line does', async () => {
    requirePwsh();
    const stateDir = mkdtempSync(join(tmpdir(), 'lab-ssh-state-'));
    // Node itself with tsx as an import hook, not the tsx command: that one runs the script in a child,
    // relays a signal to it and, when the child has not acknowledged it within 30 ms (a loaded machine
    // misses that), kills it and exits with 130 instead of the lab's own 0.
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'src/cli/main.ts', 'lab', '--ssh', '--state-dir', stateDir],
      {
        cwd: root,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const exited = new Promise<number | null>((r) => child.on('exit', r));
    let out = '';
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    try {
      await new Promise<void>((res, rej) => {
        const t = setTimeout(() => rej(new Error(`psrp lab --ssh: no answer: ${out} ${err}`)), 90_000);
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          if (out.includes('Ctrl+C')) {
            clearTimeout(t);
            res();
          }
        });
        void exited.then((code) => rej(new Error(`psrp lab --ssh exited ${code}: ${err}`)));
      });
      const lines = out.split('\n').map((l) => l.trim());
      const winrmLine = lines.find((l) => l.startsWith('npx psrp exec https://'))!;
      const sshLine = lines.find(
        (l) => l.startsWith('npx psrp exec ssh://') && l.includes('--subsystem exchange'),
      )!;
      expect(sshLine).toBeDefined();
      expect(out).toMatch(/host key\s+ssh-ed25519 SHA256:[A-Za-z0-9+/]{43}\n/);
      expect(sshLine).toContain('--known-hosts');
      expect(sshLine).toContain('--identity');
      // The keys live in the state dir, so the printed paths keep working across runs.
      expect(sshLine).toContain(join(stateDir, 'ssh', 'admin.key'));
      const overSsh = await exec(words(sshLine).slice(3));
      expect(overSsh.err).toBe('');
      expect(overSsh.code).toBe(0);
      const sshMailboxes = JSON.parse(overSsh.out) as { Name: string; PrimarySmtpAddress: string }[];
      expect(sshMailboxes).toHaveLength(5);
      const overWinrm = await exec(words(winrmLine).slice(3));
      expect(overWinrm.code).toBe(0);
      const winrmMailboxes = JSON.parse(overWinrm.out) as { Name: string; PrimarySmtpAddress: string }[];
      expect(sshMailboxes.map((m) => [m.Name, m.PrimarySmtpAddress])).toEqual(
        winrmMailboxes.map((m) => [m.Name, m.PrimarySmtpAddress]),
      );
    } finally {
      child.kill('SIGINT');
      expect(await exited).toBe(0);
    }
  }, 180_000);
});

describe('startLab({ ssh }) (real sshd)', () => {
  let lab: Lab;
  const keyDir = mkdtempSync(join(tmpdir(), 'lab-ssh-keys-'));
  const as = (user: string, extra: Partial<SshOptions> = {}): SshOptions => ({
    host: lab.ssh!.host,
    port: lab.ssh!.port,
    username: lab.ssh!.username,
    privateKeyPath: lab.ssh!.keyFiles[user],
    knownHostsFile: lab.ssh!.knownHostsFile,
    ...extra,
  });

  beforeAll(async () => {
    requirePwsh();
    lab = await startLab({ ssh: { keyDir }, mailboxCount: 30 });
  }, 60_000);
  afterAll(async () => {
    await lab?.close();
  });

  it('exposes the endpoint: a key per lab user, a known_hosts line for the port, the same keys on the next start', async () => {
    const ssh = lab.ssh!;
    expect(ssh.url).toBe(`ssh://${ssh.username}@127.0.0.1:${ssh.port}`);
    expect(Object.keys(ssh.keyFiles).sort()).toEqual(Object.keys(lab.users).sort());
    expect(readFileSync(ssh.knownHostsFile, 'utf8')).toBe(`[127.0.0.1]:${ssh.port} ${ssh.hostPublicKey}\n`);
    const again = await startLab({ ssh: { keyDir }, mailboxCount: 30 });
    try {
      expect(again.ssh!.port).not.toBe(ssh.port);
      expect(again.ssh!.hostPublicKey).toBe(ssh.hostPublicKey);
      expect(readFileSync(again.ssh!.keyFiles['admin']!, 'utf8')).toBe(
        readFileSync(ssh.keyFiles['admin']!, 'utf8'),
      );
    } finally {
      await again.close();
    }
    // User names that are not file names still get a key each.
    const odd = await startLab({
      users: {
        'a b': { password: 'x', role: 'readonly' },
        a_b: { password: 'y', role: 'admin' },
      },
      ssh: true,
      mailboxCount: 30,
    });
    try {
      const [k1, k2] = [odd.ssh!.keyFiles['a b']!, odd.ssh!.keyFiles['a_b']!];
      expect(k1).not.toBe(k2);
      expect(readFileSync(k1, 'utf8')).not.toBe(readFileSync(k2, 'utf8'));
    } finally {
      await odd.close();
    }
    const noSsh = await startLab({ mailboxCount: 30 });
    expect(noSsh.ssh).toBeUndefined();
    await noSsh.close();
  }, 60_000);

  it("the key picks the role: readonly's Exchange runspace has Get-Recipient but no Get-Mailbox, and no script", async () => {
    const ex = new ExchangeSession(
      await RunspacePool.open({ ssh: as('readonly', { subsystem: 'exchange' }) }),
    );
    try {
      const recipients = await ex.run('Get-Recipient -ResultSize 2');
      expect(recipients.output).toHaveLength(2);
      await expect(ex.run('Get-Mailbox -ResultSize 1')).rejects.toMatchObject({
        code: 'PSRP_PIPELINE_FAILED',
        message: expect.stringContaining('Get-Mailbox'),
      });
      await expect(ex.pool.powershell().addScript('1 + 1').invoke()).rejects.toMatchObject({
        code: 'PSRP_PIPELINE_FAILED',
      });
    } finally {
      await ex.close();
    }
  }, 90_000);

  it('the powershell subsystem is full-language pwsh; psrp exec runs a script there', async () => {
    const r = await exec([
      lab.ssh!.url,
      '--identity',
      lab.ssh!.keyFiles['helpdesk']!,
      '--known-hosts',
      lab.ssh!.knownHostsFile,
      '--format',
      'json',
      '--',
      '[Environment]::UserName; $ExecutionContext.SessionState.LanguageMode.ToString(); 6 * 7',
    ]);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toEqual([lab.ssh!.username, 'FullLanguage', 42]);
  }, 90_000);

  it('a lab key gets no shell and no other subsystem; a key that is not a lab key is refused', async () => {
    const { Client } = (await loadSsh2()) as unknown as {
      Client: new () => {
        on(e: string, cb: (...a: unknown[]) => void): unknown;
        connect(c: Record<string, unknown>): void;
        exec(
          cmd: string,
          cb: (
            err: Error | undefined,
            ch: NodeJS.ReadWriteStream & {
              stderr: NodeJS.ReadableStream;
              on(e: 'exit', cb: (code: number) => void): unknown;
            },
          ) => void,
        ): void;
        end(): void;
      };
    };
    const c = new Client();
    const ran = await new Promise<{ code: number; stderr: string; stdout: string }>((res, rej) => {
      c.on('error', (e) => rej(e instanceof Error ? e : new Error(String(e))));
      c.on('ready', () =>
        c.exec('id', (err, ch) => {
          if (err) return rej(err);
          let stdout = '';
          let stderr = '';
          let code = -1;
          ch.on('data', (d: Buffer) => (stdout += d.toString()));
          ch.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
          ch.on('exit', (n: number) => (code = n));
          ch.on('close', () => res({ code, stderr, stdout }));
        }),
      );
      c.connect({
        host: '127.0.0.1',
        port: lab.ssh!.port,
        username: lab.ssh!.username,
        privateKey: readFileSync(lab.ssh!.keyFiles['admin']!),
        hostVerifier: () => true,
      });
    });
    c.end();
    expect(ran).toEqual({
      code: 1,
      stdout: '',
      stderr: 'psrp lab: a lab key opens only the powershell and exchange subsystems\n',
    });
    await expect(SshConnection.connect(as('admin', { subsystem: 'sftp' }))).rejects.toMatchObject({
      code: 'PSRP_SSH_SUBSYSTEM_FAILED',
    });
    const stranger = join(mkdtempSync(join(tmpdir(), 'lab-ssh-stranger-')), 'key');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', stranger]);
    await expect(SshConnection.connect(as('admin', { privateKeyPath: stranger }))).rejects.toMatchObject({
      code: 'PSRP_SSH_AUTH_FAILED',
    });
  }, 60_000);

  it('an SSH port in use is one PSRP_LAB_SSH_FAILED error that says so', async () => {
    await expect(startLab({ ssh: { port: lab.ssh!.port }, mailboxCount: 30 })).rejects.toMatchObject({
      code: 'PSRP_LAB_SSH_FAILED',
      message: `sshd cannot listen: port ${lab.ssh!.port} on 127.0.0.1 is in use (pick another port)`,
    });
  }, 30_000);

  it('psrp exec refuses --proxy with an SSH target (a usage error, nothing connects)', async () => {
    const r = await exec([lab.ssh!.url, '--proxy', 'http://127.0.0.1:1', '--', '1']);
    expect(r.code).toBe(2);
    expect(r.err).toContain('--proxy is for http:// and https:// targets');
  });
});
