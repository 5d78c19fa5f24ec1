import { describe, expect, it } from 'vitest';
import { PipelineFailedError, RunspacePool, WSManFaultError, sequentialIds, type PSHost } from '../../src/index.js';
import { ReplayTransport } from '../helpers/replay-transport.js';

async function open(name: string, extra: { host?: PSHost } = {}): Promise<{ pool: RunspacePool; replay: ReplayTransport }> {
  const replay = new ReplayTransport(name);
  const pool = await RunspacePool.open({ transport: replay, ids: sequentialIds(), ...extra });
  return { pool, replay };
}

describe('replay of real Windows recordings through the public API', () => {
  it('test_psrp_open_runspace: opens, reports the server, deletes the shell on close', async () => {
    const { pool, replay } = await open('test_psrp_open_runspace');
    expect(pool.state).toBe('Opened');
    expect(pool.serverProtocolVersion).toBe('2.3');
    expect(pool.applicationPrivateData).toBeTypeOf('object');
    await pool.close();
    expect(pool.state).toBe('Closed');
    expect(replay.steps.map((s) => s.action)).toEqual(['Create', 'Receive', 'Receive', 'Delete']);
    expect(replay.steps[0]!.psrpTypes).toEqual(['SessionCapability', 'InitRunspacePool']);
    expect(replay.remaining).toBe(0);
  });

  it('test_psrp_stream_output_invocation: streams output objects', async () => {
    const { pool, replay } = await open('test_psrp_stream_output_invocation');
    const out: unknown[] = [];
    for await (const v of pool.powershell().addCommand('Get-Service').output()) out.push(v);
    await pool.close();
    expect(out.length).toBeGreaterThan(0);
    expect(replay.steps.map((s) => s.action)).toEqual(['Create', 'Receive', 'Receive', 'Command', 'Receive', 'Delete']);
    expect(replay.steps[3]!.psrpTypes).toEqual(['CreatePipeline']);
  });

  it('test_psrp_error_failed: a failed pipeline rejects with its ErrorRecord', async () => {
    const { pool } = await open('test_psrp_error_failed');
    const err = await pool.powershell().addScript('throw "x"').invoke().catch((e: unknown) => e);
    await pool.close();
    expect(err).toBeInstanceOf(PipelineFailedError);
    const rec = (err as PipelineFailedError).errorRecord!;
    expect(rec.fullyQualifiedErrorId).toBeTruthy();
    expect((err as Error).message).toBe(rec.message);
  });

  it('test_psrp_merge_commands: every stream is reported', async () => {
    const { pool } = await open('test_psrp_merge_commands');
    const r = await pool.powershell().addScript('Write-Output x').invoke();
    await pool.close();
    expect(r.state).toBe('Completed');
    expect(r.output.length + r.errors.length).toBeGreaterThan(0);
    expect(r.warnings.map((w) => w.message)).toContain('warning stream');
    expect(r.verbose.map((w) => w.message)).toContain('verbose stream');
    expect(r.debug.map((w) => w.message)).toContain('debug stream');
    expect(r.information.map((w) => w.messageData)).toContain('information stream');
  });

  it('test_psrp_receive_failure: a WS-Man fault on Receive rejects, and the shell is still deleted', async () => {
    const { pool, replay } = await open('test_psrp_receive_failure');
    const ps = pool.powershell().addCommand('Get-Item');
    // The recorded client did not send a Command here; replay from the faulting Receive.
    await expect(
      (async () => {
        // Drive a pool-level receive through the connection like the recorded client did.
        await pool.connection.receive(pool.id);
      })(),
    ).rejects.toBeInstanceOf(WSManFaultError);
    void ps;
    await pool.close();
    expect(replay.steps.at(-1)!.action).toBe('Delete');
  });
});
