import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RunspacePool } from '../../src/index.js';
import { requirePwsh } from '../helpers/pwsh.js';
import { readFileSync } from 'node:fs';
import { connectExchangeOnline } from '../../src/exchange/index.js';

const root = resolve(import.meta.dirname, '../..');

describe('psrp lab (the CLI)', () => {
  it('starts, prints how to connect, serves a real client, and stops on SIGINT', async () => {
    requirePwsh();
    // Node itself with tsx as an import hook, not the tsx command: that one runs the script in a child,
    // relays a signal to it and, when the child has not acknowledged it within 30 ms (a loaded machine
    // misses that), kills it and exits with 130 instead of the lab's own 0.
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'lab'], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.setEncoding('utf8');
    await new Promise<void>((res, rej) => {
      const t = setTimeout(() => rej(new Error(`lab did not start: ${out}`)), 60_000);
      child.stdout.on('data', (d: string) => {
        out += d;
        if (out.includes('Ctrl+C stops it')) {
          clearTimeout(t);
          res();
        }
      });
    });
    const url = /Exchange-like (\S+)/.exec(out)![1]!;
    const ca = readFileSync(/CA file\s+(\S+)/.exec(out)![1]!, 'utf8');
    const pool = await RunspacePool.open({
      uri: url,
      configurationName: 'Microsoft.Exchange',
      auth: { username: 'admin', password: 'Passw0rd!' },
      ca,
    });
    expect((await pool.powershell().addCommand('Get-ExchangeServer').invoke()).output).toHaveLength(2);
    await pool.close();
    // The Exchange Online surface, with the token the lab printed.
    const token = /PSRP_EXO_TOKEN=(\S+)/.exec(out)![1]!;
    await using exo = await connectExchangeOnline({
      tenantId: /exo:\/\/(\S+)/.exec(out)![1]!,
      baseUrl: /--base-url (\S+)/.exec(out)![1]!,
      ca,
      token: () => token,
    });
    expect((await exo.invoke('Get-Mailbox', { ResultSize: 1 })).output).toHaveLength(1);
    child.kill('SIGINT');
    const code = await new Promise<number | null>((res) => child.on('exit', res));
    expect(code).toBe(0);
  }, 120_000);

  it('prints usage for an unknown command', async () => {
    const child = spawn(resolve(root, 'node_modules/.bin/tsx'), ['src/cli/main.ts', 'nope'], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const code = await new Promise<number | null>((res) => child.on('exit', res));
    expect(code).toBe(2);
    expect(out).toContain('usage: psrp <command>');
  }, 30_000);
});

describe('psrp (the command)', () => {
  it('lists its subcommands and dispatches to them', async () => {
    const tsx = resolve(root, 'node_modules/.bin/tsx');
    const runMain = (args: string[]): Promise<{ code: number | null; out: string; err: string }> =>
      new Promise((res) => {
        const child = spawn(tsx, ['src/cli/main.ts', ...args], {
          cwd: root,
          stdio: ['ignore', 'pipe', 'pipe'],
          env: { ...process.env, PSRP_USER: '', PSRP_PASSWORD: '' },
        });
        let out = '';
        let err = '';
        child.stdout.on('data', (d: Buffer) => (out += d.toString()));
        child.stderr.on('data', (d: Buffer) => (err += d.toString()));
        child.on('exit', (code) => res({ code, out, err }));
      });
    const help = await runMain(['--help']);
    expect(help.code).toBe(0);
    for (const c of ['exec', 'diagnose', 'shell', 'import', 'lab'])
      expect(help.out).toMatch(new RegExp(`^  ${c} `, 'm'));
    const [diagnose, shell, imp] = await Promise.all([
      runMain(['diagnose']),
      runMain(['shell']),
      runMain(['import', 'cas']),
    ]);
    expect([diagnose.code, shell.code, imp.code]).toEqual([2, 2, 2]);
    expect(diagnose.err).toContain('usage: psrp diagnose');
    expect(shell.err).toContain('usage: psrp shell');
    expect(imp.err).toContain('usage: psrp import');
  }, 60_000);
});
