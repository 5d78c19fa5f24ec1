// copyTo / copyFrom keep memory flat: a file many times the bound goes both ways through a local
// pwsh while live memory (measured after a full GC at every 10th chunk, in a child process) stays under
// a few chunks.
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { requirePwsh } from '../helpers/pwsh.js';

const run = promisify(execFile);
const root = resolve(import.meta.dirname, '../..');

describe('file transfer memory', () => {
  it('moves a 8 MiB file both ways with less than 4 MiB of live memory above the baseline', async () => {
    requirePwsh();
    const { stdout } = await run(
      process.execPath,
      ['--expose-gc', '--import', 'tsx', 'test/helpers/transfer-memory-child.ts', '8'],
      {
        cwd: root,
        timeout: 170_000,
      },
    );
    const r = JSON.parse(stdout.trim().split('\n').at(-1)!) as {
      size: number;
      up: number;
      down: number;
      same: boolean;
      peak: number;
      calls: number;
    };
    expect(r.up).toBe(8 * 1024 * 1024);
    expect(r.down).toBe(r.up);
    expect(r.same).toBe(true);
    expect(r.calls).toBeGreaterThan(20);
    expect(r.peak).toBeLessThan(4 * 1024 * 1024);
  }, 180_000);
});
