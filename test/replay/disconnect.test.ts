/**
 * Disconnect and Reconnect replayed against real Windows (test_psrp_disconnect_runspaces): the
 * requests our public API sends must be the ones PowerShell's peer answered, in order.
 */
import { describe, expect, it } from 'vitest';
import { RunspacePool, sequentialIds } from '../../src/index.js';
import { ReplayTransport } from '../helpers/replay-transport.js';

describe('replay: disconnect and reconnect (test_psrp_disconnect_runspaces)', () => {
  it('disconnects, reconnects and disconnects a pool, then disconnects a second one; a disconnected pool runs nothing', async () => {
    const replay = new ReplayTransport('test_psrp_disconnect_runspaces');
    const ids = sequentialIds();
    const first = await RunspacePool.open({ transport: replay, ids });
    expect(first.state).toBe('Opened');
    await first.disconnect();
    expect(first.state).toBe('Disconnected');
    await expect(first.powershell().addScript('1').invoke()).rejects.toMatchObject({
      code: 'PSRP_INVALID_STATE',
    });
    await expect(first.disconnect()).rejects.toMatchObject({ code: 'PSRP_INVALID_STATE' });
    await first.reconnect();
    expect(first.state).toBe('Opened');
    await first.disconnect();

    const second = await RunspacePool.open({ transport: replay, ids });
    await second.disconnect();
    expect(second.state).toBe('Disconnected');

    expect(replay.steps.map((s) => s.action)).toEqual([
      'Create',
      'Receive',
      'Receive',
      'Receive',
      'Disconnect',
      'Reconnect',
      'Disconnect',
      'Create',
      'Receive',
      'Receive',
      'Disconnect',
    ]);
    // Closing a disconnected pool leaves its shell on the server (no Delete): that is what
    // disconnecting asked for; the recording goes on with other clients' requests.
    await first.close();
    await second.close();
    expect(replay.steps).toHaveLength(11);
  });

  it('a new client lists the shells (Enumerate), connects to both disconnected pools, runs nothing they did not, and deletes them', async () => {
    // A new process: its own transport, picking the recording up where the first client left off.
    const listing = new ReplayTransport('test_psrp_disconnect_runspaces', { skip: 11 });
    const shells = await RunspacePool.listShells({ transport: listing, ids: sequentialIds() });
    expect(shells.map((s) => [s.configurationName, s.state])).toEqual([
      ['Microsoft.PowerShell', 'Disconnected'],
      ['Microsoft.PowerShell', 'Disconnected'],
    ]);
    expect(shells[0]!.shellId).toBe('B6631D8E-65A0-49F2-9053-A1B156C95777');
    expect(shells[0]!.owner).toBe('WIN-NNMU24VVKJ0\\vagrant');
    expect(shells[0]!.idleTimeout).toBe('PT7200.000S');

    const replay = new ReplayTransport('test_psrp_disconnect_runspaces', { skip: 14 });
    const ids = sequentialIds();
    const a = await RunspacePool.connect({ transport: replay, ids, shellId: shells[0]!.shellId });
    expect(a.state).toBe('Opened');
    expect(a.id).toBe(shells[0]!.shellId.toLowerCase());
    expect(replay.steps[0]!.psrpTypes).toEqual(['SessionCapability', 'ConnectRunspacePool']);
    expect(replay.steps[0]!.recordedPsrpTypes).toEqual(['SessionCapability', 'ConnectRunspacePool']);
    const b = await RunspacePool.connect({ transport: replay, ids, shellId: shells[1]!.shellId });
    expect(b.state).toBe('Opened');
    await a.close();
    await b.close();
    expect(replay.steps.map((s) => s.action)).toEqual([
      'Connect',
      'Receive',
      'Connect',
      'Receive',
      'Delete',
      'Delete',
    ]);
    expect(replay.remaining).toBe(0);
  });

  it('test_psrp_disconnected_commands: a new client connects to two pools and collects the output of pipelines that ran while nobody was attached', async () => {
    const listing = new ReplayTransport('test_psrp_disconnected_commands', { skip: 10 });
    const shells = await RunspacePool.listShells({ transport: listing, ids: sequentialIds() });
    expect(shells.map((s) => s.state)).toEqual(['Disconnected', 'Disconnected']);
    const byId = new Map(shells.map((s) => [s.shellId, s]));
    expect(byId.has('BCEF62AD-380E-4314-B2A4-EB6748019B41')).toBe(true);
    expect(byId.has('B2E1C91B-A3AA-41B4-B346-405E6A90005B')).toBe(true);

    const replay = new ReplayTransport('test_psrp_disconnected_commands', { skip: 13 });
    const ids = sequentialIds();
    const b = await RunspacePool.connect({
      transport: replay,
      ids,
      shellId: 'BCEF62AD-380E-4314-B2A4-EB6748019B41',
    });
    const fromB = await b.connectPipeline('DB4E8DCF-51CC-423F-A7DF-5D0EA0D6FA08').invoke();
    const a = await RunspacePool.connect({
      transport: replay,
      ids,
      shellId: 'B2E1C91B-A3AA-41B4-B346-405E6A90005B',
    });
    const fromA = await a.connectPipeline('356E6DC2-6889-4305-9FE6-8B03F44D7210').invoke();
    expect(fromB.state).toBe('Completed');
    expect(fromA.state).toBe('Completed');
    // Each pipeline wrote 'a' and 'b' while no client was attached; the progress record too.
    expect(fromB.output).toEqual(['a', 'b']);
    expect(fromA.output).toEqual(['a', 'b']);
    expect(fromA.progress[0]!.activity).toBe('Preparing modules for first use.');
    expect(replay.steps.map((s) => s.action)).toEqual([
      'Connect',
      'Receive',
      'Connect',
      'Receive',
      'Receive',
      'Connect',
      'Receive',
      'Connect',
      'Receive',
      'Receive',
    ]);
    // Both pools are this client's now (close() would delete them; the recorded client went on differently).
    expect(replay.remaining).toBe(4);
  });
});
