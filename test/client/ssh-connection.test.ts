/**
 * PowerShell over SSH against a real peer: Debian's OpenSSH server on a loopback port (a private
 * sshd with its own host key, config and authorized_keys, src/lab/test-sshd.ts) running PowerShell
 * 7's `powershell` subsystem (`pwsh -sshs`) and a NoLanguage endpoint (`-ConfigurationFile`).
 */
import { execFileSync } from 'node:child_process';
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PassThrough } from 'node:stream';
import { runExec } from '../../src/cli/exec.js';
import { loadSsh2 } from '../../src/client/ssh-connection.js';
import {
  PSSecureString,
  RunspacePool,
  SshConnection,
  type PSHost,
  type SshOptions,
} from '../../src/index.js';
import { startTestSshd, type TestSshd } from '../../src/lab/test-sshd.js';

let sshd: TestSshd;
const opts = (extra: Partial<SshOptions> = {}): SshOptions => ({
  host: sshd.host,
  port: sshd.port,
  username: sshd.username,
  privateKeyPath: sshd.clientKeyFile,
  knownHostsFile: sshd.knownHostsFile,
  ...extra,
});

beforeAll(async () => {
  sshd = await startTestSshd();
}, 60_000);
afterAll(async () => {
  await sshd?.close();
});

describe('PowerShell over SSH (real OpenSSH sshd, pwsh -sshs)', () => {
  it('opens a pool, runs commands with every stream, host calls, SecureStrings, stop and concurrent pipelines', async () => {
    const lines: string[] = [];
    const host: PSHost = { readLine: () => 'typed over ssh', writeLine: (t) => lines.push(t) };
    const pool = await RunspacePool.open({ ssh: opts(), host, maxRunspaces: 2 });
    try {
      expect(pool.state).toBe('Opened');
      expect(pool.serverProtocolVersion).toBe('2.3');
      const who = await pool
        .powershell()
        .addScript('$PSVersionTable.PSVersion.Major; [Environment]::UserName; $PSSenderInfo.ConnectionString')
        .invoke();
      expect(who.output[0]).toBe(7);
      expect(who.output[1]).toBe(sshd.username);

      const r = await pool
        .powershell()
        .addScript(
          "Write-Warning 'w1'; Write-Verbose 'v1' -Verbose; Write-Information 'i1' -Tags t; Write-Error 'e1'; 'out'",
        )
        .invoke();
      expect(r.output).toEqual(['out']);
      expect(r.warnings.map((w) => w.message)).toEqual(['w1']);
      expect(r.verbose.map((v) => v.message)).toEqual(['v1']);
      expect(r.information[0]!.messageData).toBe('i1');
      expect(r.errors[0]!.message).toBe('e1');

      const answered = await pool.powershell().addScript('$x = Read-Host "Name"; "got $x"').invoke();
      expect(answered.output).toEqual(['got typed over ssh']);

      const ss = await pool
        .powershell()
        .addScript('param($p) [System.Net.NetworkCredential]::new("", $p).Password; $p')
        .addParameter('p', PSSecureString.fromPlainText('ssh s3cret'))
        .invoke();
      expect(ss.output[0]).toBe('ssh s3cret');
      expect((ss.output[1] as PSSecureString).reveal()).toBe('ssh s3cret');

      const sleeper = pool.powershell().addScript('1; Start-Sleep 60; 2');
      const running = sleeper.invoke();
      await new Promise((res) => setTimeout(res, 500));
      const t0 = Date.now();
      await sleeper.stop();
      await expect(running).rejects.toMatchObject({ code: 'PSRP_PIPELINE_STOPPED' });
      expect(Date.now() - t0).toBeLessThan(15_000);

      const t1 = Date.now();
      const both = await Promise.all(
        [1, 2].map((i) => pool.powershell().addScript(`Start-Sleep -Milliseconds 2500; ${i}`).invoke()),
      );
      expect(both.map((b) => b.output[0])).toEqual([1, 2]);
      expect(Date.now() - t1).toBeLessThan(4900); // in parallel, not 5 s in a row
    } finally {
      await pool.close();
    }
  }, 90_000);

  it('reaches a NoLanguage (JEA-style) endpoint through a second subsystem', async () => {
    const pool = await RunspacePool.open({ ssh: opts({ subsystem: sshd.jeaSubsystem }) });
    try {
      const names = (await pool.powershell().addCommand('Get-Command').invoke()).output.map(
        (c) => (c as { Name: string }).Name,
      );
      expect(names).toContain('Select-Object');
      expect(names).not.toContain('Remove-Item');
      await expect(pool.powershell().addScript('1 + 1').invoke()).rejects.toMatchObject({
        code: 'PSRP_PIPELINE_FAILED',
      });
      // SSH sessions end with their client: no disconnected sessions.
      await expect(pool.disconnect()).rejects.toMatchObject({ code: 'PSRP_NOT_SUPPORTED' });
      expect(pool.state).toBe('Opened');
    } finally {
      await pool.close();
    }
  }, 60_000);

  it('ends with a typed error, without hanging, when the server dies mid-command', async () => {
    const pool = await RunspacePool.open({ ssh: opts() });
    try {
      const running = pool.powershell().addScript('Start-Sleep 120').invoke();
      await new Promise((res) => setTimeout(res, 800));
      const t0 = Date.now();
      sshd.killSessions();
      await expect(running).rejects.toMatchObject({ code: 'PSRP_CONNECTION_FAILED' });
      expect(Date.now() - t0).toBeLessThan(10_000);
      await expect(pool.powershell().addScript('1').invoke()).rejects.toBeInstanceOf(Error);
    } finally {
      const t1 = Date.now();
      await pool.close();
      expect(Date.now() - t1).toBeLessThan(10_000);
    }
  }, 60_000);

  it('authenticates with a passphrase-protected key; a wrong or missing passphrase is PSRP_SSH_KEY_INVALID', async () => {
    const conn = await SshConnection.connect(
      opts({ privateKeyPath: sshd.encryptedClientKeyFile, passphrase: sshd.passphrase }),
    );
    expect(conn.target).toBe(`ssh://${sshd.username}@127.0.0.1:${sshd.port}`);
    await conn.closePool();
    await expect(
      SshConnection.connect(opts({ privateKeyPath: sshd.encryptedClientKeyFile, passphrase: 'wrong' })),
    ).rejects.toMatchObject({
      code: 'PSRP_SSH_KEY_INVALID',
    });
    const err = await SshConnection.connect(opts({ privateKeyPath: sshd.encryptedClientKeyFile })).catch(
      (e: Error) => e,
    );
    expect(err).toMatchObject({ code: 'PSRP_SSH_KEY_INVALID' });
    expect((err as Error).message).not.toContain(sshd.passphrase);
  }, 30_000);

  it('refuses a key, a password and keyboard-interactive answers the server does not accept: PSRP_SSH_AUTH_FAILED', async () => {
    await expect(SshConnection.connect(opts({ privateKeyPath: sshd.strangerKeyFile }))).rejects.toMatchObject(
      {
        code: 'PSRP_SSH_AUTH_FAILED',
        name: 'AuthenticationError',
      },
    );
    const secret = `Wr0ng-${randomBytes(6).toString('hex')}`;
    const pw = await SshConnection.connect(opts({ privateKeyPath: undefined, password: secret })).catch(
      (e: Error) => e,
    );
    expect(pw).toMatchObject({ code: 'PSRP_SSH_AUTH_FAILED' });
    expect((pw as Error).message).toContain('password');
    expect((pw as Error).message).not.toContain(secret);
    const prompts: string[] = [];
    const kbd = await SshConnection.connect(
      opts({
        privateKeyPath: undefined,
        keyboardInteractive: (ps) => {
          prompts.push(...ps.map((p) => p.prompt));
          return ps.map(() => secret);
        },
      }),
    ).catch((e: Error) => e);
    expect(kbd).toMatchObject({ code: 'PSRP_SSH_AUTH_FAILED' });
    expect((kbd as Error).message).toContain('keyboard-interactive');
  }, 60_000);

  it('refuses an unknown host key and a changed one; accepts hashed known_hosts entries; verifyHostKey: false opts out', async () => {
    const empty = join(sshd.dir, 'known_hosts_empty');
    writeFileSync(empty, '# nothing yet\n');
    const unknown = await SshConnection.connect(opts({ knownHostsFile: empty })).catch((e: Error) => e);
    expect(unknown).toMatchObject({ code: 'PSRP_SSH_HOST_KEY_UNKNOWN' });
    expect((unknown as Error).message).toMatch(/SHA256:[A-Za-z0-9+/]{43}/);
    // The default file is ~/.ssh/known_hosts, which does not name this fresh server: refused too.
    await expect(
      SshConnection.connect(opts({ knownHostsFile: join(sshd.dir, 'missing') })),
    ).rejects.toMatchObject({
      code: 'PSRP_SSH_HOST_KEY_UNKNOWN',
    });

    const other = join(sshd.dir, 'known_hosts_other');
    const otherKey = execFileSync('ssh-keygen', ['-y', '-f', sshd.strangerKeyFile], {
      encoding: 'utf8',
    }).trim();
    writeFileSync(other, `[127.0.0.1]:${sshd.port} ${otherKey}\n`);
    await expect(SshConnection.connect(opts({ knownHostsFile: other }))).rejects.toMatchObject({
      code: 'PSRP_SSH_HOST_KEY_MISMATCH',
    });

    // OpenSSH's own hashing (ssh-keygen -H) of the known_hosts file.
    const hashed = join(sshd.dir, 'known_hosts_hashed');
    writeFileSync(hashed, `[127.0.0.1]:${sshd.port} ${sshd.hostPublicKey}\n`);
    execFileSync('ssh-keygen', ['-q', '-H', '-f', hashed]);
    const c1 = await SshConnection.connect(opts({ knownHostsFile: hashed }));
    await c1.closePool();
    // And one hashed here the same way (HMAC-SHA1 of "[host]:port" keyed by the salt).
    const salt = randomBytes(20);
    const mac = createHmac('sha1', salt).update(`[127.0.0.1]:${sshd.port}`).digest('base64');
    writeFileSync(hashed, `|1|${salt.toString('base64')}|${mac} ${sshd.hostPublicKey}\n`);
    const c2 = await SshConnection.connect(opts({ knownHostsFile: hashed }));
    await c2.closePool();

    const c3 = await SshConnection.connect(opts({ knownHostsFile: other, verifyHostKey: false }));
    await c3.closePool();
  }, 60_000);

  it('names a subsystem the server lacks (PSRP_SSH_SUBSYSTEM_FAILED) and a refused port (PSRP_CONNECTION_FAILED)', async () => {
    await expect(SshConnection.connect(opts({ subsystem: 'no-such-subsystem' }))).rejects.toMatchObject({
      code: 'PSRP_SSH_SUBSYSTEM_FAILED',
    });
    const closedPort = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const { port } = s.address() as { port: number };
        s.close(() => resolve(port));
      });
    });
    await expect(SshConnection.connect(opts({ port: closedPort }))).rejects.toMatchObject({
      code: 'PSRP_CONNECTION_FAILED',
    });
  }, 30_000);

  it('psrp exec runs a script over ssh:// (and --ssh user@host:port); an unknown host key exits 1 with the code', async () => {
    const exec = async (args: string[]): Promise<{ code: number; out: string; err: string }> => {
      const stdout = new PassThrough();
      const stderr = new PassThrough();
      let out = '';
      let err = '';
      stdout.on('data', (d: Buffer) => (out += d.toString()));
      stderr.on('data', (d: Buffer) => (err += d.toString()));
      const code = await runExec(args, { stdout, stderr, env: {} });
      return { code, out, err };
    };
    const keyFlags = ['--identity', sshd.clientKeyFile, '--known-hosts', sshd.knownHostsFile];
    const ok = await exec([
      `ssh://${sshd.username}@127.0.0.1:${sshd.port}`,
      ...keyFlags,
      '--format',
      'json',
      '--',
      '1 + 1; "over ssh"',
    ]);
    expect(ok.err).toBe('');
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.out)).toEqual([2, 'over ssh']);
    const empty = join(sshd.dir, 'known_hosts_cli');
    writeFileSync(empty, '');
    const refused = await exec([
      '--ssh',
      `${sshd.username}@127.0.0.1:${sshd.port}`,
      '--identity',
      sshd.clientKeyFile,
      '--known-hosts',
      empty,
      '--',
      '1',
    ]);
    expect(refused.code).toBe(1);
    expect(refused.err).toContain('PSRP_SSH_HOST_KEY_UNKNOWN');
    const bad = await exec(['ssh://a@b@c', '--', '1']);
    expect(bad.code).toBe(2);
  }, 60_000);

  it('copies a file there and back over SSH (copyTo / copyFrom, SHA-256 checked); the NoLanguage subsystem refuses before any data', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'psrp-ssh-xfer-'));
    const data = randomBytes(300_000);
    writeFileSync(join(dir, 'up.bin'), data);
    const pool = await RunspacePool.open({ ssh: opts() });
    try {
      const progress: number[] = [];
      const up = await pool.copyTo(join(dir, 'up.bin'), join(dir, 'remote.bin'), {
        onProgress: (p) => progress.push(p.bytes),
      });
      expect(up.bytes).toBe(data.length);
      expect(up.sha256).toBe(createHash('sha256').update(data).digest('hex'));
      expect(progress.at(-1)).toBe(data.length);
      expect(readFileSync(join(dir, 'remote.bin')).equals(data)).toBe(true);
      const down = await pool.copyFrom(join(dir, 'remote.bin'), join(dir, 'down.bin'));
      expect(down.bytes).toBe(data.length);
      expect(readFileSync(join(dir, 'down.bin')).equals(data)).toBe(true);
    } finally {
      await pool.close();
    }
    const jea = await RunspacePool.open({ ssh: opts({ subsystem: sshd.jeaSubsystem }) });
    try {
      await expect(jea.copyTo(join(dir, 'up.bin'), join(dir, 'never.bin'))).rejects.toMatchObject({
        code: 'PSRP_NOT_SUPPORTED',
      });
      expect(existsSync(join(dir, 'never.bin'))).toBe(false);
    } finally {
      await jea.close();
    }
  }, 120_000);

  it('says PSRP_SSH_UNAVAILABLE when the optional ssh2 package cannot be loaded', async () => {
    await expect(loadSsh2('ssh2-package-that-is-not-installed')).rejects.toMatchObject({
      code: 'PSRP_SSH_UNAVAILABLE',
    });
    expect(typeof (await loadSsh2()).Client).toBe('function');
  });
});
