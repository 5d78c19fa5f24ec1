import { describe, expect, it } from 'vitest';
import { RunspacePool, RunspacePoolBrokenError, sequentialIds } from '../../src/index.js';
import { FakeWSManServer } from '../helpers/fake-wsman-server.js';

async function open(server: FakeWSManServer, maxRunspaces = 1): Promise<RunspacePool> {
  return RunspacePool.open({ transport: server, ids: sequentialIds(), maxRunspaces });
}

describe('RunspacePool and PowerShell over WS-Man (in-memory server)', () => {
  it('opens in Create + Receives and runs a command in exactly Command + Receive', async () => {
    const server = new FakeWSManServer(() => ({ output: ['a', 'b'] }));
    server.batch = 10;
    const pool = await open(server);
    expect(server.requests.map((r) => r.action)).toEqual(['Create', 'Receive', 'Receive']);
    const before = server.requests.length;
    const r = await pool.powershell().addCommand('Get-Thing').invoke();
    expect(r.output).toEqual(['a', 'b']);
    // Requests the server had seen when the caller got the result: the protocol minimum.
    expect(server.requests.slice(before).map((x) => x.action)).toEqual(['Command', 'Receive']);
    // Then, in the background, Signal terminate releases the finished command; close() waits for it.
    await pool.close();
    expect(server.requests.slice(before).map((x) => x.action)).toEqual(['Command', 'Receive', 'Signal', 'Delete']);
    const cmd = server.requests.slice(before).find((x) => x.action === 'Command')!.commandId;
    expect(server.requests.at(-2)!.commandId).toBe(cmd);
    expect(server.deleted).toBe(1);
  });

  it('applies backpressure: no further Receive until the consumer asks for more', async () => {
    const server = new FakeWSManServer(() => ({ output: Array.from({ length: 50 }, (_, i) => i) }));
    const pool = await open(server);
    const it = pool.powershell().addCommand('Get-Many').output()[Symbol.asyncIterator]();
    expect((await it.next()).value).toBe(0);
    const receivesAfterFirst = server.count('Receive');
    await new Promise((r) => setTimeout(r, 50));
    expect(server.count('Receive')).toBe(receivesAfterFirst); // idle consumer: no polling
    expect((await it.next()).value).toBe(1);
    await it.return(undefined); // break: stop on the server
    expect(server.requests.some((r) => r.action === 'Signal')).toBe(true);
    await pool.close();
    expect(server.deleted).toBe(1);
  });

  it('deletes the shell when the consumer throws, when opening fails, and when opening is aborted', async () => {
    const s1 = new FakeWSManServer(() => ({ endless: true }));
    const pool = await open(s1);
    await expect(
      (async () => {
        for await (const _ of pool.powershell().addCommand('Get-Endless').output()) throw new Error('consumer failed');
      })(),
    ).rejects.toThrow('consumer failed');
    expect(s1.requests.filter((r) => r.action === 'Signal').length).toBeGreaterThanOrEqual(1);
    await pool.close();
    expect(s1.deleted).toBe(1);

    const s2 = new FakeWSManServer();
    s2.breakOnOpen = true;
    const err = await open(s2).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RunspacePoolBrokenError);
    expect((err as Error).message).toContain('no runspaces for you');
    expect(s2.deleted).toBe(1);

    const s3 = new FakeWSManServer();
    const ac = new AbortController();
    const slow: typeof s3.send = async (env, o) => {
      if (env.includes('/Receive<')) {
        ac.abort();
        o?.signal?.throwIfAborted();
      }
      return FakeWSManServer.prototype.send.call(s3, env, o);
    };
    s3.send = slow;
    await expect(RunspacePool.open({ transport: s3, ids: sequentialIds(), signal: ac.signal })).rejects.toMatchObject({ name: 'AbortError' });
    expect(s3.deleted).toBe(1);
  });

  it('runs at most maxRunspaces pipelines at once; the others wait', async () => {
    const server = new FakeWSManServer(() => ({ output: [1, 2, 3] }));
    const pool = await open(server, 2);
    const results = await Promise.all([1, 2, 3, 4, 5].map(() => pool.powershell().addCommand('Get-X').invoke()));
    expect(results.every((r) => r.output.length === 3)).toBe(true);
    expect(server.maxConcurrentPipelines).toBeLessThanOrEqual(2);
    expect(server.count('Command')).toBe(5);
    await pool.close();
    await expect(pool.powershell().addCommand('x').invoke()).rejects.toMatchObject({ code: 'PSRP_POOL_CLOSED' });
  });

  it('supports await using and closes once', async () => {
    const server = new FakeWSManServer();
    {
      await using pool = await open(server);
      expect(pool.state).toBe('Opened');
    }
    expect(server.deleted).toBe(1);
  });

  it('reports a failed pipeline with the caller stack', async () => {
    const server = new FakeWSManServer(() => ({ output: [], finalState: 5 }));
    const pool = await open(server);
    const err = (await pool.powershell().addCommand('Fail').invoke().catch((e: unknown) => e)) as Error & { code: string };
    expect(err.code).toBe('PSRP_PIPELINE_FAILED');
    expect(err.stack).toContain('async call site');
    await pool.close();
  });
});
