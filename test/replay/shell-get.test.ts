/**
 * WS-Transfer Get of a pool's shell replayed against real Windows (test_psrp_is_alive_state_disconnected):
 * the same request shape, and the State Windows reports, Connected then Disconnected.
 */
import { describe, expect, it } from 'vitest';
import { RunspacePool, sequentialIds } from '../../src/index.js';
import { ReplayTransport } from '../helpers/replay-transport.js';

describe('replay: Get of the shell (test_psrp_is_alive_state_disconnected)', () => {
  it('reads the shell and its state as Windows reports it', async () => {
    const replay = new ReplayTransport('test_psrp_is_alive_state_disconnected');
    const pool = await RunspacePool.open({ transport: replay, ids: sequentialIds() });
    const first = await pool.shellInfo();
    expect(first).toMatchObject({
      shellId: pool.id.toUpperCase(), // the replay maps the recorded ShellId to ours
      configurationName: 'Microsoft.PowerShell',
      owner: 'vagrant',
      state: 'Connected',
      idleTimeout: 'PT60.000S',
      shellRunTime: 'P0DT0H0M0S',
    });
    expect((await pool.shellInfo()).state).toBe('Disconnected');
    expect(replay.steps.map((s) => s.action)).toEqual(['Create', 'Receive', 'Receive', 'Get', 'Get']);
    // The request names the shell resource and the pool's ShellId, as the recorded client did.
    const get = replay.steps[3]!.request;
    expect(get).toContain(
      '<wsman:ResourceURI s:mustUnderstand="true">http://schemas.microsoft.com/wbem/wsman/1/windows/shell</wsman:ResourceURI>',
    );
    expect(get).toMatch(/<wsman:Selector Name="ShellId">[0-9A-F-]{36}<\/wsman:Selector>/);
    expect(get).toMatch(/<s:Body><\/s:Body>|<s:Body \/>/);
  });
});
