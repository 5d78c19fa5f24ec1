/**
 * Child process of test/client/file-transfer-memory.test.ts (run with --expose-gc): copies a file of
 * argv[2] MiB to a local pwsh and back, and prints the largest live memory (heap + external, after a
 * full GC at every 10th progress call) above the baseline, as JSON.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OutOfProcConnection, RunspacePool } from '../../src/index.js';

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');
const size = Number(process.argv[2]) * 1024 * 1024;
const dir = mkdtempSync(join(tmpdir(), 'psrp-mem-'));
const block = randomBytes(1024 * 1024);
for (let i = 0; i < size / block.length; i++)
  writeFileSync(join(dir, 'src'), block, { flag: i === 0 ? 'w' : 'a' });
const live = (): number => {
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.external;
};
const pool = await RunspacePool.open({ connection: new OutOfProcConnection() });
await pool.powershell().addScript('1').invoke();
const baseline = live();
let peak = 0;
let calls = 0;
const onProgress = (): void => {
  // A full GC every 10th chunk (each costs a few ms; one per chunk would dominate the run).
  if (calls++ % 10 === 0) peak = Math.max(peak, live() - baseline);
};
const started = Date.now();
const up = await pool.copyTo(join(dir, 'src'), join(dir, 'dst'), { onProgress });
const upMs = Date.now() - started;
const down = await pool.copyFrom(join(dir, 'dst'), join(dir, 'back'), { onProgress });
await pool.close();
rmSync(dir, { recursive: true, force: true });
console.log(
  JSON.stringify({
    size,
    up: up.bytes,
    down: down.bytes,
    same: up.sha256 === down.sha256,
    peak,
    calls,
    upMs,
  }),
);
