/**
 * File transfer: RunspacePool.copyTo then copyFrom of a random file (BENCH_FILE_MB, default 64)
 * through the lab's /wsman (WS-Man at 500 KB envelopes, the lab in a child process, real pwsh behind
 * it). Prints MB/s, this process's CPU time and its peak RSS above the start (sampled every 100 ms):
 * the peak should not grow with the file, since one chunk is in flight at a time.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RunspacePool } from '../src/index.js';
import { forkLab } from './lab-process.js';
import { printTable } from './util.js';

const MB = 2 ** 20;

export async function run(): Promise<void> {
  const sizes = (process.env['BENCH_FILE_MB'] ?? '64').split(',').map(Number);
  const rows: string[][] = [];
  const lab = await forkLab({ mailboxCount: 1 });
  const dir = mkdtempSync(join(tmpdir(), 'psrp-bench-xfer-'));
  try {
    const pool = await RunspacePool.open({
      uri: lab.url,
      auth: { username: 'admin', password: lab.users['admin']! },
      ca: lab.ca,
    });
    try {
      for (const mb of sizes) {
        const block = randomBytes(MB);
        for (let i = 0; i < mb; i++) writeFileSync(join(dir, 'src'), block, { flag: i === 0 ? 'w' : 'a' });
        for (const direction of ['copyTo', 'copyFrom'] as const) {
          globalThis.gc?.();
          const before = process.memoryUsage().rss;
          let peak = before;
          const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 100);
          const cpu0 = process.cpuUsage();
          const t0 = performance.now();
          try {
            if (direction === 'copyTo') await pool.copyTo(join(dir, 'src'), join(dir, 'remote'));
            else await pool.copyFrom(join(dir, 'remote'), join(dir, 'back'));
          } finally {
            clearInterval(sampler);
          }
          const s = (performance.now() - t0) / 1000;
          const cpu = process.cpuUsage(cpu0);
          rows.push([
            direction,
            `${mb} MiB`,
            `${s.toFixed(1)} s`,
            `${(mb / s).toFixed(2)} MiB/s`,
            `${((cpu.user + cpu.system) / 1e6).toFixed(1)} s`,
            `${((peak - before) / MB).toFixed(0)} MiB`,
          ]);
        }
      }
    } finally {
      await pool.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await lab.close();
  }
  printTable(['direction', 'size', 'wall', 'rate', 'client CPU', 'peak RSS growth'], rows);
}
