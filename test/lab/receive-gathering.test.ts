/**
 * The lab holds a command's output to fill the Receive envelope, as Windows does (PowerShell's
 * server queues pipeline data without WSMAN_FLAG_RECEIVE_FLUSH and WinRM holds unflushed data "in
 * order to maximise the size of the response packet"): output produced in a burst comes in few
 * Receives, output that trickles slower than the lab's gathering window is not held back, and a
 * command that has ended is answered at once.
 */
import diagnosticsChannel from 'node:diagnostics_channel';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLab, type Lab } from '../../src/lab/lab-server.js';
import { RunspacePool } from '../../src/index.js';
import { requirePwsh } from '../helpers/pwsh.js';

let lab: Lab;
let pool: RunspacePool;
beforeAll(async () => {
  requirePwsh();
  lab = await startLab();
  pool = await RunspacePool.open({
    uri: lab.url,
    auth: { username: 'admin', password: lab.users['admin']! },
    ca: lab.ca,
  });
}, 60_000);
afterAll(async () => {
  await pool?.close();
  await lab?.close();
});

/** Runs `script` and counts the Receive requests it took, with the time each output arrived. */
async function receivesOf(
  script: string,
): Promise<{ receives: number; arrivals: number[]; values: unknown[] }> {
  let receives = 0;
  const onRequest = (m: unknown): void => {
    if ((m as { action: string }).action === 'Receive') receives++;
  };
  diagnosticsChannel.subscribe('psrp:wsman:request', onRequest);
  const arrivals: number[] = [];
  const values: unknown[] = [];
  const t0 = Date.now();
  try {
    for await (const v of pool.powershell().addScript(script).output()) {
      arrivals.push(Date.now() - t0);
      values.push(v);
    }
  } finally {
    diagnosticsChannel.unsubscribe('psrp:wsman:request', onRequest);
  }
  return { receives, arrivals, values };
}

describe('lab Receive: output held to fill the envelope, as WinRM holds unflushed data', () => {
  it('objects written a few ms apart come in a few Receives, not one per object', async () => {
    const r = await receivesOf("1..40 | ForEach-Object { Start-Sleep -Milliseconds 4; 'item ' + $_ }");
    expect(r.values).toHaveLength(40);
    expect(r.values[39]).toBe('item 40');
    // One per object (about 37 here) before the lab held output; 1 to 3 with it, more on a loaded machine.
    expect(r.receives).toBeLessThanOrEqual(12);
  }, 60_000);

  it('output that trickles slower than the gathering window is delivered as it comes', async () => {
    const r = await receivesOf('1..3 | ForEach-Object { $_; Start-Sleep -Milliseconds 600 }');
    expect(r.values).toEqual([1, 2, 3]);
    // Each object is answered on its own (the lab held none of them for the next): the first
    // arrives well before the command's ~1.8 s end, and three Receives at least carried them.
    expect(r.receives).toBeGreaterThanOrEqual(3);
    expect(r.arrivals[0]!).toBeLessThan(r.arrivals[2]! - 800);
  }, 60_000);
});
