// Live: RunspacePool.copyTo / copyFrom against the lab's /wsman (real pwsh), and the NoLanguage
// refusal on its /PowerShell/ (Exchange-like) endpoint.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileTransferError, RunspacePool, type RunspacePoolOptions } from '../../src/index.js';
import { startLab, type Lab } from '../../src/lab/lab-server.js';
import { requirePwsh } from '../helpers/pwsh.js';

let lab: Lab;
let pool: RunspacePool;
let dir: string;
beforeAll(async () => {
  requirePwsh();
  lab = await startLab({ mailboxCount: 5 });
  pool = await RunspacePool.open(options());
  dir = mkdtempSync(join(tmpdir(), 'psrp-xfer-'));
}, 60_000);
afterAll(async () => {
  await pool?.close();
  await lab?.close();
});

function options(extra: Partial<RunspacePoolOptions> = {}): RunspacePoolOptions {
  return { uri: lab.url, auth: { username: 'admin', password: lab.users['admin']! }, ca: lab.ca, ...extra };
}
const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const code = (e: unknown): string | undefined =>
  e instanceof FileTransferError ? e.code : `not a FileTransferError: ${String(e)}`;

describe('file transfer against the lab (real pwsh)', () => {
  it('copies a multi-chunk file there and back, byte for byte, with progress; the remote side checks SHA-256', async () => {
    const data = randomBytes(900_000);
    const local = join(dir, 'big.bin');
    writeFileSync(local, data);
    const progress: number[] = [];
    const up = await pool.copyTo(local, join(dir, 'remote-big.bin'), {
      onProgress: (p) => progress.push(p.bytes),
    });
    expect(up).toMatchObject({
      path: join(dir, 'remote-big.bin'),
      bytes: data.length,
      sha256: sha256(data),
      warnings: [],
    });
    expect(progress.length).toBeGreaterThan(1);
    expect(progress.at(-1)).toBe(data.length);
    expect(sha256(readFileSync(join(dir, 'remote-big.bin')))).toBe(sha256(data));
    const seen: (number | undefined)[] = [];
    const down = await pool.copyFrom(join(dir, 'remote-big.bin'), join(dir, 'back.bin'), {
      onProgress: (p) => seen.push(p.totalBytes),
    });
    expect(down).toMatchObject({ bytes: data.length, sha256: sha256(data) });
    expect(seen.at(-1)).toBe(data.length);
    expect(readFileSync(join(dir, 'back.bin')).equals(data)).toBe(true);
    expect(readdirSync(dir).filter((f) => f.endsWith('.part'))).toEqual([]);
  }, 120_000);

  it('empty files, environment variables expanded on request, overwrite rules', async () => {
    const empty = join(dir, 'empty.txt');
    writeFileSync(empty, '');
    const r = await pool.copyTo(empty, join(dir, 'remote-empty.txt'));
    expect(r.bytes).toBe(0);
    expect(readFileSync(join(dir, 'remote-empty.txt')).length).toBe(0);
    const small = join(dir, 'small.txt');
    writeFileSync(small, 'abcdefghijklmnopqrstuvwxyz');
    // %TMPDIR%-style expansion happens on the server (as [Environment]::ExpandEnvironmentVariables).
    await pool.powershell().addScript(`$env:PSRP_XFER_DIR = '${dir}'`).invoke();
    const expanded = await pool.copyTo(small, '%PSRP_XFER_DIR%/expanded.txt', { expandVariables: true });
    expect(expanded.path).toBe(join(dir, 'expanded.txt'));
    const literal = await pool.copyTo(small, join(dir, 'lit%PSRP_XFER_DIR%.txt'));
    expect(literal.path).toBe(join(dir, 'lit%PSRP_XFER_DIR%.txt'));
    const fetched = await pool.copyFrom('%PSRP_XFER_DIR%/expanded.txt', join(dir, 'fetched.txt'), {
      expandVariables: true,
    });
    expect(readFileSync(fetched.path, 'utf8')).toBe('abcdefghijklmnopqrstuvwxyz');
    expect(
      code(
        await pool.copyTo(small, join(dir, 'expanded.txt'), { overwrite: false }).catch((e: unknown) => e),
      ),
    ).toBe('PSRP_FILE_EXISTS');
    expect(
      code(
        await pool
          .copyFrom(join(dir, 'expanded.txt'), join(dir, 'fetched.txt'), { overwrite: false })
          .catch((e: unknown) => e),
      ),
    ).toBe('PSRP_FILE_EXISTS');
  }, 120_000);

  it('typed errors: missing file and directory on either side, missing remote folder', async () => {
    mkdirSync(join(dir, 'adir'), { recursive: true });
    const small = join(dir, 'small.txt');
    const e1 = await pool.copyTo(join(dir, 'nope.txt'), join(dir, 'x')).catch((e: unknown) => e);
    expect([code(e1), (e1 as FileTransferError).side]).toEqual(['PSRP_FILE_NOT_FOUND', 'local']);
    expect(code(await pool.copyTo(join(dir, 'adir'), join(dir, 'x')).catch((e: unknown) => e))).toBe(
      'PSRP_FILE_IS_DIRECTORY',
    );
    const e3 = await pool.copyTo(small, join(dir, 'adir')).catch((e: unknown) => e);
    expect([code(e3), (e3 as FileTransferError).side]).toEqual(['PSRP_FILE_IS_DIRECTORY', 'remote']);
    expect(code(await pool.copyTo(small, join(dir, 'no-folder', 'x')).catch((e: unknown) => e))).toBe(
      'PSRP_FILE_NOT_FOUND',
    );
    const e5 = await pool.copyFrom(join(dir, 'nope.txt'), join(dir, 'y')).catch((e: unknown) => e);
    expect([code(e5), (e5 as FileTransferError).side]).toEqual(['PSRP_FILE_NOT_FOUND', 'remote']);
    expect(code(await pool.copyFrom(join(dir, 'adir'), join(dir, 'y')).catch((e: unknown) => e))).toBe(
      'PSRP_FILE_IS_DIRECTORY',
    );
    expect(code(await pool.copyFrom(small, join(dir, 'adir')).catch((e: unknown) => e))).toBe(
      'PSRP_FILE_IS_DIRECTORY',
    );
    expect(existsSync(join(dir, 'y'))).toBe(false);
  }, 120_000);

  it('a NoLanguage endpoint (the lab Exchange) gets PSRP_NOT_SUPPORTED before any file data is sent', async () => {
    const ex = await RunspacePool.open(
      options({ uri: lab.exchangeUrl, configurationName: 'Microsoft.Exchange' }),
    );
    try {
      const sendsBefore = lab.requestCounts.get('Send') ?? 0;
      const small = join(dir, 'small.txt');
      expect(code(await ex.copyTo(small, 'C:\\x.txt').catch((e: unknown) => e))).toBe('PSRP_NOT_SUPPORTED');
      expect(code(await ex.copyFrom('C:\\x.txt', join(dir, 'z')).catch((e: unknown) => e))).toBe(
        'PSRP_NOT_SUPPORTED',
      );
      expect((lab.requestCounts.get('Send') ?? 0) - sendsBefore).toBe(0);
    } finally {
      await ex.close();
    }
  }, 120_000);
});
