import { expectPipelinesOverlap } from '../helpers/concurrency.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLab, type Lab } from '../../src/lab/lab-server.js';
import { PipelineFailedError, RunspacePool, type RunspacePoolOptions } from '../../src/index.js';
import { requirePwsh } from '../helpers/pwsh.js';

let lab: Lab;
beforeAll(async () => {
  requirePwsh();
  lab = await startLab();
}, 60_000);
afterAll(async () => {
  await lab?.close();
});

const options = (extra: Partial<RunspacePoolOptions> = {}): RunspacePoolOptions => ({
  uri: lab.url,
  auth: { username: 'admin', password: lab.users['admin']! },
  ca: lab.ca,
  ...extra,
});

describe('full stack: client → HTTPS + Basic → WS-Man → real pwsh (the lab)', () => {
  it('opens, runs commands with every stream, and deletes the shell', async () => {
    const pool = await RunspacePool.open(options());
    expect(pool.state).toBe('Opened');
    expect(lab.liveShells()).toBe(1);
    const r = await pool
      .powershell()
      .addScript('Write-Warning "w"; Write-Error "e"; [pscustomobject]@{ A = 1; B = "two" }; $PSVersionTable.PSVersion.Major')
      .invoke();
    expect(r.output[0]).toEqual({ A: 1, B: 'two' });
    expect(r.output[1]).toBe(7);
    expect(r.warnings[0]!.message).toBe('w');
    expect(r.errors[0]!.message).toBe('e');
    const failed = await pool.powershell().addScript('throw "boom"').invoke().catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(PipelineFailedError);
    await pool.close();
    expect(lab.liveShells()).toBe(0);
    expect(lab.requestCounts.get('Delete')).toBeGreaterThanOrEqual(1);
  });

  it('long-polls with the operation-timeout fault, stops a pipeline with Signal, streams input', async () => {
    const pool = await RunspacePool.open(options({ operationTimeoutSeconds: 1 }));
    try {
      const r = await pool.powershell().addScript('Start-Sleep -Milliseconds 2500; "late"').invoke();
      expect(r.output).toEqual(['late']); // survived at least one OperationTimeout fault, never surfaced
      const ps = pool.powershell().addScript('Start-Sleep 60');
      const running = ps.invoke();
      await new Promise((res) => setTimeout(res, 500));
      const t0 = Date.now();
      await ps.stop();
      await expect(running).rejects.toMatchObject({ code: 'PSRP_PIPELINE_STOPPED' });
      expect(Date.now() - t0).toBeLessThan(10_000);
      expect(lab.requestCounts.get('Signal')).toBeGreaterThanOrEqual(1);
      const sum = await pool.powershell().addCommand('Measure-Object').addParameter('Sum').invoke({ input: [1, 2, 3, 4] });
      expect((sum.output[0] as Record<string, unknown>)['Sum']).toBe(10);
    } finally {
      await pool.close();
    }
  });

  it('runs concurrent pipelines on one shell and keeps one TLS connection per long poll', async () => {
    const pool = await RunspacePool.open(options({ maxRunspaces: 3 }));
    try {
      await expectPipelinesOverlap(pool);
    } finally {
      await pool.close();
    }
    expect(lab.liveShells()).toBe(0);
  });

  it('refuses wrong credentials and an unknown configuration, and needs the CA', async () => {
    await expect(RunspacePool.open(options({ auth: { username: 'admin', password: 'wrong' } }))).rejects.toMatchObject({ code: 'PSRP_AUTH_FAILED' });
    await expect(RunspacePool.open(options({ configurationName: 'Microsoft.Exchange' }))).rejects.toMatchObject({ code: 'PSRP_WSMAN_RESOURCE_NOT_FOUND' });
    await expect(RunspacePool.open({ uri: lab.url, auth: { username: 'admin', password: 'x' } })).rejects.toMatchObject({ code: 'PSRP_TLS_UNTRUSTED' });
    expect(lab.liveShells()).toBe(0);
  });
});
