/**
 * The quota soak: many commands on ONE pool against the lab with WinRM's limits on (docs/lab.md),
 * first one after another, then across concurrent pipelines. A client that leaves commands
 * unterminated hits MaxConcurrentCommandsPerShell (Windows: the 1001st command of a shell fails
 * with WSManFault 2150859241); one that leaks shells or operations ends with them counted in
 * `lab.stats()`. Used by `npm run soak` (10,000 + 2,000) and test/soak/soak-short.test.ts.
 */
import type { Lab } from '../../src/lab/lab-server.js';
import { PsrpError, RunspacePool, WSManFaultError } from '../../src/index.js';

export interface QuotaSoakOptions {
  readonly lab: Lab;
  /** Commands one after another. */
  readonly sequential: number;
  /** Commands across `parallelism` concurrent pipelines of the same pool. */
  readonly concurrent: number;
  readonly parallelism: number;
  /** Stop after this many failed commands (a failing client fails every command after the limit). Default 10. */
  readonly maxFailures?: number;
  readonly onProgress?: (done: number, total: number) => void;
}

export interface QuotaSoakResult {
  readonly ok: number;
  readonly wrong: number;
  /** Failures by `code` (and WSManFault code when there is one). */
  readonly failures: Map<string, number>;
  /** The first failure's message (what the server said). */
  readonly firstFailure: string | undefined;
  /** Index (1-based) of the first failed command. */
  readonly firstFailedAt: number | undefined;
  /** The largest live-command count the lab saw on the pool's shell. */
  readonly peakCommands: number;
  /** After the pool closed. */
  readonly liveShells: number;
  readonly liveOperations: number;
  /**
   * Heap (after gc when exposed) at 20 % and at the end of the sequential commands: the same pool in
   * the same state, so growth between them is what the commands leave behind.
   */
  readonly heapWarm: number;
  readonly heapEnd: number;
}

function heap(): number {
  (globalThis as { gc?: () => void }).gc?.();
  return process.memoryUsage().heapUsed;
}

export async function runQuotaSoak(o: QuotaSoakOptions): Promise<QuotaSoakResult> {
  const { lab } = o;
  const maxFailures = o.maxFailures ?? 10;
  const total = o.sequential + o.concurrent;
  const failures = new Map<string, number>();
  let ok = 0;
  let wrong = 0;
  let done = 0;
  let failed = 0;
  let firstFailure: string | undefined;
  let firstFailedAt: number | undefined;
  let peakCommands = 0;
  let heapWarm = 0;
  let heapEnd = 0;
  const pool = await RunspacePool.open({
    uri: lab.url,
    auth: { username: 'admin', password: lab.users['admin']! },
    ca: lab.ca,
    maxRunspaces: o.parallelism,
  });
  const one = async (i: number): Promise<void> => {
    try {
      const r = await pool
        .powershell()
        .addScript('param($n) $n * 2')
        .addArgument(i)
        .invoke({ timeoutMs: 120_000 });
      if (r.output.length === 1 && r.output[0] === i * 2) ok++;
      else wrong++;
    } catch (e) {
      failed++;
      const key =
        e instanceof WSManFaultError && e.wsmanFaultCode !== undefined
          ? `${e.code} (WSManFault ${e.wsmanFaultCode})`
          : e instanceof PsrpError
            ? e.code
            : `untyped ${(e as Error).name}`;
      failures.set(key, (failures.get(key) ?? 0) + 1);
      if (firstFailure === undefined) {
        firstFailure = (e as Error).message;
        firstFailedAt = done + 1;
      }
    } finally {
      done++;
      peakCommands = Math.max(peakCommands, lab.stats().commands);
      if (done === Math.ceil(o.sequential / 5)) heapWarm = heap();
      if (done % 500 === 0) o.onProgress?.(done, total);
    }
  };
  try {
    for (let i = 1; i <= o.sequential && failed < maxFailures; i++) await one(i);
    heapEnd = heap();
    let next = o.sequential;
    const end = o.sequential + o.concurrent;
    await Promise.all(
      Array.from({ length: o.parallelism }, async () => {
        while (next < end && failed < maxFailures) await one(++next);
      }),
    );
  } finally {
    await pool.close();
  }
  const stats = lab.stats();
  return {
    ok,
    wrong,
    failures,
    firstFailure,
    firstFailedAt,
    peakCommands,
    liveShells: stats.shells,
    liveOperations: stats.operations,
    heapWarm: heapWarm || heapEnd,
    heapEnd,
  };
}

/** What is wrong with a result (empty when it passed). */
export function quotaSoakProblems(r: QuotaSoakResult, expected: number, maxHeapGrowth?: number): string[] {
  const problems: string[] = [];
  if (r.failures.size > 0)
    problems.push(
      `${[...r.failures.values()].reduce((a, b) => a + b, 0)} command(s) failed, the first (command ${r.firstFailedAt}): ${r.firstFailure}`,
    );
  if (r.wrong > 0) problems.push(`${r.wrong} wrong answer(s)`);
  if (r.ok !== expected && r.failures.size === 0) problems.push(`${r.ok} of ${expected} commands answered`);
  if (r.liveShells !== 0) problems.push(`${r.liveShells} shell(s) left in the lab`);
  if (r.liveOperations !== 0) problems.push(`${r.liveOperations} live operation(s) left in the lab`);
  if (maxHeapGrowth !== undefined && r.heapEnd > r.heapWarm * (1 + maxHeapGrowth))
    problems.push(`heap grew more than ${maxHeapGrowth * 100} % (${r.heapWarm} → ${r.heapEnd} bytes)`);
  return problems;
}
