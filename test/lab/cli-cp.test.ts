// `psrp cp` both ways against the lab's /wsman (real pwsh), and its progress bar.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatTransferBar, runCp } from '../../src/cli/cp.js';
import { startLab, type Lab } from '../../src/lab/lab-server.js';
import { requirePwsh } from '../helpers/pwsh.js';

let lab: Lab;
let dir: string;
let caFile: string;
beforeAll(async () => {
  requirePwsh();
  lab = await startLab({ mailboxCount: 5 });
  dir = mkdtempSync(join(tmpdir(), 'psrp-cp-'));
  caFile = join(dir, 'ca.pem');
  writeFileSync(caFile, lab.ca);
}, 60_000);
afterAll(async () => {
  await lab?.close();
});

async function cp(args: string[], tty = false): Promise<{ code: number; err: string }> {
  const stdout = new PassThrough();
  const stderr = Object.assign(new PassThrough(), { isTTY: tty });
  let err = '';
  stderr.on('data', (d: Buffer) => (err += d.toString()));
  const code = await runCp(args, {
    stdout,
    stderr,
    env: { PSRP_USER: 'admin', PSRP_PASSWORD: lab.users['admin']!, NO_COLOR: '1' },
  });
  return { code, err };
}

describe('psrp cp against the lab', () => {
  it('uploads and downloads, drawing a progress bar on a terminal', async () => {
    const data = randomBytes(600_000);
    writeFileSync(join(dir, 'a.bin'), data);
    const up = await cp(
      [lab.url, '--ca', caFile, '--', join(dir, 'a.bin'), `remote:${join(dir, 'remote.bin')}`],
      true,
    );
    expect(up.code).toBe(0);
    expect(up.err).toMatch(/\[#+\] 100%/);
    expect(up.err).toContain(`copied to ${join(dir, 'remote.bin')}: 600000 bytes, sha256 `);
    const down = await cp([
      lab.url,
      '--ca',
      caFile,
      '--',
      `remote:${join(dir, 'remote.bin')}`,
      join(dir, 'b.bin'),
    ]);
    expect(down.code).toBe(0);
    expect(down.err).not.toContain('[');
    expect(readFileSync(join(dir, 'b.bin')).equals(data)).toBe(true);
    const exists = await cp([
      lab.url,
      '--ca',
      caFile,
      '--no-overwrite',
      '--',
      join(dir, 'a.bin'),
      `remote:${join(dir, 'remote.bin')}`,
    ]);
    expect(exists.code).toBe(1);
    expect(exists.err).toMatch(/already exists/);
    expect(lab.liveShells()).toBe(0);
  }, 120_000);

  it('usage errors: no remote side, two remote sides, missing paths', async () => {
    expect((await cp([lab.url, '--', 'a', 'b'])).code).toBe(2);
    expect((await cp([lab.url, '--', 'remote:a', 'remote:b'])).code).toBe(2);
    expect((await cp([lab.url, '--', 'a'])).code).toBe(2);
  });

  it('formats the bar', () => {
    expect(formatTransferBar({ bytes: 5 * 1048576, totalBytes: 10 * 1048576 }, 2000, 10)).toBe(
      '[#####-----]  50%  5.0/10.0 MB  2.5 MB/s',
    );
    expect(formatTransferBar({ bytes: 1048576, totalBytes: undefined }, 1000)).toBe('1.0 MB  1.0 MB/s');
  });
});
