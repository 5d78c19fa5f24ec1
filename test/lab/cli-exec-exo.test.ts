/** `psrp exec exo://<tenant>` against the lab's Exchange Online surface. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runExec } from '../../src/cli/exec.js';
import { startLab, type Lab } from '../../src/lab/lab-server.js';
import { requirePwsh } from '../helpers/pwsh.js';

let lab: Lab;
let caFile: string;
beforeAll(async () => {
  requirePwsh();
  lab = await startLab({ mailboxCount: 30 });
  caFile = join(mkdtempSync(join(tmpdir(), 'exec-exo-ca-')), 'ca.pem');
  writeFileSync(caFile, lab.ca);
}, 60_000);
afterAll(async () => {
  await lab?.close();
});

async function exec(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number; out: string; err: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d: Buffer) => (out += d.toString()));
  stderr.on('data', (d: Buffer) => (err += d.toString()));
  const code = await runExec(args, { stdout, stderr, env });
  return { code, out, err };
}

describe('psrp exec exo://<tenant>', () => {
  it('runs a command line through the admin API, pages included, and exits 0', async () => {
    const token = lab.exo.issueToken();
    const base = [`exo://${lab.exo.tenantId}`, '--base-url', lab.exo.baseUrl, '--ca', caFile];
    const r = await exec(
      [...base, '--page-size', '4', '--format', 'json', '--', 'Get-Mailbox -ResultSize 10'],
      {
        PSRP_EXO_TOKEN: token,
      },
    );
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const parsed = JSON.parse(r.out) as { PrimarySmtpAddress: string }[];
    expect(parsed).toHaveLength(10);
    expect(parsed[0]!.PrimarySmtpAddress).toBe('alice.smith@contoso.com');
    expect(lab.exo.seen.slice(-3).map((s) => s.prefer)).toEqual(Array(3).fill('odata.maxpagesize=4'));

    const missing = await exec([...base, '--', "Get-Mailbox 'nobody'"], { PSRP_EXO_TOKEN: token });
    expect(missing.code).toBe(1);
    expect(missing.err).toMatch(/object 'nobody' couldn't be found/);

    const v2only = await exec([...base, '--', 'Get-MailboxStatistics alice.smith'], {
      PSRP_EXO_TOKEN: token,
    });
    expect(v2only.code).toBe(1);
    expect(v2only.err).toContain('[PSRP_EXO_NOT_ON_V2]');
    const beta = await exec(
      [
        ...base,
        '--unsupported-beta-invoke-command',
        '--format',
        'jsonl',
        '--',
        'Get-MailboxStatistics alice.smith',
      ],
      { PSRP_EXO_TOKEN: token },
    );
    expect(beta.code).toBe(0);
    expect((JSON.parse(beta.out) as { DisplayName: string }).DisplayName).toBe('Alice Smith');
    expect(`${r.out}${r.err}${missing.err}${v2only.err}${beta.err}`).not.toContain(token);
  }, 120_000);

  it('usage errors: no tenant, no token (exit 2)', async () => {
    expect((await exec(['exo://', '--', 'Get-Mailbox'], { PSRP_EXO_TOKEN: 'x' })).code).toBe(2);
    const r = await exec([`exo://${lab.exo.tenantId}`, '--', 'Get-Mailbox'], {});
    expect(r.code).toBe(2);
    expect(r.err).toContain('PSRP_EXO_TOKEN');
  });
});
