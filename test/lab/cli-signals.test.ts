// Ctrl-C and SIGTERM in the CLI (src/cli/interrupts.ts), against the lab with the real `psrp`
// process: the pipeline is stopped and the shell deleted before the exit (130 / 143); in `psrp
// shell` the first Ctrl-C only stops the running command and the prompt keeps working. The command
// is held mid-run by stalling its next Receive (a one-shot lab fault), so the interrupt always
// lands while the pipeline runs.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { noFaults, startLab, type Lab } from '../../src/lab/lab-server.js';
import { requirePwsh } from '../helpers/pwsh.js';

const root = resolve(import.meta.dirname, '../..');
let lab: Lab;
let ca: string;
beforeAll(async () => {
  requirePwsh();
  lab = await startLab({ mailboxCount: 2000 });
  const dir = mkdtempSync(join(tmpdir(), 'cli-signals-'));
  ca = join(dir, 'ca.pem');
  writeFileSync(ca, lab.ca);
}, 60_000);
afterAll(async () => {
  await lab?.close();
});
afterEach(() => {
  Object.assign(lab.behaviours.faults, noFaults());
});

interface Run {
  readonly child: ChildProcessWithoutNullStreams;
  out(): string;
  err(): string;
  readonly exited: Promise<number | null>;
}
function psrp(...args: string[]): Run {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
    cwd: root,
    env: { ...process.env, PSRP_USER: 'admin', PSRP_PASSWORD: lab.users['admin']!, NO_COLOR: '1' },
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return { child, out: () => out, err: () => err, exited };
}
async function until(what: string, test: () => boolean, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!test()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
/** Holds the command's next Receive for 8 s, once its Command reached the lab. */
async function stallOnceCommandStarts(commandsBefore: number): Promise<void> {
  await until('the Command', () => (lab.requestCounts.get('Command') ?? 0) > commandsBefore);
  Object.assign(lab.behaviours.faults, { stallNextMs: 8000, stallAction: 'Receive' });
  const stalls = lab.firedFaults.get('stallNextMs') ?? 0;
  await until('the stalled Receive', () => (lab.firedFaults.get('stallNextMs') ?? 0) > stalls);
}

describe('psrp exec: Ctrl-C and SIGTERM', () => {
  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    it(`${signal} mid-command stops the pipeline, deletes the shell, exits ${code}`, async () => {
      const signals = lab.requestCounts.get('Signal') ?? 0;
      const run = psrp(
        'exec',
        lab.exchangeUrl,
        '--ca',
        ca,
        '--format',
        'jsonl',
        '--',
        'Get-Mailbox -ResultSize Unlimited',
      );
      await stallOnceCommandStarts(lab.requestCounts.get('Command') ?? 0);
      expect(lab.liveShells()).toBe(1);
      run.child.kill(signal);
      expect(await run.exited).toBe(code);
      expect(run.err()).toContain('interrupted');
      expect(lab.liveShells()).toBe(0);
      expect(lab.requestCounts.get('Signal') ?? 0).toBeGreaterThan(signals); // the PSRP stop
    }, 120_000);
  }

  it('a second Ctrl-C within 2 s exits at once, after a bounded Delete', async () => {
    const run = psrp(
      'exec',
      lab.exchangeUrl,
      '--ca',
      ca,
      '--format',
      'jsonl',
      '--',
      'Get-Mailbox -ResultSize Unlimited',
    );
    await stallOnceCommandStarts(lab.requestCounts.get('Command') ?? 0);
    // The stop itself is held too: only the forced exit can end the process soon.
    Object.assign(lab.behaviours.faults, { stallNextMs: 60_000, stallAction: 'Signal' });
    run.child.kill('SIGINT');
    await new Promise((r) => setTimeout(r, 300));
    const t0 = Date.now();
    run.child.kill('SIGINT');
    expect(await run.exited).toBe(130);
    expect(Date.now() - t0).toBeLessThan(15_000);
    await until('the shell deleted', () => lab.liveShells() === 0, 10_000);
  }, 120_000);
});

describe('psrp shell: Ctrl-C', () => {
  it('Ctrl-C during a command stops it; the session survives and the next command runs; SIGTERM leaves with 143', async () => {
    const run = psrp('shell', lab.exchangeUrl, '--ca', ca, '--history', '');
    await until('the prompt', () => run.out().includes('PS> '));
    const commands = lab.requestCounts.get('Command') ?? 0;
    run.child.stdin.write('Get-Mailbox -ResultSize Unlimited\n');
    await stallOnceCommandStarts(commands);
    run.child.kill('SIGINT');
    await until('the stop', () => run.err().includes('pipeline stopped'));
    expect(lab.liveShells()).toBe(1);
    // Ctrl-C at the prompt does not leave either.
    await new Promise((r) => setTimeout(r, 2500));
    run.child.kill('SIGINT');
    await until('a new prompt', () => run.out().includes('^C'));
    const before = run.out().length;
    run.child.stdin.write('Get-Recipient -ResultSize 1\n');
    await until('the next command', () => /Alice|Smith/.test(run.out().slice(before)), 60_000).catch(
      (e: Error) => {
        throw new Error(`${e.message}\nstdout: ${run.out().slice(-2000)}\nstderr: ${run.err().slice(-2000)}`);
      },
    );
    run.child.kill('SIGTERM');
    expect(await run.exited).toBe(143);
    expect(lab.liveShells()).toBe(0);
  }, 180_000);
});
