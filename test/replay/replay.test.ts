import { describe, expect, it } from 'vitest';
import { PipelineFailedError, RunspacePool, WSManFaultError, sequentialIds, type PSHost } from '../../src/index.js';
import { ReplayTransport } from '../helpers/replay-transport.js';
import { loadRecording, recordingNames } from '../helpers/recordings.js';

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

describe('more recorded scenarios', () => {
  it('test_psrp_run_protocol_version_2.2: a 2.2 server, input sent in one Send with its end marker', async () => {
    const { pool, replay } = await open('test_psrp_run_protocol_version_2.2');
    expect(pool.serverProtocolVersion).toBe('2.2');
    const r = await pool.powershell().addScript('$input').invoke({ input: [1, 2, 3] });
    await pool.close();
    expect(r.output.length).toBe(4);
    expect(r.debug.length).toBe(2);
    const send = replay.steps.find((s) => s.action === 'Send')!;
    expect(send.psrpTypes).toEqual(['PipelineInput', 'PipelineInput', 'PipelineInput', 'EndOfPipelineInput']);
    expect(send.psrpTypes).toEqual(send.recordedPsrpTypes);
    expect(replay.remaining).toBe(0);
  });

  it('test_psrp_set_runspaces: pool resizing and available runspaces', async () => {
    const { pool, replay } = await open('test_psrp_set_runspaces');
    const available1 = await pool.getAvailableRunspaces();
    const max = await pool.setMaxRunspaces(5);
    const available2 = await pool.getAvailableRunspaces();
    const min = await pool.setMinRunspaces(2);
    const minAgain = await pool.setMinRunspaces(3);
    const maxAgain = await pool.setMaxRunspaces(4);
    await pool.close();
    expect([typeof available1, max, typeof available2, typeof min, typeof minAgain, typeof maxAgain]).toEqual(['number', true, 'number', 'boolean', 'boolean', 'boolean']);
    expect(replay.steps.map((s) => s.psrpTypes.join())).toEqual(replay.steps.map((s) => s.recordedPsrpTypes.join()));
    expect(replay.remaining).toBe(0);
  });

  it('test_psrp_reset_runspace_state: reset between two pipelines', async () => {
    const { pool, replay } = await open('test_psrp_reset_runspace_state');
    const first = await pool.powershell().addScript('$a = 1; $a').invoke();
    expect(await pool.resetRunspaceState()).toBe(true);
    const second = await pool.powershell().addScript('$a').invoke();
    await pool.close();
    expect(first.output.length).toBe(1);
    expect(second.output).toEqual([]);
    expect(replay.remaining).toBe(0);
  });

  it('test_psrp_with_history and test_psrp_application_args', async () => {
    const h = await open('test_psrp_with_history');
    const one = await h.pool.powershell().addScript('Get-Date').invoke({ addToHistory: true });
    const two = await h.pool.powershell().addCommand('Get-History').invoke();
    await h.pool.close();
    expect(one.output.length).toBe(2);
    expect(two.output.length).toBe(1);
    expect(h.replay.remaining).toBe(0);
    const replay = new ReplayTransport('test_psrp_application_args');
    const pool = await RunspacePool.open({ transport: replay, ids: sequentialIds(), applicationArguments: { arg1: 'value1' } });
    const r = await pool.powershell().addScript('$PSSenderInfo.ApplicationArguments').invoke();
    await pool.close();
    expect(r.output.length).toBe(1);
    expect(replay.remaining).toBe(0);
  });
});

describe('every PSRP scenario opens through the public API', () => {
  const scenarios = recordingNames().filter((n) =>
    loadRecording(n).messages[0]?.request.includes('http://schemas.microsoft.com/powershell/'),
  );
  it('covers all 43 PowerShell recordings', () => {
    expect(scenarios.length).toBe(43);
  });
  for (const name of scenarios) {
    it(`${name}: opens the pool from the recorded server answers`, async () => {
      const replay = new ReplayTransport(name);
      const rec = loadRecording(name);
      const pool = await RunspacePool.open({ transport: replay, ids: sequentialIds(), configurationName: /ResourceURI[^>]*>http:\/\/schemas\.microsoft\.com\/powershell\/([^<]+)</.exec(rec.messages[0]!.request)![1]! });
      expect(pool.state).toBe('Opened');
      expect(['2.1', '2.2', '2.3']).toContain(pool.serverProtocolVersion);
      expect(replay.steps[0]!.psrpTypes).toEqual(replay.steps[0]!.recordedPsrpTypes);
      expect(replay.steps.every((s) => s.action === 'Create' || s.action === 'Receive')).toBe(true);
      // What follows in each recording is that client's own sequence; full runs are replayed above.
    });
  }
});

describe('finished commands are released with Signal terminate (MaxConcurrentCommandsPerShell)', () => {
  const body = (xml: string): string => /<s:Body>([\s\S]*)<\/s:Body>/.exec(xml)![1]!.replace(/CommandId="[^"]+"/, 'CommandId="…"');
  const shellSelector = (xml: string): string | undefined => /<wsman:Selector Name="ShellId">([^<]+)</.exec(xml)?.[1];

  it('test_psrp_multiple_invocations: Command, Receive, then Signal terminate for each command, as the recorded client', async () => {
    const { pool, replay } = await open('test_psrp_multiple_invocations');
    const first = await pool.powershell().addScript('1+1').invoke();
    // Our Signal leaves on the next turn of the event loop, after the caller has the result; the
    // recorded client sent it before its next Command, so wait that turn to keep the recorded order.
    await new Promise((r) => setImmediate(r));
    const second = await pool.powershell().addScript('1+1').invoke();
    await pool.close();
    expect([first.output, second.output]).toEqual([[2], [2]]);
    expect(replay.steps.map((s) => s.action)).toEqual(['Create', 'Receive', 'Receive', 'Command', 'Receive', 'Signal', 'Command', 'Receive', 'Signal', 'Delete']);
    expect(replay.unrecordedTerminates).toEqual([]);
    expect(replay.remaining).toBe(0);
    const commandIds = replay.steps.filter((s) => s.action === 'Command').map((s) => /CommandId="([^"]+)"/.exec(s.request)![1]);
    for (const [i, s] of replay.steps.filter((x) => x.action === 'Signal').entries()) {
      // The same body as the Windows-facing client's (code, CommandId attribute), for the command that just finished.
      expect(body(s.request).toLowerCase()).toBe(body(s.recordedRequest).toLowerCase());
      expect(/CommandId="([^"]+)"/.exec(s.request)![1]).toBe(commandIds[i]);
      expect(shellSelector(s.request)).toBeTruthy();
    }
  });

  it('the result comes first: the Signal is sent after the last Receive, never before the caller has the output', async () => {
    const { pool, replay } = await open('test_psrp_stream_output_invocation');
    let actionsAtFirstResult: string[] | undefined;
    for await (const v of pool.powershell().addCommand('Get-Service').output()) {
      actionsAtFirstResult ??= replay.steps.map((s) => s.action);
      void v;
    }
    const before = replay.steps.length;
    await pool.close();
    expect(actionsAtFirstResult).toEqual(['Create', 'Receive', 'Receive', 'Command', 'Receive']);
    // The recorded client never released its command; ours did, then deleted the shell.
    expect(replay.unrecordedTerminates).toHaveLength(1);
    expect(replay.steps.slice(before).map((s) => s.action)).toEqual(['Delete']);
  });
});
