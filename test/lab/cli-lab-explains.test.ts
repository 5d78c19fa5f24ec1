/**
 * `psrp lab` explains itself (issue 13): --help prints usage without starting anything; no pwsh, a
 * port in use or a missing users file print one line (no stack trace) saying what to do; a started
 * lab prints a copy-paste `npx psrp exec` line that works; --state-dir keeps the same CA.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { runExec } from '../../src/cli/exec.js';
import { persistentCertificate } from '../../src/lab/cli.js';
import { requirePwsh } from '../helpers/pwsh.js';

const root = resolve(import.meta.dirname, '../..');

function psrp(
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
  until?: (out: string) => boolean,
): Promise<{ code: number | null; out: string; err: string; kill: () => Promise<number | null> }> {
  return new Promise((res, rej) => {
    // Node itself with tsx as an import hook, not the tsx command: that one runs the script in a child,
    // relays a signal to it and, when the child has not acknowledged it within 30 ms (a loaded machine
    // misses that), kills it and exits with 130 instead of the lab's own 0.
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
      env,
    });
    let out = '';
    let err = '';
    const exited = new Promise<number | null>((r) => child.on('exit', r));
    const kill = (): Promise<number | null> => {
      child.kill('SIGINT');
      return exited;
    };
    const t = setTimeout(() => rej(new Error(`psrp ${args.join(' ')}: no answer: ${out} ${err}`)), 90_000);
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (until?.(out)) {
        clearTimeout(t);
        res({ code: null, out, err, kill });
      }
    });
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    void exited.then((code) => {
      clearTimeout(t);
      res({ code, out, err, kill });
    });
  });
}

/** Splits a printed shell line (plain words and '…' quoting, as the lab prints). */
const words = (line: string): string[] =>
  [...line.matchAll(/'((?:[^']|'\\'')*)'|(\S+)/g)].map((m) =>
    m[1] !== undefined ? m[1].replace(/'\\''/g, "'") : m[2]!,
  );

describe('psrp lab explains itself', () => {
  it('--help prints usage and starts nothing; bad flags are usage errors', async () => {
    const help = await psrp(['lab', '--help']);
    expect(help.code).toBe(0);
    expect(help.out).toContain('usage: psrp lab [--port N] [--users FILE] [--state-dir DIR]');
    expect(help.out).not.toContain('CA file');
    const bad = await psrp(['lab', '--port', 'eighty']);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('--port needs a port number');
  }, 60_000);

  it('without pwsh it says how to install it, before starting', async () => {
    const home = mkdtempSync(join(tmpdir(), 'no-pwsh-home-'));
    const r = await psrp(['lab'], {
      HOME: home,
      PATH: `${dirname(process.execPath)}:/usr/bin:/bin`,
      PSRP_PWSH: '',
    });
    expect(r.code).toBe(1);
    expect(r.err).toContain('dotnet tool install --global PowerShell');
    expect(r.err).toContain('[PSRP_PWSH_NOT_FOUND]');
    expect(r.err).not.toMatch(/\n\s+at /); // no stack trace
    expect(r.out).toBe('');
  }, 60_000);

  it('a port in use and a missing users file are one line each', async () => {
    requirePwsh();
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const port = (blocker.address() as { port: number }).port;
    try {
      const inUse = await psrp(['lab', '--port', String(port)]);
      expect(inUse.code).toBe(1);
      expect(inUse.err.trim()).toBe(
        `psrp lab: port ${port} is in use: pick another with --port N, or leave --port out for a free one`,
      );
    } finally {
      blocker.close();
    }
    const users = await psrp(['lab', '--users', '/nonexistent/users.json']);
    expect(users.code).toBe(1);
    expect(users.err.trim()).toMatch(
      /^psrp lab: cannot read the users file \/nonexistent\/users\.json \(ENOENT\)/,
    );
  }, 120_000);

  it('prints an npx psrp exec line that works, and --state-dir keeps the CA across runs', async () => {
    requirePwsh();
    const stateDir = mkdtempSync(join(tmpdir(), 'lab-state-'));
    const first = await persistentCertificate(stateDir);
    expect((await persistentCertificate(stateDir)).ca).toBe(first.ca);
    const lab = await psrp(['lab', '--state-dir', stateDir], process.env, (o) => o.includes('Ctrl+C'));
    try {
      expect(readFileSync(join(stateDir, 'ca.pem'), 'utf8')).toBe(first.ca);
      const line = lab.out.split('\n').find((l) => l.trim().startsWith('npx psrp exec '))!;
      expect(line).toBeDefined();
      expect(lab.out).not.toContain('npm start');
      const args = words(line.trim()).slice(3); // drop npx psrp exec
      expect(args).toContain('--ca');
      const stdout = new PassThrough();
      const stderr = new PassThrough();
      let out = '';
      stdout.on('data', (d: Buffer) => (out += d.toString()));
      stderr.resume();
      const code = await runExec(args, { stdout, stderr, env: {} });
      expect(code).toBe(0);
      expect((JSON.parse(out) as unknown[]).length).toBe(5);
    } finally {
      expect(await lab.kill()).toBe(0);
    }
  }, 150_000);
});
