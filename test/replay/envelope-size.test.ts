/**
 * MaxEnvelopeSize (MS-WSMV 2.2.4.10): Windows refuses a request larger than its MaxEnvelopeSizekb.
 * The client raises its size to 512000 after a protocol 2.2+ open only while the size is still the
 * default, never over a size the caller set or the server announced in winrm/config (the recorded
 * Gets of Windows servers configured with 150, 500 and 4096 KB).
 */
import { describe, expect, it } from 'vitest';
import {
  InvalidArgumentError,
  RunspacePool,
  WSManConnection,
  sequentialIds,
  type WSManTransport,
} from '../../src/index.js';
import { ReplayTransport } from '../helpers/replay-transport.js';

const header = (xml: string): number => Number(/<wsman:MaxEnvelopeSize[^>]*>(\d+)</.exec(xml)![1]);

/** Replays one recording, then the next (a config Get, then a pool's life). */
class ChainTransport implements WSManTransport {
  readonly url = 'https://127.0.0.1:55986/wsman';
  readonly sent: string[] = [];
  constructor(private readonly parts: ReplayTransport[]) {}
  send(envelope: string): Promise<string> {
    this.sent.push(envelope);
    while (this.parts.length > 1 && this.parts[0]!.remaining === 0) this.parts.shift();
    return this.parts[0]!.send(envelope);
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

describe('MaxEnvelopeSize from the server (recorded winrm/config Gets)', () => {
  for (const [kb, name] of [
    [150, 'test_wsman_update_envelope_size_150'],
    [500, 'test_wsman_update_envelope_size_500'],
    [4096, 'test_wsman_update_envelope_size_4096'],
  ] as const) {
    it(`${name}: reads ${kb} KB and never raises over it`, async () => {
      const replay = new ReplayTransport(name);
      const c = new WSManConnection(replay, { ids: sequentialIds() });
      expect(await c.queryMaxEnvelopeSize()).toBe(kb * 1024);
      expect(c.maxEnvelopeSize).toBe(kb * 1024);
      // The same request as the recorded client's: a Get of winrm/config.
      expect(replay.steps[0]!.action).toBe('Get');
      const uri = (x: string): string | undefined => /ResourceURI[^>]*>([^<]+)</.exec(x)?.[1];
      expect(uri(replay.steps[0]!.request)).toBe(uri(replay.steps[0]!.recordedRequest));
      expect(c.raiseDefaultMaxEnvelopeSize(512000)).toBe(false);
      expect(c.maxEnvelopeSize).toBe(kb * 1024);
      expect(replay.remaining).toBe(0);
    });
  }

  it('a size the caller set is never raised, and lowered to a smaller announced one only', async () => {
    const explicit = new WSManConnection(new ReplayTransport('test_wsman_update_envelope_size_500'), {
      maxEnvelopeSize: 32768,
    });
    expect(explicit.raiseDefaultMaxEnvelopeSize(512000)).toBe(false);
    expect(await explicit.queryMaxEnvelopeSize()).toBe(32768);
    const large = new WSManConnection(new ReplayTransport('test_wsman_update_envelope_size_150'), {
      maxEnvelopeSize: 1024 * 1024,
    });
    expect(await large.queryMaxEnvelopeSize()).toBe(153600);
    const fresh = new WSManConnection(new ReplayTransport('test_wsman_update_envelope_size_150'));
    expect(fresh.raiseDefaultMaxEnvelopeSize(512000)).toBe(true);
    expect(
      () =>
        new WSManConnection(new ReplayTransport('test_wsman_update_envelope_size_150'), {
          maxEnvelopeSize: 100,
        }),
    ).toThrow(InvalidArgumentError);
  });

  it("RunspacePool.open({ maxEnvelopeSize: 'server' }) keeps the announced 150 KB after a 2.3 server opens (the recorded client raised to 512000)", async () => {
    const chain = new ChainTransport([
      new ReplayTransport('test_wsman_update_envelope_size_150'),
      new ReplayTransport('test_psrp_run_protocol_version_2.3'),
    ]);
    const pool = await RunspacePool.open({
      transport: chain,
      ids: sequentialIds(),
      maxEnvelopeSize: 'server',
    });
    expect(pool.serverProtocolVersion).toBe('2.3');
    const r = await pool
      .powershell()
      .addScript('$input')
      .invoke({ input: [1, 2, 3] });
    await pool.close();
    expect(r.state).toBe('Completed');
    expect(chain.sent.map(header).every((n) => n === 153600)).toBe(true);
    expect(chain.sent.every((x) => Buffer.byteLength(x) <= 153600)).toBe(true);
  });

  it('RunspacePool.open({ maxEnvelopeSize }) uses the number as given, after a 2.3 open too', async () => {
    const replay = new ReplayTransport('test_psrp_run_protocol_version_2.3');
    const pool = await RunspacePool.open({ transport: replay, ids: sequentialIds(), maxEnvelopeSize: 65536 });
    await pool
      .powershell()
      .addScript('$input')
      .invoke({ input: [1, 2, 3] });
    await pool.close();
    expect(replay.steps.map((s) => header(s.request))).toEqual(replay.steps.map(() => 65536));
    // The recorded client's requests after the open carried 512000.
    expect(header(replay.steps.at(-1)!.recordedRequest)).toBe(512000);
  });

  it('without an explicit size the default is raised to 512000 once a 2.3 server has opened the pool, as PowerShell does', async () => {
    const replay = new ReplayTransport('test_psrp_run_protocol_version_2.3');
    const pool = await RunspacePool.open({ transport: replay, ids: sequentialIds() });
    await pool
      .powershell()
      .addScript('$input')
      .invoke({ input: [1, 2, 3] });
    await pool.close();
    expect(header(replay.steps[0]!.request)).toBe(153600);
    expect(header(replay.steps.at(-1)!.request)).toBe(512000);
  });
});
