/**
 * Proof that pipelines ran at once, by the server's clock rather than a wall-clock bound (which a
 * loaded machine fails): each of `n` pipelines reports when its sleep started and ended; they ran
 * concurrently when every one started before any one ended. Run in turn, each would start only
 * after the previous one ended, and the check fails.
 */
import { expect } from 'vitest';
import type { RunspacePool } from '../../src/index.js';

export async function expectPipelinesOverlap(pool: RunspacePool, n = 3, sleepMs = 3000): Promise<void> {
  const ids = Array.from({ length: n }, (_, i) => i + 1);
  const results = await Promise.all(
    ids.map((i) =>
      pool
        .powershell()
        .addScript(`$s = [DateTime]::UtcNow.Ticks; Start-Sleep -Milliseconds ${sleepMs}; ${i}; $s; [DateTime]::UtcNow.Ticks`)
        .invoke(),
    ),
  );
  expect(results.map((r) => r.output[0])).toEqual(ids);
  const starts = results.map((r) => BigInt(r.output[1] as bigint));
  const ends = results.map((r) => BigInt(r.output[2] as bigint));
  const lastStart = starts.reduce((a, b) => (a > b ? a : b));
  const firstEnd = ends.reduce((a, b) => (a < b ? a : b));
  expect(lastStart < firstEnd).toBe(true);
}
