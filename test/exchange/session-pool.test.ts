import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExchangeSessionPool, connectExchange } from '../../src/exchange/index.js';
import { startLab, type Lab } from '../../src/lab/lab-server.js';
import { requirePwsh } from '../helpers/pwsh.js';
import { COMMANDS_PER_SHELL_MESSAGE, quotaFaultEnvelope } from '../helpers/quota-fault.js';
import { parseResponse } from '../../src/wsman/index.js';

let lab: Lab;
beforeAll(async () => {
  requirePwsh();
  lab = await startLab({ mailboxCount: 20 });
}, 60_000);
afterAll(async () => {
  await lab?.close();
});

const base = () => ({ uri: lab.exchangeUrl, credential: { username: 'admin', password: lab.users['admin']! }, ca: lab.ca });
const reset = (): void => {
  Object.assign(lab.behaviours, { affinityCookie: 'set', maxShellsPerUser: 18, redirectToHost: undefined, rewrite401To400: false, requireSsl: true, idleTimeoutMs: undefined });
};

describe('ExchangeSessionPool (for bots)', () => {
  it('reuses at most maxSessions shells for many concurrent requests', async () => {
    reset();
    const pool = new ExchangeSessionPool({ ...base(), maxSessions: 2 });
    let peak = 0;
    const results = await Promise.all(
      Array.from({ length: 8 }, async () => {
        const r = await pool.invoke('Get-ExchangeServer');
        peak = Math.max(peak, lab.liveShells());
        return r;
      }),
    );
    expect(results.every((r) => r.output.length === 2)).toBe(true);
    expect(pool.counters.opened).toBe(2);
    expect(peak).toBeLessThanOrEqual(2);
    await pool.close();
    expect(lab.liveShells()).toBe(0);
  }, 120_000);

  it('replaces an expired session and retries the work', async () => {
    reset();
    const pool = new ExchangeSessionPool({ ...base(), maxSessions: 1 });
    const recovered: unknown[] = [];
    pool.on('recovered', (e) => recovered.push(e));
    expect((await pool.invoke('Get-Mailbox', { ResultSize: 3 })).output).toHaveLength(3);
    lab.behaviours.idleTimeoutMs = 300;
    await new Promise((r) => setTimeout(r, 1200));
    lab.behaviours.idleTimeoutMs = undefined;
    expect((await pool.invoke('Get-Mailbox', { ResultSize: 3 })).output).toHaveLength(3);
    expect(pool.counters.recovered).toBe(1);
    expect(recovered).toEqual([{ code: 'PSRP_WSMAN_SHELL_NOT_FOUND' }]);
    await pool.close();
  }, 120_000);

  it('backs off with jitter while Exchange throttles, then succeeds', async () => {
    reset();
    lab.behaviours.maxShellsPerUser = 1;
    const hog = await connectExchange(base());
    const pool = new ExchangeSessionPool({ ...base(), maxSessions: 1, backoffBaseMs: 200, throttleAttempts: 10 });
    const throttled: unknown[] = [];
    pool.on('throttled', (e) => throttled.push(e));
    setTimeout(() => void hog.close(), 1000);
    const r = await pool.invoke('Get-ExchangeServer');
    expect(r.output).toHaveLength(2);
    expect(pool.counters.throttled).toBeGreaterThan(0);
    expect(throttled.length).toBe(pool.counters.throttled);
    await pool.close();
    reset();
  }, 120_000);

  it('replaces a session whose shell reached MaxConcurrentCommandsPerShell and retries the work', async () => {
    reset();
    const pool = new ExchangeSessionPool({ ...base(), maxSessions: 1 });
    const recovered: unknown[] = [];
    pool.on('recovered', (e) => recovered.push(e));
    const shells: unknown[] = [];
    let calls = 0;
    const r = await pool.use(async (s) => {
      shells.push(s);
      if (calls++ === 0) {
        // What Windows answers the next Command on a shell that holds 1,000 unreleased commands.
        parseResponse(quotaFaultEnvelope('w:InternalError', 2150859241, COMMANDS_PER_SHELL_MESSAGE));
      }
      return s.invoke('Get-Mailbox', { ResultSize: 2 });
    });
    expect(r.output).toHaveLength(2);
    expect(recovered).toEqual([{ code: 'PSRP_WSMAN_COMMAND_QUOTA_EXCEEDED' }]);
    expect(shells).toHaveLength(2);
    expect(shells[0]).not.toBe(shells[1]);
    expect(pool.counters).toMatchObject({ opened: 2, recovered: 1 });
    await pool.close();
    await new Promise((res) => setTimeout(res, 200));
    expect(lab.liveShells()).toBe(0);
  }, 120_000);
});
