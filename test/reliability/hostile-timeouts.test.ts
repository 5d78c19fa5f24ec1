/**
 * Issue 12, transport half: every timeout means what it says. A hostile WS-Man server on loopback
 * (test/helpers/hostile-wsman-server.ts) hangs, trickles one byte a second, or answers Receives at
 * once with nothing; the public client must reject with a `TimeoutError` (`PSRP_TIMEOUT`) that
 * names the stage and the URL, within its limit plus a second, and delete every shell it created.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { RunspacePool, TimeoutError, type PsrpError, type RunspacePoolOptions } from '../../src/index.js';
import { startHostileServer, trickle, type HostileServer } from '../helpers/hostile-wsman-server.js';
import { closeAllServers } from '../http/servers.js';

afterEach(closeAllServers);

/** Slack allowed above a limit for a loaded machine: the bound is the limit + 1 s. */
const SLACK_MS = 1_000;

const opts = (server: HostileServer, extra: Partial<RunspacePoolOptions> = {}): RunspacePoolOptions => ({
  uri: server.url,
  operationTimeoutSeconds: 1,
  cleanupTimeoutMs: 500,
  ...extra,
});

async function failure(p: Promise<unknown>): Promise<PsrpError> {
  return p.then(
    (v) => {
      throw new Error(`expected a rejection, got ${JSON.stringify(v)}`);
    },
    (e: unknown) => e as PsrpError,
  );
}

async function timed<T>(p: Promise<T>): Promise<{ value: T; ms: number }> {
  const started = performance.now();
  const value = await p;
  return { value, ms: performance.now() - started };
}

const endless = (): { endless: true } => ({ endless: true });

describe('invoke({ timeoutMs }) rejects within timeoutMs + 1 s in every case', () => {
  it('a pipeline whose Receives and Signals never answer: TimeoutError stage invoke, the stop-and-drain off the caller’s path', async () => {
    const server = await startHostileServer({ planner: endless });
    const pool = await RunspacePool.open(opts(server));
    server.hostile(
      (req) => req.action === 'Signal' || (req.action === 'Receive' && /CommandId=/.test(req.body)),
    );
    const { value: e, ms } = await timed(
      failure(pool.powershell().addCommand('Get-Forever').invoke({ timeoutMs: 1_000 })),
    );
    expect(e).toBeInstanceOf(TimeoutError);
    expect(e).toMatchObject({ code: 'PSRP_TIMEOUT', stage: 'invoke', timeoutMs: 1_000 });
    expect(e.message).toContain(server.url);
    expect(ms).toBeLessThan(1_000 + SLACK_MS);
    const closed = await timed(pool.close());
    // Signal (0.5 s) + the drain (at most 3 × 0.5 s) + terminate (0.5 s) + Delete, each bounded.
    expect(closed.ms).toBeLessThan(6_000);
    expect(server.count('Create')).toBe(1);
    expect(server.count('Delete')).toBe(1);
  }, 20_000);

  it('a server that trickles one byte a second into every Receive and Signal: still timeoutMs + 1 s', async () => {
    const server = await startHostileServer({ planner: endless });
    const pool = await RunspacePool.open(opts(server));
    server.hostile((req, res) => {
      if (req.action !== 'Signal' && !(req.action === 'Receive' && /CommandId=/.test(req.body))) return false;
      void req.honest().then((text) => trickle(res, text));
      return true;
    });
    const { value: e, ms } = await timed(
      failure(pool.powershell().addCommand('Get-Forever').invoke({ timeoutMs: 1_500 })),
    );
    expect(e).toMatchObject({ name: 'TimeoutError', code: 'PSRP_TIMEOUT', stage: 'invoke' });
    expect(ms).toBeLessThan(1_500 + SLACK_MS);
    await pool.close();
    expect(server.count('Delete')).toBe(server.count('Create'));
  }, 20_000);
});

describe('openTimeoutMs bounds open() end to end, the Delete after a failed open included', () => {
  it('a Create that never answers and a Delete that trickles: TimeoutError stage open within openTimeoutMs + 1 s, the proposed shell deleted', async () => {
    const server = await startHostileServer();
    server.hostile((req, res) => {
      if (req.action === 'Create') return true; // never answers
      if (req.action === 'Delete') {
        void req.honest().then((text) => trickle(res, text));
        return true;
      }
      return false;
    });
    const { value: e, ms } = await timed(
      failure(RunspacePool.open(opts(server, { openTimeoutMs: 1_500, cleanupTimeoutMs: 30_000 }))),
    );
    expect(e).toBeInstanceOf(TimeoutError);
    expect(e).toMatchObject({ code: 'PSRP_TIMEOUT', stage: 'open', timeoutMs: 1_500 });
    expect(e.message).toContain(server.url);
    expect(ms).toBeLessThan(1_500 + SLACK_MS + 500);
    expect(server.count('Create')).toBe(1);
    expect(server.count('Delete')).toBe(1);
    expect(server.deletedShellIds).toEqual(server.proposedShellIds);
  }, 20_000);

  it('a server that accepts the connection and never answers, default read timeout lowered: TimeoutError stage request naming readTimeoutMs', async () => {
    const server = await startHostileServer();
    server.hostile(() => true);
    const { value: e, ms } = await timed(
      failure(RunspacePool.open(opts(server, { readTimeoutMs: 700, openTimeoutMs: 10_000 }))),
    );
    expect(e).toMatchObject({ name: 'TimeoutError', code: 'PSRP_TIMEOUT', stage: 'request', timeoutMs: 700 });
    expect(e.message).toMatch(/readTimeoutMs/);
    expect(e.message).toContain('127.0.0.1');
    expect(ms).toBeLessThan(700 + 500 + SLACK_MS * 2); // Create's read timeout + the Delete's cleanup limit
    expect(server.count('Delete')).toBe(1);
  }, 20_000);

  it('a Receive that never answers: stage receive after OperationTimeout + readTimeoutMs, not requestTimeoutMs', async () => {
    const server = await startHostileServer({ planner: endless });
    const pool = await RunspacePool.open(opts(server, { readTimeoutMs: 500 }));
    server.hostile((req) => req.action === 'Receive' && /CommandId=/.test(req.body));
    const { value: e, ms } = await timed(failure(pool.powershell().addCommand('Get-Forever').invoke()));
    expect(e).toMatchObject({ name: 'TimeoutError', code: 'PSRP_TIMEOUT', stage: 'receive' });
    expect(ms).toBeLessThan(1_000 + 500 + SLACK_MS * 2);
    server.hostile(undefined);
    await pool.close();
    expect(server.count('Delete')).toBe(1);
  }, 20_000);

  it('a Delete that never answers on close() under a cleanup limit: stage cleanup', async () => {
    const server = await startHostileServer();
    const pool = await RunspacePool.open(opts(server));
    server.hostile((req) => req.action === 'Delete');
    const { value: e, ms } = await timed(failure(pool.close({ timeoutMs: 400 })));
    expect(e).toMatchObject({ name: 'TimeoutError', code: 'PSRP_TIMEOUT', stage: 'cleanup', timeoutMs: 400 });
    expect(ms).toBeLessThan(400 + SLACK_MS);
    expect(server.count('Delete')).toBe(1);
  }, 20_000);
});

describe('Receives that come back at once with nothing are backed off', () => {
  it('an empty ReceiveResponse answered instantly: a few requests a second, not thousands', async () => {
    const server = await startHostileServer({ planner: endless });
    const pool = await RunspacePool.open(opts(server));
    server.hostile((req, res) => {
      if (!(req.action === 'Receive' && /CommandId=/.test(req.body))) return false;
      const relates = /<(?:[\w.-]+:)?MessageID>([^<]+)</.exec(req.body)?.[1] ?? '';
      res.writeHead(200, { 'content-type': 'application/soap+xml;charset=UTF-8' });
      res.end(
        `<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:rsp="http://schemas.microsoft.com/wbem/wsman/1/windows/shell"><s:Header><a:Action>http://schemas.microsoft.com/wbem/wsman/1/windows/shell/ReceiveResponse</a:Action><a:RelatesTo>${relates}</a:RelatesTo></s:Header><s:Body><rsp:ReceiveResponse/></s:Body></s:Envelope>`,
      );
      return true;
    });
    const before = server.count('Receive');
    const e = await failure(pool.powershell().addCommand('Get-Nothing').invoke({ timeoutMs: 3_000 }));
    expect(e).toMatchObject({ code: 'PSRP_TIMEOUT', stage: 'invoke' });
    const receives = server.count('Receive') - before;
    // 5, 10, 20 ... ms doubling to the 1 s OperationTimeout: about a dozen in 3 s (was ~1,780/s).
    expect(receives).toBeGreaterThan(3);
    expect(receives).toBeLessThan(40);
    server.hostile(undefined);
    await pool.close();
    expect(server.count('Delete')).toBe(1);
  }, 20_000);
});
