/**
 * Fault injection: the lab's one-shot faults (lab.behaviours.faults, docs/lab.md) against the
 * public client over HTTPS. Each fault must surface as a typed error with a documented code, or be
 * recovered from as docs/troubleshooting.md says; and no path may leave a shell behind.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { noFaults, startLab, type Lab } from '../../src/lab/lab-server.js';
import {
  HttpTransport,
  RunspacePool,
  TransportError,
  type PsrpError,
  type RunspacePoolOptions,
  type WSManTransport,
} from '../../src/index.js';
import { ExchangeSessionPool } from '../../src/exchange/exchange-session-pool.js';
import { requirePwsh } from '../helpers/pwsh.js';

let lab: Lab;
beforeAll(async () => {
  requirePwsh();
  lab = await startLab({ mailboxCount: 20 });
}, 60_000);
afterAll(async () => {
  await lab?.close();
});
beforeEach(() => {
  Object.assign(lab.behaviours.faults, noFaults());
  lab.behaviours.affinityCookie = 'set';
});

const opts = (extra: Partial<RunspacePoolOptions> = {}): RunspacePoolOptions => ({
  uri: lab.url,
  auth: { username: 'admin', password: lab.users['admin']! },
  ca: lab.ca,
  operationTimeoutSeconds: 2,
  ...extra,
});

/** Resolves with the error `p` rejects with (fails the test if it resolves). */
async function failure(p: Promise<unknown>): Promise<PsrpError> {
  return p.then(
    (v) => {
      throw new Error(`expected a rejection, got ${JSON.stringify(v)}`);
    },
    (e: unknown) => e as PsrpError,
  );
}

const fired = (name: string): number => lab.firedFaults.get(name) ?? 0;
const two = async (pool: RunspacePool): Promise<unknown[]> =>
  (await pool.powershell().addScript('1 + 1').invoke()).output;

describe('fault injection against the lab (public client, HTTPS)', () => {
  it('connection reset mid-Receive: PSRP_CONNECTION_FAILED, the pool stays usable', async () => {
    const pool = await RunspacePool.open(opts());
    const before = fired('resetNextReceive');
    try {
      lab.behaviours.faults.resetNextReceive = true;
      const e = await failure(pool.powershell().addScript('Start-Sleep -Milliseconds 300; "late"').invoke());
      expect(e.code).toBe('PSRP_CONNECTION_FAILED');
      expect(fired('resetNextReceive')).toBe(before + 1);
      expect(await two(pool)).toEqual([2]); // a new connection, the same shell
    } finally {
      await pool.close();
    }
    expect(lab.liveShells()).toBe(0);
  }, 60_000);

  it('HTTP 500 (no SOAP fault) on Command or mid-pipeline on Receive: PSRP_HTTP_SERVER_ERROR, the pool stays usable; on Delete, close() retries', async () => {
    const pool = await RunspacePool.open(opts());
    try {
      lab.behaviours.faults.http500Next = 'Command';
      const e = await failure(pool.powershell().addScript('"never runs"').invoke());
      expect(e).toMatchObject({ code: 'PSRP_HTTP_SERVER_ERROR', statusCode: 500 });
      expect(await two(pool)).toEqual([2]);

      lab.behaviours.faults.http500Next = 'Receive';
      const t0 = Date.now();
      const r = await failure(pool.powershell().addScript('Start-Sleep -Seconds 60; "late"').invoke());
      expect(r).toMatchObject({ code: 'PSRP_HTTP_SERVER_ERROR', statusCode: 500 });
      expect(Date.now() - t0).toBeLessThan(30_000); // stopped on the server, not waited for
      expect(await two(pool)).toEqual([2]);
    } finally {
      const before = fired('http500Next');
      lab.behaviours.faults.http500Next = 'Delete';
      await pool.close();
      expect(fired('http500Next')).toBe(before + 1);
    }
    expect(lab.liveShells()).toBe(0);
  }, 60_000);

  it('HTTP 503 on Create: PSRP_HTTP_UNAVAILABLE and no shell; a retry opens; 503 on Delete is retried', async () => {
    lab.behaviours.faults.http503Next = 'Create';
    const e = await failure(RunspacePool.open(opts()));
    expect(e).toMatchObject({ code: 'PSRP_HTTP_UNAVAILABLE', statusCode: 503 });
    expect(lab.liveShells()).toBe(0);
    const pool = await RunspacePool.open(opts());
    expect(await two(pool)).toEqual([2]);
    expect(lab.liveShells()).toBe(1);
    lab.behaviours.faults.http503Next = 'Delete';
    await pool.close();
    expect(fired('http503Next')).toBe(2);
    expect(lab.liveShells()).toBe(0);
  }, 60_000);

  it('a response stalled beyond requestTimeoutMs: PSRP_TIMEOUT, then the pool recovers', async () => {
    // Opening starts pwsh, which takes seconds on a busy machine: open over a transport with the
    // default timeout, then carry on over one with a short requestTimeoutMs (same origin, no cookies).
    const http = { url: lab.url, auth: { username: 'admin', password: lab.users['admin']! }, ca: lab.ca };
    const patient = new HttpTransport(http);
    const short = new HttpTransport({ ...http, requestTimeoutMs: 1500 });
    let current = patient;
    const transport: WSManTransport = {
      send: (envelope, options) => current.send(envelope, options),
      get url() {
        return current.url;
      },
      close: async () => {
        await Promise.all([patient.close(), short.close()]);
      },
    };
    const pool = await RunspacePool.open({ transport, operationTimeoutSeconds: 1 });
    try {
      current = short;
      Object.assign(lab.behaviours.faults, { stallNextMs: 6000, stallAction: 'Receive' });
      const t0 = Date.now();
      const e = await failure(pool.powershell().addScript('Start-Sleep -Milliseconds 200; "x"').invoke());
      expect(e.code).toBe('PSRP_TIMEOUT');
      expect(Date.now() - t0).toBeLessThan(6000);
      expect(fired('stallNextMs')).toBeGreaterThanOrEqual(1);
      current = patient;
      expect(await two(pool)).toEqual([2]);
    } finally {
      current = patient;
      await pool.close();
      await transport.close();
    }
    expect(lab.liveShells()).toBe(0);
  }, 60_000);

  it('a stalled Create beyond requestTimeoutMs: PSRP_TIMEOUT and no shell left behind', async () => {
    Object.assign(lab.behaviours.faults, { stallNextMs: 3000, stallAction: 'Create' });
    const e = await failure(RunspacePool.open(opts({ requestTimeoutMs: 1500 })));
    expect(e.code).toBe('PSRP_TIMEOUT');
    await new Promise((r) => setTimeout(r, 2000)); // past the stall: the lab dropped the request
    expect(lab.liveShells()).toBe(0);
  }, 60_000);

  it('a Create whose answer is lost after the shell was made: the client deletes the shell it asked for', async () => {
    const real = new HttpTransport({
      url: lab.url,
      auth: { username: 'admin', password: lab.users['admin']! },
      ca: lab.ca,
    });
    const transport: WSManTransport = {
      async send(envelope, options) {
        const body = await real.send(envelope, options);
        if (/transfer\/Create</.test(envelope))
          throw new TransportError('answer lost', { code: 'PSRP_CONNECTION_FAILED' });
        return body;
      },
      get url() {
        return real.url;
      },
      close: () => real.close(),
    };
    const deletes = lab.requestCounts.get('Delete') ?? 0;
    try {
      const e = await failure(RunspacePool.open({ transport }));
      expect(e.code).toBe('PSRP_CONNECTION_FAILED');
      expect(lab.requestCounts.get('Delete')).toBe(deletes + 1);
    } finally {
      await transport.close();
    }
    expect(lab.liveShells()).toBe(0);
  }, 60_000);

  it('pwsh killed under a running pipeline: PSRP_WSMAN_SHELL_NOT_FOUND, close() still succeeds', async () => {
    const pool = await RunspacePool.open(opts());
    try {
      lab.behaviours.faults.killPwshOnNextCommand = true;
      const t0 = Date.now();
      const e = await failure(pool.powershell().addScript('Start-Sleep -Seconds 60; "late"').invoke());
      expect(e).toMatchObject({ code: 'PSRP_WSMAN_SHELL_NOT_FOUND', wsmanFaultCode: 2150858843 });
      expect(Date.now() - t0).toBeLessThan(30_000); // not the 60 s of the script
      expect(lab.liveShells()).toBe(0); // the process is gone, and so is the shell
      expect((await failure(two(pool))).code).toBe('PSRP_WSMAN_SHELL_NOT_FOUND');
    } finally {
      await pool.close();
    }
    expect(lab.liveShells()).toBe(0);
  }, 60_000);

  it('shell expired while idle or deleted under a running pipeline: PSRP_WSMAN_SHELL_NOT_FOUND', async () => {
    const [idle, busy] = await Promise.all([RunspacePool.open(opts()), RunspacePool.open(opts())]);
    try {
      const running = failure(busy.powershell().addScript('Start-Sleep -Seconds 60; "late"').invoke());
      await new Promise((r) => setTimeout(r, 700));
      expect(lab.expireShellsNow()).toBe(2);
      expect(lab.liveShells()).toBe(0);
      expect((await running).code).toBe('PSRP_WSMAN_SHELL_NOT_FOUND');
      expect((await failure(two(idle))).code).toBe('PSRP_WSMAN_SHELL_NOT_FOUND');
    } finally {
      await Promise.all([idle.close(), busy.close()]); // Delete of a gone shell is not an error
    }
    expect(lab.liveShells()).toBe(0);
  }, 60_000);

  it('affinity cookie dropped on one request: PSRP_WSMAN_SHELL_NOT_FOUND once, the session goes on; Delete reaches the shell', async () => {
    lab.behaviours.affinityCookie = 'required';
    const pool = await RunspacePool.open(
      opts({ uri: lab.exchangeUrl, configurationName: 'Microsoft.Exchange', operationTimeoutSeconds: 5 }),
    );
    try {
      lab.behaviours.faults.dropAffinityCookie = true;
      const e = await failure(pool.powershell().addCommand('Get-ExchangeServer').invoke());
      expect(e).toMatchObject({ code: 'PSRP_WSMAN_SHELL_NOT_FOUND', wsmanFaultCode: 2150858843 });
      expect((await pool.powershell().addCommand('Get-ExchangeServer').invoke()).output).toHaveLength(2);
    } finally {
      await pool.close();
    }
    expect(lab.liveShells()).toBe(0);
  }, 60_000);

  it('ExchangeSessionPool replaces a lost session and retries once (affinity dropped)', async () => {
    lab.behaviours.affinityCookie = 'required';
    const sessions = new ExchangeSessionPool({
      uri: lab.exchangeUrl,
      credential: { username: 'admin', password: lab.users['admin']! },
      ca: lab.ca,
      maxSessions: 1,
    });
    try {
      expect((await sessions.invoke('Get-ExchangeServer')).output).toHaveLength(2);
      lab.behaviours.faults.dropAffinityCookie = true;
      expect((await sessions.invoke('Get-Mailbox', { ResultSize: 3 })).output).toHaveLength(3);
      expect(fired('dropAffinityCookie')).toBeGreaterThanOrEqual(1);
    } finally {
      await sessions.close();
    }
    await expect.poll(() => lab.liveShells(), { timeout: 5000 }).toBe(0);
  }, 90_000);
});
