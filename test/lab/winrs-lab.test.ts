// Live: WinRSShell against the lab's cmd shell resource on /wsman (HTTPS + Basic). The lab runs the
// command line through /bin/sh where Windows uses cmd.exe (docs/lab.md), and with skipCmdShell
// splits the arguments by the Windows rules, so these tests also check our quoting end to end.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, realpathSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLab, type Lab } from '../../src/lab/lab-server.js';
import { AuthenticationError, WinRSShell, WSManFaultError, type WinRSShellOptions } from '../../src/index.js';

let lab: Lab;
beforeAll(async () => {
  lab = await startLab();
}, 60_000);
afterAll(async () => {
  await lab?.close();
});

const options = (extra: Partial<WinRSShellOptions> = {}): WinRSShellOptions => ({
  uri: lab.url,
  auth: { username: 'admin', password: lab.users['admin']! },
  ca: lab.ca,
  ...extra,
});

describe('WinRS against the lab', () => {
  it('runs processes: stdout, stderr, exit codes, several on one shell; the shell is deleted', async () => {
    const shell = await WinRSShell.open(options());
    expect(lab.liveShells()).toBe(1);
    const hi = await shell.run('echo', ['hi']);
    expect(hi).toMatchObject({ exitCode: 0, stdout: 'hi\n', stderr: '' });
    const rc = await shell.run('echo out; echo err >&2; exit 3', [], { quoteArguments: false });
    expect(rc).toMatchObject({ exitCode: 3, stdout: 'out\n', stderr: 'err\n' });
    await shell.close();
    expect(lab.liveShells()).toBe(0);
  });

  it('arguments reach the program exactly (Windows quoting, skipCmdShell)', async () => {
    await using shell = await WinRSShell.open(options());
    const args = [
      'plain',
      'two words',
      '',
      'say "hi"',
      'C:\\Program Files\\',
      'a\\\\"b',
      '&|<>^%PATH%',
      'こんにちは',
    ];
    const r = await shell.run('printf', ['%s\\n', ...args], { skipCmdShell: true });
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toBe(args.map((a) => `${a}\n`).join(''));
  });

  it('stdin, environment, working directory, noProfile', async () => {
    const dir = realpathSync(mkdtempSync(join(tmpdir(), 'winrs-cwd-')));
    await using shell = await WinRSShell.open(
      options({
        environment: { GREETING: 'héllo wörld', '1234': '5678' },
        workingDirectory: dir,
        noProfile: true,
      }),
    );
    const p = await shell.start('cat');
    await p.write('line 1\n');
    await p.write('line 2\n', { end: true });
    expect((await p.wait()).stdout).toBe('line 1\nline 2\n');
    const env = await shell.run('echo "$GREETING|$(pwd)|${USERPROFILE-none}"', [], { quoteArguments: false });
    expect(env.stdout).toBe(`héllo wörld|${dir}|none\n`);
    expect((await shell.run('env', [], { skipCmdShell: true })).stdout.split('\n')).toContain('1234=5678');
  });

  it('code page 437 output is decoded with the OEM table; 65001 is UTF-8', async () => {
    await using oem = await WinRSShell.open(options({ codepage: 437 }));
    const r = await oem.run('printf', ['é╔'], { skipCmdShell: true });
    expect([...r.stdoutBytes]).toEqual([0x82, 0xc9]);
    expect(r.stdout).toBe('é╔');
    await using utf8 = await WinRSShell.open(options());
    expect((await utf8.run('echo', ['こんにちは'])).stdout).toBe('こんにちは\n');
  });

  it('Receive is polled again after operation timeouts, and output streams as it comes', async () => {
    await using shell = await WinRSShell.open(options({ operationTimeoutSeconds: 1 }));
    const before = lab.requestCounts.get('Receive') ?? 0;
    const p = await shell.start('echo first; sleep 2.5; echo second', [], { quoteArguments: false });
    const seen: string[] = [];
    for await (const t of p.text()) seen.push(t.text);
    expect(seen).toEqual(['first\n', 'second\n']);
    expect(p.exitCode).toBe(0);
    expect((lab.requestCounts.get('Receive') ?? 0) - before).toBeGreaterThanOrEqual(3);
    await p.close();
  });

  it('large output arrives whole, in many Receives (the lab holds at most 1 MiB for a slow reader)', async () => {
    await using shell = await WinRSShell.open(options());
    const before = lab.requestCounts.get('Receive') ?? 0;
    const r = await shell.run('head -c 3000000 /dev/zero | tr "\\0" x; echo; echo done >&2', [], {
      quoteArguments: false,
    });
    expect(r.exitCode).toBe(0);
    expect(r.stdoutBytes.length).toBe(3_000_001);
    expect(r.stdout.slice(0, 10)).toBe('xxxxxxxxxx');
    expect(r.stderr).toBe('done\n');
    expect((lab.requestCounts.get('Receive') ?? 0) - before).toBeGreaterThanOrEqual(46);
  });

  it('ctrl_c interrupts a running process (exit code STATUS_CONTROL_C_EXIT); terminate releases it', async () => {
    await using shell = await WinRSShell.open(options());
    const p = await shell.start('sleep', ['30'], { skipCmdShell: true });
    const started = Date.now();
    await p.signal('ctrl_c');
    const r = await p.wait();
    expect(r.exitCode).toBe(-1073741510);
    expect(Date.now() - started).toBeLessThan(20_000);
    const err = await shell.receive(p.commandId).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WSManFaultError);
    expect((err as WSManFaultError).code).toBe('PSRP_WSMAN_SHELL_NOT_FOUND');
  });

  it('typed faults: a missing executable, an unknown command id; a deleted shell', async () => {
    const shell = await WinRSShell.open(options());
    const missing = await shell.run('/no/such/program', [], { skipCmdShell: true }).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(WSManFaultError);
    expect((missing as WSManFaultError).wsmanFaultCode).toBe(2147942402);
    const bad = await shell.receive('87e77beb-6761-4c48-9d70-a00266b8459a').catch((e: unknown) => e);
    expect((bad as WSManFaultError).code).toBe('PSRP_WSMAN_SHELL_NOT_FOUND');
    const noCmd = await shell.receive(null).catch((e: unknown) => e);
    expect((noCmd as WSManFaultError).wsmanFaultCode).toBe(87);
    lab.expireShellsNow();
    const gone = await shell.run('echo', ['x']).catch((e: unknown) => e);
    expect((gone as WSManFaultError).code).toBe('PSRP_WSMAN_SHELL_NOT_FOUND');
    await shell.close();
  });

  it('needs authentication; the Exchange endpoint has no cmd shell', async () => {
    const unauth = await WinRSShell.open(options({ auth: { username: 'admin', password: 'wrong' } })).catch(
      (e: unknown) => e,
    );
    expect(unauth).toBeInstanceOf(AuthenticationError);
    const ex = await WinRSShell.open(options({ uri: lab.exchangeUrl })).catch((e: unknown) => e);
    expect((ex as WSManFaultError).code).toBe('PSRP_WSMAN_RESOURCE_NOT_FOUND');
    expect(lab.liveShells()).toBe(0);
  });
});
