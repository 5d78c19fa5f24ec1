// `psrp shells` against the lab: the listing, connecting to a disconnected shell and printing what
// its pipeline wrote, --leave, and usage errors.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runShells } from '../../src/cli/shells.js';
import { startLab, type Lab } from '../../src/lab/lab-server.js';
import { RunspacePool, type ShellInfo } from '../../src/index.js';
import { requirePwsh } from '../helpers/pwsh.js';

let lab: Lab;
let caFile: string;
beforeAll(async () => {
  requirePwsh();
  lab = await startLab();
  caFile = join(mkdtempSync(join(tmpdir(), 'shells-ca-')), 'ca.pem');
  writeFileSync(caFile, lab.ca);
}, 60_000);
afterAll(async () => {
  await lab?.close();
});

async function shells(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d: Buffer) => (out += d.toString()));
  stderr.on('data', (d: Buffer) => (err += d.toString()));
  const code = await runShells(args, {
    stdout,
    stderr,
    env: { PSRP_USER: 'admin', PSRP_PASSWORD: lab.users['admin']! },
  });
  return { code, out, err };
}

/** A client that starts `script`, disconnects while it runs and goes away, leaving the shell. */
async function leaveRunning(script: string): Promise<string> {
  const pool = await RunspacePool.open({
    uri: lab.url,
    auth: { username: 'admin', password: lab.users['admin']! },
    ca: lab.ca,
  });
  pool
    .powershell()
    .addScript(script)
    .invoke()
    .catch(() => undefined);
  await new Promise((r) => setTimeout(r, 700));
  await pool.disconnect();
  await pool.close();
  return pool.id.toUpperCase();
}

describe('psrp shells against the lab', () => {
  it('lists the disconnected shell, connects to it, prints its output and deletes it', async () => {
    const id = await leaveRunning('Start-Sleep -Milliseconds 1200; "first"; "second"');
    const listed = await shells([lab.url, '--ca', caFile, '--format', 'json']);
    expect(listed.code).toBe(0);
    expect(JSON.parse(listed.out) as ShellInfo[]).toEqual([
      expect.objectContaining({ shellId: id, state: 'Disconnected', owner: 'admin' }),
    ]);
    const table = await shells([lab.url, '--ca', caFile, '--format', 'table']);
    expect(table.out).toMatch(/ShellId\s+.*State/);
    expect(table.out).toContain(id);
    expect(table.out).toContain('Disconnected');
    const connected = await shells([lab.url, '--ca', caFile, '--format', 'table', '--connect', id]);
    expect(connected.err).toBe('');
    expect(connected.out).toBe('first\nsecond\n');
    expect(connected.code).toBe(0);
    expect(lab.liveShells()).toBe(0);
    const empty = await shells([lab.url, '--ca', caFile, '--format', 'table']);
    expect(empty.err).toContain('No shells of yours');
  }, 90_000);

  it('--command picks the pipeline and --leave disconnects the shell again', async () => {
    const id = await leaveRunning('Start-Sleep -Milliseconds 800; 41 + 1');
    const commands = await RunspacePool.listCommands({
      uri: lab.url,
      auth: { username: 'admin', password: lab.users['admin']! },
      ca: lab.ca,
      shellId: id,
    });
    const left = await shells([
      lab.url,
      '--ca',
      caFile,
      '--format',
      'json',
      '--connect',
      id,
      '--command',
      commands[0]!,
      '--leave',
      '--idle-timeout',
      '60',
    ]);
    expect(left.code).toBe(0);
    expect(JSON.parse(left.out)).toMatchObject({ commandId: commands[0]!, state: 'Completed', output: [42] });
    expect(left.err).toContain('disconnected on the server');
    expect(lab.liveShells()).toBe(1);
    const again = await shells([lab.url, '--ca', caFile, '--format', 'json']);
    expect(JSON.parse(again.out) as ShellInfo[]).toEqual([
      expect.objectContaining({ shellId: id, state: 'Disconnected', idleTimeout: 'PT60.000S' }),
    ]);
    // Connecting without --leave deletes it.
    expect((await shells([lab.url, '--ca', caFile, '--connect', id])).code).toBe(0);
    expect(lab.liveShells()).toBe(0);
  }, 90_000);

  it('refuses bad usage and says why a connect failed', async () => {
    expect((await shells([])).code).toBe(2);
    const help = await shells(['--help']);
    expect(help.code).toBe(0);
    expect(help.out).toContain('--connect <shellId>');
    expect((await shells([lab.url, '--connect', 'nope'])).err).toContain('--connect takes a shell id');
    expect((await shells([lab.url, '--command', '0B1F4C2E-5D7A-4E8B-9C0D-1E2F3A4B5C6D'])).code).toBe(2);
    expect((await shells([lab.url, '--format', 'csv'])).code).toBe(2);
    const missing = await shells([
      lab.url,
      '--ca',
      caFile,
      '--connect',
      '0B1F4C2E-5D7A-4E8B-9C0D-1E2F3A4B5C6D',
    ]);
    expect(missing.code).toBe(1);
    expect(missing.err).toMatch(/psrp shells: .*(invalid selectors|no longer exists)/i);
  }, 60_000);
});
