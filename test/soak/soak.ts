/**
 * Soak test (`npm run soak`, not part of `npm test`), two phases against the lab with WinRM's
 * limits on (docs/lab.md). First the quota soak (test/soak/quota-soak.ts): SOAK_SEQUENTIAL
 * (default 10,000) commands one after another on one pool, then SOAK_CONCURRENT (default 2,000)
 * across 16 concurrent pipelines of it; it fails on any fault (MaxConcurrentCommandsPerShell is
 * 1,000), a shell or live operation left in the lab, or heap growth over 50 %. Then short commands from
 * SOAK_CONCURRENCY pools (default 8) for SOAK_SECONDS (default 180), while a random one-shot fault
 * (docs/lab.md) is armed every SOAK_FAULT_MS (default 2000). Fails (exit code 1) unless at the end:
 * no shell is left in the lab, no promise rejection went unhandled, every failure was a typed
 * PsrpError (or the documented TimeoutError of openTimeoutMs/timeoutMs), every answer was right,
 * and memory is flat (RSS and heap after warm-up vs at the end, at most 50 % growth).
 */
import { noFaults, startLab, type Lab, type LabAction } from '../../src/lab/lab-server.js';
import { HttpTransport, PsrpError, RunspacePool, type WSManTransport } from '../../src/index.js';
import { quotaSoakProblems, runQuotaSoak } from './quota-soak.js';

const env = (name: string, fallback: number): number => {
  const v = Number(process.env[name]);
  return Number.isFinite(v) && v > 0 ? v : fallback;
};
const SECONDS = env('SOAK_SECONDS', 180);
const CONCURRENCY = env('SOAK_CONCURRENCY', 8);
const FAULT_MS = env('SOAK_FAULT_MS', 2000);
/**
 * Opening (Create starts a pwsh process, many seconds on a busy 2-core machine) goes over a patient
 * transport; commands over one with a short requestTimeoutMs, which the stall fault exceeds.
 */
const OPEN_TIMEOUT_MS = 60_000;
const REQUEST_TIMEOUT_MS = 5_000;
/** Pools opened at once: each open starts a pwsh process, which costs seconds of CPU. */
const OPENS_AT_ONCE = 2;
const MAX_GROWTH = 0.5;
const SEQUENTIAL = env('SOAK_SEQUENTIAL', 10_000);
const CONCURRENT = env('SOAK_CONCURRENT', 2_000);
/** Skip a phase: SOAK_PHASES=quota or SOAK_PHASES=faults. */
const PHASES = new Set((process.env['SOAK_PHASES'] ?? 'quota,faults').split(','));
/** Errors after which the pool's shell is gone: close it and open another. */
const LOST = new Set(['PSRP_WSMAN_SHELL_NOT_FOUND', 'PSRP_RUNSPACE_POOL_BROKEN', 'PSRP_POOL_CLOSED']);

let unhandled = 0;
process.on('unhandledRejection', (reason) => {
  unhandled++;
  console.error('unhandled rejection:', reason);
});

const stats = {
  ok: 0,
  wrong: 0,
  failures: new Map<string, number>(),
  untyped: 0,
  opened: 0,
  openFailed: 0,
  closed: 0,
  closeFailed: 0,
  latencies: [] as number[],
};
const count = (m: Map<string, number>, k: string): void => {
  m.set(k, (m.get(k) ?? 0) + 1);
};
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A counting gate: at most `n` holders at once. */
function gate(n: number): <T>(work: () => Promise<T>) => Promise<T> {
  let free = n;
  const waiting: (() => void)[] = [];
  return async <T>(work: () => Promise<T>): Promise<T> => {
    while (free === 0) await new Promise<void>((r) => waiting.push(r));
    free--;
    try {
      return await work();
    } finally {
      free++;
      waiting.shift()?.();
    }
  };
}
const opening = gate(OPENS_AT_ONCE);
const mb = (n: number): string => `${(n / 1024 / 1024).toFixed(1)} MB`;

function memory(): { rss: number; heap: number; external: number } {
  (globalThis as { gc?: () => void }).gc?.();
  const m = process.memoryUsage();
  return { rss: m.rss, heap: m.heapUsed, external: m.external };
}

function recordFailure(e: unknown): string {
  if (e instanceof PsrpError) {
    count(stats.failures, e.code);
    return e.code;
  }
  if (e instanceof DOMException && (e.name === 'TimeoutError' || e.name === 'AbortError')) {
    // openTimeoutMs / timeoutMs: documented to reject with the signal's reason (docs/errors.md).
    count(stats.failures, `${e.name} (openTimeoutMs/timeoutMs)`);
    return e.name;
  }
  stats.untyped++;
  console.error('untyped failure:', e);
  return 'untyped';
}

async function worker(lab: Lab, id: number, deadline: number): Promise<void> {
  const http = { url: lab.url, auth: { username: 'admin', password: lab.users['admin']! }, ca: lab.ca };
  let pool: RunspacePool | undefined;
  let transports: { patient: HttpTransport; short: HttpTransport; current: HttpTransport } | undefined;
  let used = 0;
  const close = async (): Promise<void> => {
    const p = pool;
    const t = transports;
    pool = undefined;
    transports = undefined;
    if (!p || !t) return;
    try {
      t.current = t.patient;
      await p.close();
      stats.closed++;
    } catch (e) {
      stats.closeFailed++;
      recordFailure(e);
    } finally {
      await Promise.all([t.patient.close(), t.short.close()]);
    }
  };
  const open = async (): Promise<RunspacePool> => {
    const t = {
      patient: new HttpTransport({ ...http, requestTimeoutMs: OPEN_TIMEOUT_MS }),
      short: new HttpTransport({ ...http, requestTimeoutMs: REQUEST_TIMEOUT_MS }),
      current: undefined as unknown as HttpTransport,
    };
    t.current = t.patient;
    const transport: WSManTransport = {
      send: (envelope, o) => t.current.send(envelope, o),
      get url() {
        return t.current.url;
      },
      // The worker closes both transports itself once the pool is closed.
      close: () => Promise.resolve(),
    };
    try {
      const p = await RunspacePool.open({ transport, operationTimeoutSeconds: 1 });
      t.current = t.short;
      transports = t;
      return p;
    } catch (e) {
      await Promise.all([t.patient.close(), t.short.close()]);
      throw e;
    }
  };
  let n = id * 1_000_000;
  while (Date.now() < deadline) {
    if (!pool) {
      try {
        pool = await opening(open);
        stats.opened++;
        used = 0;
      } catch (e) {
        stats.openFailed++;
        recordFailure(e);
        await sleep(100);
        continue;
      }
    }
    const i = ++n;
    const t0 = performance.now();
    try {
      const r = await pool
        .powershell()
        .addScript('param($n) $n * 2')
        .addArgument(i)
        .invoke({ timeoutMs: 30_000 });
      stats.latencies.push(performance.now() - t0);
      if (r.output.length === 1 && r.output[0] === i * 2) stats.ok++;
      else stats.wrong++;
    } catch (e) {
      if (LOST.has(recordFailure(e))) await close();
    }
    // Recycle pools now and then, so opening and closing run under faults too.
    if (++used >= 150) await close();
  }
  await close();
}

async function faultLoop(lab: Lab, deadline: number): Promise<void> {
  const actions: LabAction[] = ['Create', 'Command', 'Send', 'Receive', 'Signal', 'Delete'];
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(Math.random() * xs.length)]!;
  while (Date.now() < deadline) {
    await sleep(FAULT_MS * (0.5 + Math.random()));
    const f = lab.behaviours.faults;
    const roll = Math.random();
    if (roll < 0.25) f.resetNextReceive = true;
    else if (roll < 0.5) f.http500Next = pick(actions);
    else if (roll < 0.75) f.http503Next = pick(actions);
    else if (roll < 0.8)
      Object.assign(f, {
        stallNextMs: REQUEST_TIMEOUT_MS + 1000,
        stallAction: pick(['Receive', 'Command'] as const),
      });
    else if (roll < 0.92) f.killPwshOnNextCommand = true;
    else if (roll < 0.94) lab.expireShellsNow();
  }
  Object.assign(lab.behaviours.faults, noFaults());
}

function percentile(xs: number[], p: number): number {
  if (xs.length === 0) return 0;
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** The quota phase: its problems (empty when it passed). */
async function quotaPhase(): Promise<string[]> {
  const lab = await startLab({ mailboxCount: 10 });
  try {
    console.log(
      `quota soak: ${SEQUENTIAL} sequential + ${CONCURRENT} concurrent (16 pipelines) commands on one pool, WinRM limits on`,
    );
    const started = Date.now();
    const r = await runQuotaSoak({
      lab,
      sequential: SEQUENTIAL,
      concurrent: CONCURRENT,
      parallelism: 16,
      onProgress: (done, total) => console.log(`  ${done} / ${total}, ${lab.stats().commands} live commands`),
    });
    const elapsed = (Date.now() - started) / 1000;
    console.log(
      `  ${r.ok} ok in ${elapsed.toFixed(0)} s (${(r.ok / elapsed).toFixed(1)}/s), peak live commands ${r.peakCommands}, ` +
        `heap ${mb(r.heapWarm)} → ${mb(r.heapEnd)}, shells left ${r.liveShells}, operations left ${r.liveOperations}`,
    );
    for (const [k, v] of r.failures) console.log(`  failed ${k}: ${v}`);
    return quotaSoakProblems(r, SEQUENTIAL + CONCURRENT, MAX_GROWTH).map((p) => `quota soak: ${p}`);
  } finally {
    await lab.close();
  }
}

async function main(): Promise<void> {
  const quotaProblems = PHASES.has('quota') ? await quotaPhase() : [];
  if (!PHASES.has('faults')) {
    if (quotaProblems.length > 0) {
      console.error(`\nFAIL: ${quotaProblems.join('; ')}`);
      process.exit(1);
    }
    console.log('\nPASS');
    process.exit(0);
  }
  const started = Date.now();
  const watchdog = setTimeout(
    () => {
      console.error(`FAIL: the soak did not finish within ${SECONDS + 180} s (a hang)`);
      process.exit(1);
    },
    (SECONDS + 180) * 1000,
  );
  watchdog.unref();
  const lab = await startLab({ mailboxCount: 10 });
  const deadline = started + SECONDS * 1000;
  // Warm-up: allocator arenas, TLS sessions and the JIT settle during the first third of the run.
  const warmUpAt = started + Math.max(Math.min(30_000, SECONDS * 200), (SECONDS * 1000) / 3);
  let warm: { rss: number; heap: number; external: number } | undefined;
  const sampler = setInterval(() => {
    if (!warm && Date.now() >= warmUpAt) warm = memory();
  }, 250);
  console.log(`soak: ${SECONDS} s, ${CONCURRENCY} pools, a fault every ~${FAULT_MS} ms against ${lab.url}`);
  const progress = setInterval(() => {
    console.log(
      `  ${Math.round((Date.now() - started) / 1000)} s: ${stats.ok} ok, ${[...stats.failures.values()].reduce((a, b) => a + b, 0)} failed, ${lab.liveShells()} shells`,
    );
  }, 15_000);
  try {
    await Promise.all([
      ...Array.from({ length: CONCURRENCY }, (_, i) => worker(lab, i, deadline)),
      faultLoop(lab, deadline),
    ]);
  } finally {
    clearInterval(progress);
    clearInterval(sampler);
  }
  // Shells go away with Delete; give stragglers (a pwsh being killed) a moment.
  const settle = Date.now() + 30_000;
  while (lab.liveShells() > 0 && Date.now() < settle) await sleep(100);
  const live = lab.liveShells();
  const fired = new Map(lab.firedFaults);
  await lab.close();
  await sleep(500);
  const end = memory();
  const start = warm ?? end;
  const elapsed = (Date.now() - started) / 1000;
  const total = stats.ok + stats.wrong + [...stats.failures.values()].reduce((a, b) => a + b, 0);

  const rows: [string, string][] = [
    ['duration', `${elapsed.toFixed(0)} s`],
    ['commands', `${total} (${(total / elapsed).toFixed(1)}/s)`],
    ['  ok (right answer)', String(stats.ok)],
    ['  wrong answer', String(stats.wrong)],
    ...[...stats.failures.entries()].sort().map(([k, v]): [string, string] => [`  failed ${k}`, String(v)]),
    ['  untyped failures', String(stats.untyped)],
    [
      'latency p50 / p99',
      `${percentile(stats.latencies, 50).toFixed(0)} / ${percentile(stats.latencies, 99).toFixed(0)} ms`,
    ],
    ['pools opened / failed to open', `${stats.opened} / ${stats.openFailed}`],
    ['pools closed / close failed', `${stats.closed} / ${stats.closeFailed}`],
    ...[...fired.entries()].sort().map(([k, v]): [string, string] => [`fault ${k}`, String(v)]),
    ['live shells at the end', String(live)],
    ['unhandled rejections', String(unhandled)],
    [
      'RSS after warm-up → end',
      `${mb(start.rss)} → ${mb(end.rss)} (${(((end.rss - start.rss) / start.rss) * 100).toFixed(0)} %)`,
    ],
    [
      'heap after warm-up → end',
      `${mb(start.heap)} → ${mb(end.heap)} (${(((end.heap - start.heap) / start.heap) * 100).toFixed(0)} %)`,
    ],
    ['external (buffers) after warm-up → end', `${mb(start.external)} → ${mb(end.external)}`],
  ];
  const w = Math.max(...rows.map(([k]) => k.length));
  console.log(`\n| ${'measure'.padEnd(w)} | value |\n|${'-'.repeat(w + 2)}|-------|`);
  for (const [k, v] of rows) console.log(`| ${k.padEnd(w)} | ${v} |`);

  const problems: string[] = [...quotaProblems];
  if (live !== 0) problems.push(`${live} shell(s) left in the lab`);
  if (unhandled !== 0) problems.push(`${unhandled} unhandled rejection(s)`);
  if (stats.untyped !== 0) problems.push(`${stats.untyped} failure(s) that were not a PsrpError`);
  if (stats.wrong !== 0) problems.push(`${stats.wrong} wrong answer(s)`);
  if (stats.ok === 0) problems.push('no command succeeded');
  if (end.rss > start.rss * (1 + MAX_GROWTH)) problems.push(`RSS grew more than ${MAX_GROWTH * 100} %`);
  if (end.heap > start.heap * (1 + MAX_GROWTH)) problems.push(`heap grew more than ${MAX_GROWTH * 100} %`);
  if (problems.length > 0) {
    console.error(`\nFAIL: ${problems.join('; ')}`);
    process.exit(1);
  }
  console.log('\nPASS');
  process.exit(0);
}

await main();
