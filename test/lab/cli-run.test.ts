// `psrp run` against the lab's WinRS cmd shell: output copied, exit code passed through, usage errors.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runRun } from '../../src/cli/run.js';
import { startLab, type Lab } from '../../src/lab/lab-server.js';

let lab: Lab;
let caFile: string;
beforeAll(async () => {
  lab = await startLab();
  caFile = join(mkdtempSync(join(tmpdir(), 'run-ca-')), 'ca.pem');
  writeFileSync(caFile, lab.ca);
}, 60_000);
afterAll(async () => {
  await lab?.close();
});

async function run(args: string[], stdin?: string): Promise<{ code: number; out: string; err: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d: Buffer) => (out += d.toString()));
  stderr.on('data', (d: Buffer) => (err += d.toString()));
  const code = await runRun(args, {
    stdout,
    stderr,
    env: { PSRP_USER: 'admin', PSRP_PASSWORD: lab.users['admin']! },
    ...(stdin !== undefined ? { stdin: Readable.from([Buffer.from(stdin)]) } : {}),
  });
  return { code, out, err };
}

describe('psrp run against the lab', () => {
  it('copies stdout and stderr and passes the exit code through', async () => {
    const base = [lab.url, '--ca', caFile];
    const ok = await run([...base, '--', 'echo', 'hello world']);
    expect(ok).toEqual({ code: 0, out: 'hello world\n', err: '' });
    const rc = await run([...base, '--raw', '--', 'echo out; echo err >&2; exit 7']);
    expect(rc).toEqual({ code: 7, out: 'out\n', err: 'err\n' });
    const env = await run([...base, '--env', 'A=1 2', '--skip-cmd-shell', '--', 'printenv', 'A']);
    expect(env.out).toBe('1 2\n');
    const piped = await run([...base, '--stdin', '--', 'cat'], 'from stdin\n');
    expect(piped).toEqual({ code: 0, out: 'from stdin\n', err: '' });
    const closed = await run([...base, '--', 'cat']);
    expect(closed.code).toBe(0);
    expect(lab.liveShells()).toBe(0);
  }, 120_000);

  it('usage errors exit 2; a failed run exits 255 with the reason', async () => {
    expect((await run([lab.url])).code).toBe(2);
    expect((await run([lab.url, '--env', 'novalue', '--', 'echo'])).code).toBe(2);
    const bad = await run([lab.url, '--ca', caFile, '--password', 'wrong', '--', 'echo', 'x']);
    expect(bad.code).toBe(255);
    expect(bad.err).toMatch(/psrp run: .*(401|[Aa]uthenticat)/);
    expect(bad.err).not.toContain('wrong');
  });
});
