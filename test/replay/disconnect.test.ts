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
});
