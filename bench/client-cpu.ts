/**
 * Client CPU per operation (issue 17): what opening a pool, a small command and each streamed object
 * cost the client process alone, beside wall time and request counts; and a cold start (a fresh
 * `node` process: import + open + one command + close).
 *
 * The lab runs in a child process (bench/lab-process.ts), so `process.cpuUsage()` of this process is
 * the client's CPU (user + system) and nothing else: the lab, its HTTP server and its pwsh shells
 * are other processes. Warm figures come after warm-up rounds, as medians over several runs. The
 * library measured is the bundled `dist/` as `npm run build` makes it (see plainCopy), not src/
 * through tsx.
 *
 * - open: `RunspacePool.open` (Basic over HTTPS to the lab's `/wsman`, the lab's CA added), each
 *   open in a pool of its own, CPU from the call to its resolution; then `close()` likewise.
 * - command: `Get-Date` on an open pool, run in batches of BENCH_COMMANDS (default 100)
 *   sequentially; CPU of the batch (the background Signal that releases each command included) over
 *   its size. Two figures: the first batch on a new pool, and the median of BENCH_COMMAND_BATCHES
 *   batches after BENCH_COMMAND_WARMUP (2,000) commands, when V8 has optimised the command path (its
 *   optimising compilers run on helper threads, which `process.cpuUsage()` counts: the note gives
 *   the main thread's share, from /proc/self/task).
 * - streamed object: `Get-Mailbox -ResultSize Unlimited` through `connectExchange` over a lab of
 *   BENCH_STREAM_MAILBOXES (default 10,000) mailboxes, consuming the stream without keeping the
 *   objects; CPU over the stream divided by the objects, and by the Receive requests.
 * - cold start: `node cold-start.js` in a fresh process on the package as `npm run build` makes it
 *   (dist/ bundled; BENCH_COLD_FILES=1: the plain-JS copy of src/, each file transpiled on its own;
 *   BENCH_COLD_SRC=<checkout> takes another tree to compare, per file if it has no
 *   scripts/build.ts); its own `process.cpuUsage()` at exit (Node's start-up included) and the wall
 *   time from spawn to exit, median over BENCH_COLD_RUNS (5); per phase, the CPU of threads other
 *   than the main one (V8's background compilers) when it is 20 ms or more.
 *
 * `BENCH_CPU_PROF=<dir>` writes a `.cpuprofile` of each cold-start process there (and of the warm
 * phases when this process itself runs under `node --cpu-prof`); `bench/cpu-profile-summary.ts`
 * reads one.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Session } from 'node:inspector/promises';
import { loadavg } from 'node:os';
import { pathToFileURL } from 'node:url';
import type * as Core from '../src/index.js';
import type * as Exchange from '../src/exchange/index.js';
import { forkLab, type LabChild } from './lab-process.js';
import { RequestCounter } from './roundtrips.js';
import { printTable } from './util.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const num = (name: string, fallback: number): number => Number(process.env[name] ?? fallback);

/** CPU (user + system) of this process in ms since `from`. */
function cpuMs(from?: NodeJS.CpuUsage): number {
  const u = process.cpuUsage(from);
  return (u.user + u.system) / 1000;
}

function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/**
 * With BENCH_CPU_PROF=<dir>, profiles what `body` does (after its warm-up) into <dir>/<name>.cpuprofile,
 * through the inspector, so that start-up and the lab's set-up stay out of the profile.
 */
async function profiled<T>(name: string, body: () => Promise<T>): Promise<T> {
  const dir = process.env['BENCH_CPU_PROF'];
  if (!dir) return body();
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 200 });
  await session.post('Profiler.start');
  try {
    return await body();
  } finally {
    const { profile } = await session.post('Profiler.stop');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `${name}.cpuprofile`), JSON.stringify(profile));
    session.disconnect();
  }
}

/**
 * The library under measurement: what users run, the bundled `dist/` that {@link plainCopy} builds
 * (or, without a build script, its per-file plain-JS copy of src/), rather than src/ through tsx,
 * whose loader hooks and transform users never run.
 */
interface Library {
  readonly RunspacePool: typeof Core.RunspacePool;
  readonly connectExchange: typeof Exchange.connectExchange;
  /** `dist/` (bundled) or `src/` (per file). */
  readonly from: string;
}

async function library(dir: string): Promise<Library> {
  const from = existsSync(join(dir, 'dist', 'index.js')) ? 'dist' : 'src';
  const core = (await import(pathToFileURL(join(dir, from, 'index.js')).href)) as typeof Core;
  const exchange = (await import(
    pathToFileURL(join(dir, from, 'exchange', 'index.js')).href
  )) as typeof Exchange;
  return { RunspacePool: core.RunspacePool, connectExchange: exchange.connectExchange, from };
}

/** CPU (user + system) in ms of each thread of this process so far, by thread id and name (Linux). */
function threadCpu(): Map<string, number> {
  const out = new Map<string, number>();
  try {
    for (const t of readdirSync('/proc/self/task')) {
      const stat = readFileSync(`/proc/self/task/${t}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(t, (Number(f[11]) + Number(f[12])) * (1000 / 100));
    }
  } catch {
    // Not Linux: no split by thread.
  }
  return out;
}

/** The share of the CPU since `before` spent on this process's main thread (the rest: V8's and libuv's helper threads). */
function mainThreadShare(before: Map<string, number>): number | undefined {
  const after = threadCpu();
  let all = 0;
  for (const [t, ms] of after) all += ms - (before.get(t) ?? 0);
  const main = (after.get(String(process.pid)) ?? 0) - (before.get(String(process.pid)) ?? 0);
  return all > 0 ? main / all : undefined;
}

const fmt = (n: number, digits = 2): string => (Number.isFinite(n) ? n.toFixed(digits) : '-');

interface Row {
  readonly what: string;
  readonly runs: number;
  readonly cpu: number;
  readonly wall: number;
  readonly requests: string;
  readonly note: string;
}

/** Warm open and close: each in a pool of its own. */
async function opens(lib: Library, lab: LabChild, rows: Row[]): Promise<void> {
  const warmup = num('BENCH_OPEN_WARMUP', 2);
  const runs = num('BENCH_OPENS', 7);
  const counter = new RequestCounter();
  const open = { cpu: [] as number[], wall: [] as number[], req: [] as number[], http: [] as number[] };
  const close = { cpu: [] as number[], wall: [] as number[], req: [] as number[] };
  const once = async (i: number): Promise<void> => {
    counter.take();
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const pool = await lib.RunspacePool.open({
      uri: lab.url,
      auth: { username: 'admin', password: lab.users['admin']! },
      ca: lab.ca,
    });
    const cpu = cpuMs(c0);
    const wall = performance.now() - t0;
    const got = counter.take();
    const c1 = process.cpuUsage();
    const t1 = performance.now();
    await pool.close();
    const closeCpu = cpuMs(c1);
    const closeWall = performance.now() - t1;
    const closed = counter.take();
    if (i < warmup) return;
    open.cpu.push(cpu);
    open.wall.push(wall);
    open.req.push(got.actions.length);
    open.http.push(got.http);
    close.cpu.push(closeCpu);
    close.wall.push(closeWall);
    close.req.push(closed.actions.length);
  };
  try {
    for (let i = 0; i < warmup; i++) await once(i);
    await profiled('open', async () => {
      for (let i = warmup; i < warmup + runs; i++) await once(i);
    });
  } finally {
    counter.dispose();
  }
  rows.push({
    what: 'open (RunspacePool.open, warm)',
    runs,
    cpu: median(open.cpu),
    wall: median(open.wall),
    requests: `${median(open.req)} WS-Man / ${median(open.http)} HTTP`,
    note: `min ${fmt(Math.min(...open.cpu))}, max ${fmt(Math.max(...open.cpu))} ms CPU`,
  });
  rows.push({
    what: 'close (warm)',
    runs,
    cpu: median(close.cpu),
    wall: median(close.wall),
    requests: `${median(close.req)} WS-Man`,
    note: '',
  });
}

/**
 * Small commands on one pool, in batches: the first batch after the pool opens (V8 still compiling
 * the command path), then, after BENCH_COMMAND_WARMUP commands, the steady state.
 */
async function commands(lib: Library, lab: LabChild, rows: Row[]): Promise<void> {
  const size = num('BENCH_COMMANDS', 100);
  const batches = num('BENCH_COMMAND_BATCHES', 5);
  const warmup = num('BENCH_COMMAND_WARMUP', 2000);
  const pool = await lib.RunspacePool.open({
    uri: lab.url,
    auth: { username: 'admin', password: lab.users['admin']! },
    ca: lab.ca,
  });
  const counter = new RequestCounter();
  const one = async (): Promise<void> => {
    const r = await pool.powershell().addCommand('Get-Date').invoke();
    if (r.output.length !== 1) throw new Error(`Get-Date returned ${r.output.length} objects`);
  };
  /** One batch: CPU and wall per command, WS-Man requests per command, the main thread's share. */
  const batch = async (): Promise<{ cpu: number; wall: number; req: number; main: number | undefined }> => {
    counter.take();
    const threads = threadCpu();
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    for (let i = 0; i < size; i++) await one();
    // The Signal that releases the last command leaves on the next turn: let it finish.
    await new Promise((r) => setTimeout(r, 50));
    return {
      cpu: cpuMs(c0) / size,
      wall: (performance.now() - t0 - 50) / size,
      req: counter.take().actions.length / size,
      main: mainThreadShare(threads),
    };
  };
  const steady: Awaited<ReturnType<typeof batch>>[] = [];
  let first: Awaited<ReturnType<typeof batch>>;
  try {
    first = await batch();
    for (let i = size; i < warmup; i++) await one();
    await new Promise((r) => setTimeout(r, 100));
    await profiled('command', async () => {
      for (let b = 0; b < batches; b++) steady.push(await batch());
    });
  } finally {
    counter.dispose();
    await pool.close();
  }
  const share = (m: number | undefined): string =>
    m === undefined ? '' : `, ${Math.round(m * 100)} % on the main thread`;
  rows.push({
    what: 'small command (Get-Date, first 100 on a new pool)',
    runs: size,
    cpu: first.cpu,
    wall: first.wall,
    requests: `${fmt(first.req)} WS-Man`,
    note: `per command, Signal included; V8 still optimising${share(first.main)}`,
  });
  const mains = steady.map((b) => b.main).filter((m): m is number => m !== undefined);
  rows.push({
    what: `small command (Get-Date, warm: after ${warmup.toLocaleString('en-US')})`,
    runs: batches * size,
    cpu: median(steady.map((b) => b.cpu)),
    wall: median(steady.map((b) => b.wall)),
    requests: `${fmt(median(steady.map((b) => b.req)))} WS-Man`,
    note: `per command; batches of ${size}, Signal included${share(mains.length ? median(mains) : undefined)}`,
  });
}

/** Streams every mailbox of a lab of `count`. */
async function streaming(lib: Library, rows: Row[]): Promise<void> {
  const count = num('BENCH_STREAM_MAILBOXES', 10_000);
  const runs = num('BENCH_STREAM_RUNS', 3);
  if (runs <= 0) return;
  const lab = await forkLab({ mailboxCount: count });
  try {
    const ex = await lib.connectExchange({
      uri: lab.exchangeUrl,
      credential: { username: 'admin', password: lab.users['admin']! },
      ca: lab.ca,
    });
    const cpu: number[] = [];
    const wall: number[] = [];
    const req: number[] = [];
    try {
      await ex.invoke('Get-Mailbox', { ResultSize: 1 }); // warm: the first command imports the module
      await profiled('stream', async () => {
        for (let r = 0; r < runs; r++) {
          const counter = new RequestCounter();
          let n = 0;
          const c0 = process.cpuUsage();
          const t0 = performance.now();
          try {
            for await (const m of ex.stream('Get-Mailbox', { ResultSize: 'Unlimited' })) {
              if (typeof m !== 'object') throw new Error('not a mailbox');
              n++;
            }
          } finally {
            counter.dispose();
          }
          const c = cpuMs(c0);
          wall.push(performance.now() - t0);
          if (n !== count) throw new Error(`streamed ${n} of ${count} mailboxes`);
          const requests = counter.take().actions.length;
          cpu.push(c);
          req.push(requests);
        }
      });
    } finally {
      await ex.close();
    }
    const i = cpu.indexOf(median(cpu)) >= 0 ? cpu.indexOf(median(cpu)) : 0;
    const requests = req[i] ?? median(req);
    rows.push({
      what: `streamed mailbox (${count.toLocaleString('en-US')}, Get-Mailbox)`,
      runs,
      cpu: median(cpu) / count,
      wall: median(wall) / count,
      requests: `${requests.toLocaleString('en-US')} WS-Man per run`,
      note: `run ${fmt(median(cpu), 0)} ms CPU / ${fmt(median(wall) / 1000, 1)} s; ${fmt(median(cpu) / requests, 3)} ms CPU per request`,
    });
  } finally {
    await lab.close();
  }
}

/**
 * The library as files in a directory of its own: `src/`, a plain-JS copy of src/ with each file
 * transpiled alone, and `dist/`, the package as `npm run build` makes it (scripts/build.ts:
 * bundled by esbuild, what users get), which the warm phases (see {@link library}) and the cold
 * start import. BENCH_COLD_FILES=1, or a BENCH_COLD_SRC tree without scripts/build.ts (as main
 * before the bundling), leaves `dist/` out: both then import the per-file copy. Made once per run;
 * returns the directory.
 */
function plainCopy(): Promise<string> {
  copied ??= makeCopy();
  return copied;
}
let copied: Promise<string> | undefined;

async function makeCopy(): Promise<string> {
  const ts = (await import('typescript')).default;
  // BENCH_COLD_SRC: another checkout's tree (its src/ is used) to compare cold starts.
  const from = process.env['BENCH_COLD_SRC'] ?? ROOT;
  const out = join(
    ROOT,
    'node_modules',
    '.cache',
    from === ROOT ? 'psrp-bench-cold' : 'psrp-bench-cold-other',
  );
  const walk = (dir: string): string[] =>
    readdirSync(dir).flatMap((f) => {
      const p = join(dir, f);
      return statSync(p).isDirectory() ? walk(p) : p.endsWith('.ts') && !p.endsWith('.d.ts') ? [p] : [];
    });
  for (const file of walk(join(from, 'src'))) {
    const js = ts.transpileModule(readFileSync(file, 'utf8'), {
      compilerOptions: {
        target: ts.ScriptTarget.ES2022,
        module: ts.ModuleKind.ESNext,
        verbatimModuleSyntax: true,
      },
    }).outputText;
    const target = join(out, relative(from, file)).replace(/\.ts$/, '.js');
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, js);
  }
  rmSync(join(out, 'dist'), { recursive: true, force: true });
  if (process.env['BENCH_COLD_FILES'] !== '1' && existsSync(join(from, 'scripts', 'build.ts'))) {
    // That tree's own build (its esbuild), JavaScript only, into <out>/dist.
    await new Promise<void>((resolve, reject) => {
      const child = spawn(
        process.execPath,
        ['--import', 'tsx', 'scripts/build.ts', join(out, 'dist'), '--no-types'],
        { cwd: from, stdio: 'inherit' },
      );
      child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`build exited with ${code}`))));
    });
  }
  writeFileSync(join(out, 'package.json'), '{"type":"module"}\n');
  // Each mark: [process CPU ms, wall ms, main-thread CPU ms]. The main thread's from
  // /proc/thread-self/stat (Linux; clock ticks, 10 ms steps), so that V8's background threads
  // (compilers, GC helpers) show as the difference. argv[3]: the module to import.
  writeFileSync(
    join(out, 'cold-start.js'),
    `import { readFileSync } from 'node:fs';
const t = [];
const mainMs = () => {
  try {
    const s = readFileSync('/proc/thread-self/stat', 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) * 10;
  } catch {
    return NaN;
  }
};
const mark = () => { const u = process.cpuUsage(); t.push([(u.user + u.system) / 1000, performance.now(), mainMs()]); };
mark();
const { RunspacePool } = await import(process.argv[3]);
mark();
const lab = JSON.parse(process.argv[2]);
const pool = await RunspacePool.open({ uri: lab.url, auth: { username: 'admin', password: lab.password }, ca: lab.ca });
mark();
const out = await pool.powershell().addCommand('Get-Date').invoke();
if (out.output.length !== 1) throw new Error('Get-Date returned ' + out.output.length + ' objects');
mark();
await pool.close();
mark();
process.stdout.write(JSON.stringify(t));
`,
  );
  return out;
}

/** Fresh processes: import + open + one command + close. */
async function coldStart(lab: LabChild, rows: Row[]): Promise<void> {
  const runs = num('BENCH_COLD_RUNS', 5);
  if (runs <= 0) return;
  const dir = await plainCopy();
  const entry = existsSync(join(dir, 'dist', 'index.js')) ? './dist/index.js' : './src/index.js';
  const prof = process.env['BENCH_CPU_PROF'];
  const arg = JSON.stringify({ url: lab.url, password: lab.users['admin'], ca: lab.ca });
  const totals: number[] = [];
  const walls: number[] = [];
  const phases: number[][] = [];
  const offMain: number[][] = [];
  for (let i = 0; i < runs + 1; i++) {
    const t0 = performance.now();
    const child = spawn(
      process.execPath,
      [...(prof ? ['--cpu-prof', `--cpu-prof-dir=${prof}`] : []), join(dir, 'cold-start.js'), arg, entry],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let text = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (text += d));
    const code = await new Promise<number | null>((r) => child.once('close', r));
    const wall = performance.now() - t0;
    if (code !== 0) throw new Error(`cold start exited with ${code}`);
    if (i === 0) continue; // the first run fills the OS file cache
    const marks = JSON.parse(text) as [number, number, number | null][];
    totals.push(marks[marks.length - 1]![0]);
    walls.push(wall);
    phases.push(marks.slice(1).map((m, k) => m[0] - marks[k]![0]));
    // CPU of the other threads in each phase (null: no /proc/thread-self on this system).
    offMain.push(marks.slice(1).map((m, k) => m[0] - marks[k]![0] - ((m[2] ?? NaN) - (marks[k]![2] ?? NaN))));
  }
  const names = ['import', 'open', 'command', 'close'];
  const before = median(phases.map((p, k) => totals[k]! - p.reduce((a, b) => a + b, 0)));
  const off = (k: number): string => {
    const ms = median(offMain.map((p) => p[k]!));
    return ms >= 20 ? ` (${fmt(ms, 0)} off the main thread)` : '';
  };
  rows.push({
    what: `cold start (fresh node: import+open+command+close; ${entry.startsWith('./dist/') ? 'bundled dist/' : 'per-file src/'})`,
    runs,
    cpu: median(totals),
    wall: median(walls),
    requests: '',
    note:
      `node start ${fmt(before, 0)}, ` +
      names.map((n, k) => `${n} ${fmt(median(phases.map((p) => p[k]!)), 0)}${off(k)}`).join(', ') +
      ' ms CPU',
  });
}

export async function run(): Promise<void> {
  const rows: Row[] = [];
  const load0 = loadavg()[0]!;
  const only = (process.env['BENCH_CPU_ONLY'] ?? 'open,command,cold,stream').split(',');
  const lib = await library(await plainCopy());
  const lab = await forkLab();
  try {
    if (only.includes('open')) await opens(lib, lab, rows);
    if (only.includes('command')) await commands(lib, lab, rows);
    if (only.includes('cold')) await coldStart(lab, rows);
  } finally {
    await lab.close();
  }
  if (only.includes('stream')) await streaming(lib, rows);
  printTable(
    ['what', 'runs', 'client CPU ms (median)', 'wall ms (median)', 'requests', 'notes'],
    rows.map((r) => [
      r.what,
      String(r.runs),
      fmt(r.cpu, r.cpu < 1 ? 3 : 2),
      fmt(r.wall, r.wall < 1 ? 3 : 1),
      r.requests,
      r.note,
    ]),
  );
  console.log(
    `Client CPU: process.cpuUsage() (user + system) of this process alone; the lab and its pwsh shells are other processes. Warm phases on ${lib.from === 'dist' ? 'the bundled dist/' : 'the per-file src/ copy'}. Load average (1 min) ${load0.toFixed(1)} at start, ${loadavg()[0]!.toFixed(1)} at end, on ${
      (await import('node:os')).cpus().length
    } cores.`,
  );
}
