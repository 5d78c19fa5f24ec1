import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runExec } from '../../src/cli/exec.js';
import { deserializeClixml } from '../../src/index.js';
import { startLab, type Lab } from '../../src/lab/lab-server.js';
import { requirePwsh } from '../helpers/pwsh.js';

let lab: Lab;
let caFile: string;
beforeAll(async () => {
  requirePwsh();
  lab = await startLab({ mailboxCount: 30 });
  caFile = join(mkdtempSync(join(tmpdir(), 'exec-ca-')), 'ca.pem');
  writeFileSync(caFile, lab.ca);
}, 60_000);
afterAll(async () => {
  await lab?.close();
});

async function exec(
  args: string[],
  env: Record<string, string> = {},
  columns?: number,
): Promise<{ code: number; out: string; err: string }> {
  const stdout = Object.assign(new PassThrough(), columns !== undefined ? { columns } : {});
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d: Buffer) => (out += d.toString()));
  stderr.on('data', (d: Buffer) => (err += d.toString()));
  const code = await runExec(args, {
    stdout,
    stderr,
    env: { PSRP_USER: 'admin', PSRP_PASSWORD: lab.users['admin']!, ...env },
  });
  return { code, out, err };
}

describe('psrp exec against the lab', () => {
  it('prints json, jsonl, clixml and a table, with exit code 0', async () => {
    const base = [lab.exchangeUrl, '--ca', caFile];
    const json = await exec([...base, '--format', 'json', '--', 'Get-Mailbox', '-ResultSize', '3']);
    expect(json.code).toBe(0);
    const parsed = JSON.parse(json.out) as { PrimarySmtpAddress: string; ProhibitSendQuota: unknown }[];
    expect(parsed.map((m) => m.PrimarySmtpAddress)).toEqual([
      'alice.smith@contoso.com',
      'bob.smith@contoso.com',
      'chen.smith@contoso.com',
    ]);
    const jsonl = await exec([...base, '--format', 'jsonl', '--', 'Get-ExchangeServer']);
    expect(jsonl.out.trim().split('\n')).toHaveLength(2);
    const clixml = await exec([...base, '--format', 'clixml', '--', 'Get-Mailbox -Identity bob.smith']);
    expect((deserializeClixml(clixml.out)[0] as Record<string, unknown>)['Name']).toBe('Bob Smith');
    const table = await exec([...base, '--format', 'table', '--', 'Get-ExchangeServer']);
    expect(table.out.split('\n')[0]).toMatch(/^Name\s+Fqdn/);
    expect(table.out).toContain('EXCH01');
  }, 120_000);

  it('exits 1 with the error on stderr when the command fails, 2 on usage errors', async () => {
    const base = [lab.exchangeUrl, '--ca', caFile];
    const missing = await exec([...base, '--', 'Get-Mailbox -Identity nobody']);
    expect(missing.code).toBe(1);
    expect(missing.err).toContain("couldn't be found");
    const language = await exec([...base, '--', 'Get-Mailbox | Where-Object { $_ }']);
    expect(language.code).toBe(1);
    expect(language.err).toContain('NoLanguage');
    const badAuth = await exec([...base, '--', 'Get-Mailbox'], { PSRP_PASSWORD: 'wrong' });
    expect(badAuth.code).toBe(1);
    expect(badAuth.err).toContain('[PSRP_AUTH_FAILED]');
    expect(badAuth.err).not.toContain('wrong');
    expect((await exec([lab.exchangeUrl])).code).toBe(2);
    expect((await exec([...base, '--', 'Get-Mailbox'], { PSRP_PASSWORD: '' })).code).toBe(1);
  }, 120_000);
});

describe('psrp exec output an Exchange admin can read', () => {
  const base = (): string[] => [lab.exchangeUrl, '--ca', caFile];
  const cmd = ['--', 'Get-Mailbox -ResultSize 3'];

  it('a table fits the terminal width and says which properties it left out', async () => {
    const all = JSON.parse((await exec([...base(), '--format', 'json', ...cmd])).out) as Record<
      string,
      unknown
    >[];
    const names = Object.keys(all[0]!);
    expect(names.length).toBeGreaterThan(15);
    const t = await exec([...base(), '--format', 'table', ...cmd], {}, 100);
    expect(t.code).toBe(0);
    const lines = t.out.trimEnd().split('\n');
    expect(lines).toHaveLength(5);
    for (const l of lines) expect(l.length).toBeLessThanOrEqual(100);
    const shown = lines[0]!.split(/\s{2,}/);
    expect(shown[0]).toBe('Name');
    expect(t.err).toContain(`${shown.length} of ${names.length} properties shown`);
    expect(t.err).toContain(names[shown.length]!); // the first property left out is named
    expect(t.err).toContain('--property');
  }, 60_000);

  it('--property picks properties; sizes, Unlimited and dates read as Exchange shows them', async () => {
    const t = await exec(
      [...base(), '--format', 'table', '--property', 'name,ProhibitSendQuota,WhenCreated', ...cmd],
      {},
      200,
    );
    expect(t.err).toBe('');
    const [head, , alice, bob] = t.out.split('\n');
    expect(head!.split(/\s{2,}/)).toEqual(['Name', 'ProhibitSendQuota', 'WhenCreated']);
    expect(alice).toMatch(/^Alice Smith\s+Unlimited\s+/);
    expect(bob).toMatch(/^Bob Smith\s+49\.5 GB \(53,150,220,288 bytes\)\s+/);
    const json = JSON.parse(
      (
        await exec([
          ...base(),
          '--format',
          'json',
          '--property',
          'Name,ProhibitSendQuota,WhenCreated',
          ...cmd,
        ])
      ).out,
    ) as { Name: string; ProhibitSendQuota: unknown; WhenCreated: string }[];
    expect(Object.keys(json[0]!)).toEqual(['Name', 'ProhibitSendQuota', 'WhenCreated']);
    expect(json[0]!.ProhibitSendQuota).toBe('Unlimited');
    expect(json[1]!.ProhibitSendQuota).toEqual({
      bytes: 53150220288,
      text: '49.5 GB (53,150,220,288 bytes)',
    });
    expect(bob).toContain(new Date(json[1]!.WhenCreated).toLocaleString()); // local time
  }, 60_000);

  it('--format list shows every property, --format csv is RFC 4180', async () => {
    const all = JSON.parse((await exec([...base(), '--format', 'json', ...cmd])).out) as Record<
      string,
      unknown
    >[];
    const l = await exec([...base(), '--format', 'list', ...cmd]);
    const blocks = l.out.trim().split('\n\n');
    expect(blocks).toHaveLength(3);
    expect(blocks[0]!.split('\n').map((x) => x.split(' :')[0]!.trim())).toEqual(Object.keys(all[0]!));
    const c = await exec([...base(), '--format', 'csv', '--property', 'Name,ProhibitSendQuota', ...cmd]);
    expect(c.out.split('\r\n')).toEqual([
      'Name,ProhibitSendQuota',
      'Alice Smith,Unlimited',
      'Bob Smith,"49.5 GB (53,150,220,288 bytes)"',
      expect.stringMatching(/^Chen Smith,/),
      '',
    ]);
    expect((await exec([...base(), '--format', 'yaml', ...cmd])).err).toContain('table, list, csv, json');
  }, 60_000);
});

describe('psrp exec explains itself in CLI flags', () => {
  it('untrusted certificate: pass --ca; missing --ca file: names --ca; http + Basic: --allow-unencrypted', async () => {
    const untrusted = await exec([lab.exchangeUrl, '--', 'Get-Mailbox']);
    expect(untrusted.code).toBe(1);
    expect(untrusted.err).toContain('[PSRP_TLS_UNTRUSTED]');
    expect(untrusted.err).toContain('with --ca FILE');
    expect(untrusted.err).toContain('--skip-certificate-check');
    expect(untrusted.err).not.toMatch(/`ca`|skipCertificateCheck/);
    const noFile = await exec([lab.exchangeUrl, '--ca', '/nonexistent/ca.pem', '--', 'Get-Mailbox']);
    expect(noFile.code).toBe(1);
    expect(noFile.err).toContain('--ca /nonexistent/ca.pem: cannot read the CA certificate file (ENOENT)');
    const plain = await exec([`${lab.httpOrigin}/wsman`, '--', 'Get-Date']);
    expect(plain.code).toBe(1);
    expect(plain.err).toContain('--allow-unencrypted');
    expect(plain.err).not.toContain('allowUnencrypted');
  }, 120_000);

  it('a target that is neither URL nor bare name gets the URL shape; /wsman runs Microsoft.PowerShell', async () => {
    const bad = await exec(['localhost:5986', '--', 'Get-Date']);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('give the full URL, e.g. https://localhost:5986/wsman');
    const wsman = await exec([lab.url, '--ca', caFile, '--format', 'json', '--', 'Get-Command Get-Date']);
    expect(wsman.err).toBe('');
    expect(wsman.code).toBe(0);
    expect((JSON.parse(wsman.out) as { Name: string }[])[0]!.Name).toBe('Get-Date');
    const named = await exec([
      lab.url,
      '--ca',
      caFile,
      '--configuration',
      'Microsoft.PowerShell',
      '--',
      'Get-Date',
    ]);
    expect(named.code).toBe(0);
  }, 120_000);
});

describe('psrp exec --trace', () => {
  it('traces WS-Man actions with shell ids, HTTP sizes and timings, state changes, and no secret', async () => {
    const r = await exec([
      lab.exchangeUrl,
      '--ca',
      caFile,
      '--trace',
      '--format',
      'json',
      '--',
      'Get-ExchangeServer',
    ]);
    expect(r.code).toBe(0);
    expect((JSON.parse(r.out) as unknown[]).length).toBe(2);
    expect(r.err).toMatch(/-> Create shell=- \d+ B/);
    expect(r.err).toMatch(/<- Command shell=[0-9A-Fa-f]{8} command=[0-9a-f]{8} ok in \d+ ms/);
    expect(r.err).toMatch(/>> CREATE_PIPELINE \d+ B pool=[0-9a-f]{8} pipeline=[0-9a-f]{8}/);
    expect(r.err).not.toContain('<s:Envelope');
    expect(r.err).toMatch(
      /HTTP POST https:\/\/localhost:\d+\/PowerShell\/ -> 200 \(\d+ B sent, \d+ B received, \d+ ms\)/,
    );
    expect(r.err).toMatch(/runspacePool \S+ \S+ -> Opened/);
    expect(r.err).toContain('-> Delete');
    expect(r.err).not.toContain(lab.users['admin']!);
    expect(r.err).not.toContain(Buffer.from(`admin:${lab.users['admin']!}`).toString('base64'));
    const env = await exec(
      [lab.exchangeUrl, '--ca', caFile, '--format', 'json', '--', 'Get-ExchangeServer'],
      {
        PSRP_TRACE: '1',
      },
    );
    expect(env.err).toContain('-> Create');
    const dump = await exec(
      [lab.exchangeUrl, '--ca', caFile, '--format', 'json', '--', 'Get-ExchangeServer'],
      { PSRP_TRACE: 'messages' },
    );
    expect(dump.code).toBe(0);
    expect(dump.err).toContain('<s:Envelope');
    expect(dump.err).toContain('authorization: [redacted]');
    expect(dump.err).toMatch(/<< PIPELINE_OUTPUT \d+ B/);
    expect(dump.err).not.toContain(lab.users['admin']!);
    expect(dump.err).not.toContain(Buffer.from(`admin:${lab.users['admin']!}`).toString('base64'));
    const quiet = await exec([
      lab.exchangeUrl,
      '--ca',
      caFile,
      '--format',
      'json',
      '--',
      'Get-ExchangeServer',
    ]);
    expect(quiet.err).not.toContain('-> Create');
  }, 120_000);
});

describe('psrp exec on a terminal', () => {
  it('draws a spinner with the object count on stderr, in colour, and keeps stdout clean', async () => {
    const stdout = new PassThrough();
    const stderr = Object.assign(new PassThrough(), { isTTY: true, columns: 100 });
    let out = '';
    let err = '';
    stdout.on('data', (d: Buffer) => (out += d.toString()));
    stderr.on('data', (d: Buffer) => (err += d.toString()));
    const code = await runExec(
      [lab.exchangeUrl, '--ca', caFile, '--format', 'jsonl', '--', 'Get-Mailbox -ResultSize Unlimited'],
      {
        stdout,
        stderr,
        env: { PSRP_USER: 'admin', PSRP_PASSWORD: lab.users['admin']! },
      },
    );
    expect(code).toBe(0);
    expect(out.trim().split('\n')).toHaveLength(30);
    expect(out).not.toContain('\x1b');
    // eslint-disable-next-line no-control-regex -- terminal escape sequences are the subject here
    expect(err).toMatch(/\r\x1b\[2K\x1b\[36m\S\x1b\[39m \d+ objects?/);
    expect(err.endsWith('\r\x1b[2K')).toBe(true);
  }, 60_000);
});
