/**
 * Reads a V8 `.cpuprofile` (`node --cpu-prof`) and prints where the CPU went: the top functions by
 * self time, and the time by area (psrp's own modules by folder, undici, Node's internals, GC, the
 * program idle). `npx tsx bench/cpu-profile-summary.ts FILE.cpuprofile [top=25] [filter]`: with a
 * filter, only samples whose stack contains a function or URL matching it (a regular expression)
 * count, e.g. `RunspacePool.open` or `http-transport`.
 */
import { readFileSync } from 'node:fs';

interface Node {
  readonly id: number;
  readonly callFrame: {
    readonly functionName: string;
    readonly url: string;
    readonly lineNumber: number;
  };
  readonly children?: readonly number[];
}
interface Profile {
  readonly nodes: readonly Node[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
  readonly startTime: number;
  readonly endTime: number;
}

/** The area a frame belongs to. */
function area(url: string, name: string): string {
  if (name === '(garbage collector)') return 'GC';
  if (name === '(idle)') return 'idle';
  if (name === '(program)') return 'program (native, unattributed)';
  const src = /\/src\/([^/]+)\//.exec(url) ?? /\/src\/([^/]+)\.[tj]s/.exec(url);
  if (src && !url.includes('node_modules')) return `psrp src/${src[1]}`;
  const mod = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (mod) return mod[1]!;
  if (url.startsWith('node:')) return `node ${url.slice(5).split('/')[0]}`;
  if (url === '') return 'native';
  return 'other';
}

const short = (url: string): string => url.replace(/^.*?\/(src|node_modules|bench)\//, '$1/');

export function summarise(file: string, top = 25, filter?: RegExp): void {
  const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const matches = new Map<number, boolean>();
  const inScope = (id: number): boolean => {
    if (!filter) return true;
    const known = matches.get(id);
    if (known !== undefined) return known;
    const n = byId.get(id)!;
    const up = parent.get(id);
    const hit =
      filter.test(n.callFrame.functionName) ||
      filter.test(n.callFrame.url) ||
      (up !== undefined && inScope(up));
    matches.set(id, hit);
    return hit;
  };
  const self = new Map<string, number>();
  const areas = new Map<string, number>();
  let total = 0;
  for (let i = 0; i < p.samples.length; i++) {
    const id = p.samples[i]!;
    const dt = (p.timeDeltas[i + 1] ?? 0) / 1000;
    const n = byId.get(id)!;
    if (n.callFrame.functionName === '(idle)' || !inScope(id)) continue;
    total += dt;
    const key = `${n.callFrame.functionName || '(anonymous)'} ${short(n.callFrame.url)}:${n.callFrame.lineNumber + 1}`;
    self.set(key, (self.get(key) ?? 0) + dt);
    const a = area(n.callFrame.url, n.callFrame.functionName);
    areas.set(a, (areas.get(a) ?? 0) + dt);
  }
  const pct = (ms: number): string => `${((100 * ms) / total).toFixed(1)}%`;
  console.log(
    `${file}: ${total.toFixed(1)} ms of samples (idle excluded)${filter ? ` under /${filter.source}/` : ''}`,
  );
  console.log('\nby area:');
  for (const [a, ms] of [...areas].sort((x, y) => y[1] - x[1]).slice(0, 20))
    console.log(`  ${ms.toFixed(1).padStart(8)} ms ${pct(ms).padStart(6)}  ${a}`);
  console.log(`\ntop ${top} functions by self time:`);
  for (const [k, ms] of [...self].sort((x, y) => y[1] - x[1]).slice(0, top))
    console.log(`  ${ms.toFixed(1).padStart(8)} ms ${pct(ms).padStart(6)}  ${k}`);
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) {
  const [file, top, filter] = process.argv.slice(2);
  if (!file) {
    console.error('usage: tsx bench/cpu-profile-summary.ts FILE.cpuprofile [top] [filter-regexp]');
    process.exit(2);
  }
  summarise(file, Number(top ?? 25), filter ? new RegExp(filter) : undefined);
}
