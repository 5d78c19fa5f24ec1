/**
 * Disconnect, reconnect and connect end to end against the lab (real pwsh behind WS-Man), shaped
 * like Windows' answers in shared/fixtures/windows-recordings (test_psrp_disconnect_runspaces,
 * test_psrp_disconnected_commands, test_psrp_is_alive_*).
 */
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLab, type Lab } from '../../src/lab/lab-server.js';
import {
  OutOfProcConnection,
  RunspacePool,
  WSManFaultError,
  type RunspacePoolOptions,
} from '../../src/index.js';
import { requirePwsh } from '../helpers/pwsh.js';

const root = resolve(import.meta.dirname, '../..');
let lab: Lab;
beforeAll(async () => {
  requirePwsh();
  lab = await startLab();
}, 60_000);
afterAll(async () => {
  await lab?.close();
});

const options = (user = 'admin', extra: Partial<RunspacePoolOptions> = {}): RunspacePoolOptions => ({
  uri: lab.url,
  auth: { username: user, password: lab.users[user]! },
  ca: lab.ca,
  ...extra,
});

const until = async (what: () => boolean, ms = 20_000): Promise<void> => {
  const end = Date.now() + ms;
  while (!what()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 100));
  }
};

describe('disconnected sessions against the lab', () => {
  it('disconnects and reconnects on the same client, a pipeline running throughout', async () => {
    const pool = await RunspacePool.open(options());
    try {
      // Output written while disconnected is kept by the server and arrives after reconnect().
      const running = pool
        .powershell()
        .addScript(
          'Start-Sleep -Milliseconds 600; 1..5 | ForEach-Object { "n$_"; Start-Sleep -Milliseconds 150 }',
        )
        .invoke();
      await new Promise((r) => setTimeout(r, 300));
      await pool.disconnect();
      expect(pool.state).toBe('Disconnected');
      const listed = await RunspacePool.listShells(options());
      expect(listed.find((s) => s.shellId === pool.id.toUpperCase())?.state).toBe('Disconnected');
      await expect(pool.powershell().addScript('1').invoke()).rejects.toMatchObject({
        code: 'PSRP_INVALID_STATE',
      });
      await new Promise((r) => setTimeout(r, 1800)); // the script finishes while nobody listens
      await pool.reconnect();
      expect(pool.state).toBe('Opened');
      const r = await running;
      expect(r.output).toEqual(['n1', 'n2', 'n3', 'n4', 'n5']);
      expect(r.state).toBe('Completed');
      expect((await pool.powershell().addScript('"again"').invoke()).output).toEqual(['again']);
      expect(
        (await RunspacePool.listShells(options())).find((s) => s.shellId === pool.id.toUpperCase())?.state,
      ).toBe('Connected');
    } finally {
      await pool.close();
    }
    expect(lab.liveShells()).toBe(0);
  }, 60_000);

  it("lists only the caller's shells, and refuses another user's shell as not found", async () => {
    const mine = await RunspacePool.open(options('admin'));
    const theirs = await RunspacePool.open(options('helpdesk'));
    try {
      const listed = await RunspacePool.listShells(options('admin'));
      expect(listed.map((s) => s.shellId)).toEqual([mine.id.toUpperCase()]);
      expect(listed[0]).toMatchObject({
        configurationName: 'Microsoft.PowerShell',
        owner: 'admin',
        state: 'Connected',
        idleTimeout: expect.stringMatching(/^PT\d+\.\d{3}S$/) as unknown,
        shellRunTime: expect.stringMatching(/^P0DT0H\d+M\d+S$/) as unknown,
      });
      await expect(RunspacePool.connect({ ...options('admin'), shellId: theirs.id })).rejects.toMatchObject({
        code: 'PSRP_WSMAN_SHELL_NOT_FOUND',
      });
      expect(theirs.state).toBe('Opened');
      expect((await theirs.powershell().addScript('"still mine"').invoke()).output).toEqual(['still mine']);
    } finally {
      await mine.close();
      await theirs.close();
    }
  }, 60_000);

  it('a bot restarted mid-command picks up its results: process A disconnects and exits, process B connects and receives everything', async () => {
    const script =
      'Start-Sleep -Milliseconds 1500; foreach ($i in 1..6) { "line $i"; Start-Sleep -Milliseconds 200 }; Write-Warning "done"';
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/helpers/disconnect-child.ts', script], {
      cwd: root,
      env: {
        ...process.env,
        PSRP_LAB_URL: lab.url,
        PSRP_LAB_PASSWORD: lab.users['admin']!,
        PSRP_LAB_CA: lab.ca,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((res) => child.on('exit', res));
    expect(err).toBe('');
    expect(code).toBe(0);
    const a = JSON.parse(out) as { shellId: string; state: string };
    expect(a.state).toBe('Disconnected');
    // A is gone; its shell and its pipeline live on.
    expect(lab.liveShells()).toBe(1);
    const shells = await RunspacePool.listShells(options());
    expect(shells).toEqual([expect.objectContaining({ shellId: a.shellId, state: 'Disconnected' })]);
    const commands = await RunspacePool.listCommands({ ...options(), shellId: a.shellId });
    expect(commands).toHaveLength(1);
    await new Promise((r) => setTimeout(r, 1500)); // some output is written while no client is attached
    const pool = await RunspacePool.connect({ ...options(), shellId: a.shellId });
    try {
      expect(pool.state).toBe('Opened');
      expect(pool.maxRunspaces).toBe(1);
      const r = await pool.connectPipeline(commands[0]!).invoke();
      expect(r.output).toEqual(['line 1', 'line 2', 'line 3', 'line 4', 'line 5', 'line 6']);
      expect(r.warnings.map((w) => w.message)).toEqual(['done']);
      expect(r.state).toBe('Completed');
      // The connected pool is this client's now: it runs new pipelines too.
      expect((await pool.powershell().addScript('$PSVersionTable.PSVersion.Major').invoke()).output).toEqual([
        7,
      ]);
      // Another client cannot take it over while it is connected here (MS-WSMV 3.1.4.17: InternalError).
      await expect(RunspacePool.connect({ ...options(), shellId: a.shellId })).rejects.toBeInstanceOf(
        WSManFaultError,
      );
      expect(lab.liveShells()).toBe(1);
    } finally {
      await pool.close();
    }
    expect(lab.liveShells()).toBe(0);
  }, 90_000);

  it('deletes a disconnected shell when its idle timeout expires', async () => {
    const pool = await RunspacePool.open(options());
    await pool.disconnect({ idleTimeoutSeconds: 1 });
    expect(lab.liveShells()).toBe(1);
    await until(() => lab.liveShells() === 0, 15_000);
    await expect(pool.reconnect()).rejects.toMatchObject({ code: 'PSRP_WSMAN_SHELL_NOT_FOUND' });
    await pool.close();
    expect(await RunspacePool.listShells(options())).toEqual([]);
  }, 60_000);

  it('says what cannot be done: no shell to connect to, no disconnecting a child pwsh', async () => {
    await expect(
      RunspacePool.connect({ ...options(), shellId: '0B1F4C2E-5D7A-4E8B-9C0D-1E2F3A4B5C6D' }),
    ).rejects.toMatchObject({
      code: 'PSRP_WSMAN_SHELL_NOT_FOUND',
    });
    expect(lab.liveShells()).toBe(0);
    const local = await RunspacePool.open({ connection: new OutOfProcConnection() });
    try {
      await expect(local.disconnect()).rejects.toMatchObject({ code: 'PSRP_NOT_SUPPORTED' });
      expect(() => local.connectPipeline('0B1F4C2E-5D7A-4E8B-9C0D-1E2F3A4B5C6D')).toThrow(
        expect.objectContaining({ code: 'PSRP_NOT_SUPPORTED' }) as Error,
      );
    } finally {
      await local.close();
    }
    await expect(RunspacePool.listShells({ connection: new OutOfProcConnection() })).rejects.toMatchObject({
      code: 'PSRP_NOT_SUPPORTED',
    });
  }, 60_000);
});
