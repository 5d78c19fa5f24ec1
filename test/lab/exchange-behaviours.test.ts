import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLab, type Lab } from '../../src/lab/lab-server.js';
import { RunspacePool, type RunspacePoolOptions } from '../../src/index.js';
import { requirePwsh } from '../helpers/pwsh.js';

let lab: Lab;
beforeAll(async () => {
  requirePwsh();
  lab = await startLab({ mailboxCount: 50 });
}, 60_000);
afterAll(async () => {
  await lab?.close();
});

const opts = (extra: Partial<RunspacePoolOptions> = {}): RunspacePoolOptions => ({
  uri: lab.exchangeUrl,
  configurationName: 'Microsoft.Exchange',
  auth: { username: 'admin', password: lab.users['admin']! },
  ca: lab.ca,
  ...extra,
});
const reset = (): void => {
  Object.assign(lab.behaviours, { affinityCookie: 'set', maxShellsPerUser: 18, redirectToHost: undefined, rewrite401To400: false, requireSsl: true, idleTimeoutMs: undefined });
};

describe('lab Exchange behaviours the client must survive', () => {
  it('affinity: the MS-WSMAN cookie is replayed; losing it gives invalid selectors', async () => {
    reset();
    lab.behaviours.affinityCookie = 'required';
    const pool = await RunspacePool.open(opts());
    try {
      expect((await pool.powershell().addCommand('Get-ExchangeServer').invoke()).output).toHaveLength(2); // cookie sent back
      lab.loseAffinity();
      await expect(pool.powershell().addCommand('Get-ExchangeServer').invoke()).rejects.toMatchObject({ code: 'PSRP_WSMAN_SHELL_NOT_FOUND', wsmanFaultCode: 2150858843 });
    } finally {
      // With the affinity lost even Delete cannot reach the shell (it would leak until it expires,
      // as on Exchange); let the lab accept it again so the test leaves nothing behind.
      lab.behaviours.affinityCookie = 'set';
      await pool.close();
    }
    expect(lab.liveShells()).toBe(0);
  }, 60_000);

  it('throttling: beyond the per-user limit, Create fails with Exchange\'s text', async () => {
    reset();
    lab.behaviours.maxShellsPerUser = 2;
    const a = await RunspacePool.open(opts());
    const b = await RunspacePool.open(opts());
    const err = await RunspacePool.open(opts()).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'PSRP_WSMAN_QUOTA_EXCEEDED' });
    expect((err as Error).message).toContain('you have exceeded the maximum number of connections allowed : 2 for the policy party : MaxConcurrency');
    await a.close();
    const c = await RunspacePool.open(opts()); // a slot is free again once a shell is deleted
    await Promise.all([b.close(), c.close()]);
    expect(lab.liveShells()).toBe(0);
  }, 60_000);

  it('redirect: refused without allowRedirection, followed with it', async () => {
    reset();
    lab.behaviours.redirectToHost = '127.0.0.1';
    await expect(RunspacePool.open(opts())).rejects.toMatchObject({ code: 'PSRP_REDIRECT_NOT_ALLOWED' });
    const pool = await RunspacePool.open(opts({ allowRedirection: true }));
    expect((await pool.powershell().addCommand('Get-ExchangeServer').invoke()).output).toHaveLength(2);
    await pool.close();
    expect(lab.liveShells()).toBe(0);
  }, 60_000);

  it('401 rewritten to 400 and Require SSL (403) give the field guide\'s hints', async () => {
    reset();
    lab.behaviours.rewrite401To400 = true;
    const bad = await RunspacePool.open(opts({ auth: { username: 'admin', password: 'nope' } })).catch((e: unknown) => e);
    expect(bad).toMatchObject({ code: 'PSRP_HTTP_BAD_REQUEST', statusCode: 400 });
    expect((bad as { responseExcerpt: string }).responseExcerpt).toContain('FailureCategory=Auth-401');
    expect((bad as { hint: string }).hint).toMatch(/401 and 404 into 400/);
    const http = await RunspacePool.open(opts({ uri: `${lab.httpOrigin}/PowerShell/`, allowUnencrypted: true })).catch((e: unknown) => e);
    expect(http).toMatchObject({ code: 'PSRP_HTTP_FORBIDDEN', statusCode: 403 });
    expect((http as { hint: string }).hint).toMatch(/Require SSL/);
  }, 60_000);

  it('idle expiry: an expired shell answers invalid selectors and is gone', async () => {
    reset();
    lab.behaviours.idleTimeoutMs = 800;
    const pool = await RunspacePool.open(opts());
    await new Promise((r) => setTimeout(r, 2000));
    expect(lab.liveShells()).toBe(0);
    await expect(pool.powershell().addCommand('Get-ExchangeServer').invoke()).rejects.toMatchObject({ code: 'PSRP_WSMAN_SHELL_NOT_FOUND' });
    await pool.close(); // Delete of a gone shell is not an error
  }, 60_000);
});
