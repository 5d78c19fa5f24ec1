/** The examples run in CI against the lab, exactly as a user runs them. */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { requirePwsh } from '../helpers/pwsh.js';

const run = promisify(execFile);
const root = resolve(import.meta.dirname, '../..');
const tsx = resolve(root, 'node_modules/.bin/tsx');
const clean: NodeJS.ProcessEnv = Object.fromEntries(
  Object.entries(process.env).filter(
    ([k]) =>
      ![
        'PSRP_URI',
        'PSRP_SERVER',
        'DRY_RUN',
        'REPORT_CSV',
        'REPORT_TOP',
        'PSRP_EXO_TENANT_ID',
        'PSRP_EXO_TOKEN',
        'PSRP_EXO_PAGE_SIZE',
        'PSRP_SURFACE',
      ].includes(k),
  ),
);

describe('examples', () => {
  it('list-mailboxes (npm start) lists mailboxes from the lab', async () => {
    requirePwsh();
    const { stdout } = await run(tsx, ['examples/list-mailboxes.ts'], {
      cwd: root,
      env: clean,
      timeout: 90_000,
    });
    expect(stdout).toContain('using the built-in lab');
    expect(stdout).toMatch(/Alice Smith\s+alice\.smith@contoso\.com\s+UserMailbox\s+Unlimited/);
    expect(
      stdout
        .trim()
        .split('\n')
        .filter((l) => l.includes('@contoso.com')),
    ).toHaveLength(10);
  }, 120_000);

  it('windows-auth authenticates with NTLM (sealed over http) and Kerberos against a real KDC', async () => {
    requirePwsh();
    const { stdout } = await run(tsx, ['examples/windows-auth.ts'], {
      cwd: root,
      env: Object.fromEntries(
        Object.entries(clean).filter(([k]) => !['KRB5CCNAME', 'KRB5_CONFIG'].includes(k)),
      ),
      timeout: 90_000,
    });
    expect(stdout).toContain('No PSRP_URI set: realm PSRP.TEST');
    expect(stdout).toMatch(/^ntlm\s+http\s+→ \S+ on PowerShell 7\./m);
    expect(stdout).toMatch(/^negotiate\s+http\s+→ \S+ on PowerShell 7\./m);
    expect(stdout).toMatch(/^kerberos\s+https\s+→ \S+ on PowerShell 7\./m);
  }, 120_000);

  it('execute-cmd runs one-shot and shell processes over WinRS (lab)', async () => {
    const { stdout } = await run(tsx, ['examples/execute-cmd.ts'], {
      cwd: root,
      env: Object.fromEntries(Object.entries(clean).filter(([k]) => k !== 'PSRP_URI')),
      timeout: 90_000,
    });
    expect(stdout).toContain('no PSRP_URI set');
    expect(stdout).toContain('exit 0: Linux');
    expect(stdout).toContain('echo said: hello world');
    expect(stdout).toContain('a failing command exits with 3');
  }, 120_000);

  it('execute-ps runs a script in one call and reports streams and errors', async () => {
    requirePwsh();
    const { stdout } = await run(tsx, ['examples/execute-ps.ts'], {
      cwd: root,
      env: Object.fromEntries(Object.entries(clean).filter(([k]) => k !== 'PSRP_URI')),
      timeout: 90_000,
    });
    expect(stdout).toMatch(/output: PowerShell 7\.\S+ in stage demo/);
    expect(stdout).toContain('warnings: just so you know; hadErrors: false');
    expect(stdout).toMatch(/hadErrors: true: The term 'Get-ServiceTypo' is not recognized/);
  }, 120_000);

  it('copy-file copies a file there and back', async () => {
    requirePwsh();
    const { stdout } = await run(tsx, ['examples/copy-file.ts'], {
      cwd: root,
      env: Object.fromEntries(
        Object.entries(clean).filter(([k]) => !['PSRP_URI', 'PSRP_REMOTE_PATH'].includes(k)),
      ),
      timeout: 90_000,
    });
    expect(stdout).toMatch(
      /uploaded 1000000 bytes to \S+on-the-server\.bin \(sha256 [0-9a-f]{16}…, progress reached 100%\)/,
    );
    expect(stdout).toContain('downloaded 1000000 bytes; identical: true');
  }, 120_000);

  it('run-command runs Get-Process through the lab', async () => {
    const { stdout } = await run(tsx, ['examples/run-command.ts'], {
      cwd: root,
      env: clean,
      timeout: 90_000,
    });
    expect(stdout).toContain('connected: protocol 2.3, running Get-Process');
    expect(stdout).toMatch(/System\.Diagnostics\.Process/);
  }, 120_000);

  it('bulk-update-from-csv updates each row with typed values, reports the failing one, exits 1', async () => {
    requirePwsh();
    const failed = await run(tsx, ['examples/bulk-update-from-csv.ts'], {
      cwd: root,
      env: clean,
      timeout: 90_000,
    }).then(
      () => undefined,
      (e: { code: number; stdout: string }) => e,
    );
    expect(failed?.code).toBe(1);
    const out = failed!.stdout;
    expect(out).toContain('UPDATED alice.smith: Office, CustomAttribute1, HiddenFromAddressListsEnabled');
    expect(out).toMatch(/FAILED {2}no\.such\.user: .*couldn't be found/);
    expect(out).toContain('check   bob.smith: Office="Lyon, 2nd floor" HiddenFromAddressListsEnabled=true');
    expect(out).toContain('3 updated, 1 failed');
    const dry = await run(tsx, ['examples/bulk-update-from-csv.ts'], {
      cwd: root,
      env: { ...clean, DRY_RUN: '1' },
      timeout: 90_000,
    }).catch((e: { stdout: string }) => e);
    expect(dry.stdout).toContain('WOULD   alice.smith');
    expect(dry.stdout).not.toContain('check ');
  }, 180_000);

  it('mailbox-size-report streams Get-Mailbox | Get-MailboxStatistics and writes the CSV', async () => {
    requirePwsh();
    const csv = join(mkdtempSync(join(tmpdir(), 'report-')), 'sizes.csv');
    const { stdout } = await run(tsx, ['examples/mailbox-size-report.ts'], {
      cwd: root,
      env: { ...clean, REPORT_TOP: '5', REPORT_CSV: csv },
      timeout: 120_000,
    });
    expect(stdout).toMatch(/^200 mailboxes, [\d.]+ GB in total; the 5 largest:/m);
    const sizes = [...stdout.matchAll(/ ([\d.]+) GB$/gm)].map((m) => Number(m[1]));
    expect(sizes).toHaveLength(5);
    expect([...sizes].sort((a, b) => b - a)).toEqual(sizes);
    const lines = readFileSync(csv, 'utf8').trim().split('\n');
    expect(lines).toHaveLength(201);
    expect(lines[0]).toBe('DisplayName,Database,ItemCount,TotalItemSizeBytes');
    expect(lines[1]).toMatch(/^[A-Z][a-z]+ [A-Z][a-z]+,DB\d,\d+,\d+$/);
  }, 180_000);

  it('chat-bot answers concurrent messages from a pool of at most 3 sessions', async () => {
    requirePwsh();
    const { stdout } = await run(tsx, ['examples/chat-bot.ts'], { cwd: root, env: clean, timeout: 120_000 });
    expect(stdout).toContain('→ Alice Smith <alice.smith@contoso.com>, UserMailbox on DB1');
    expect(stdout).toMatch(/→ Bob Smith uses [\d.]+ GB \([\d,]+ bytes\) in \d+ items/);
    expect(stdout).toMatch(/→ DL-Sales: Alice Smith, /);
    expect(stdout).toMatch(/→ The operation couldn't be performed because object 'nobody' couldn't be found/);
    expect(stdout).toMatch(/10 messages answered with [123] sessions \(at most 3 open\), 0 recovered/);
  }, 180_000);

  it('exchange-online-mailboxes lists mailboxes and pages through 5,000 from the lab’s Exchange Online surface', async () => {
    requirePwsh();
    const { stdout } = await run(tsx, ['examples/exchange-online-mailboxes.ts'], {
      cwd: root,
      env: clean,
      timeout: 170_000,
    });
    expect(stdout).toContain("using the built-in lab's Exchange Online surface");
    expect(stdout).toMatch(/Alice Smith\s+alice\.smith@contoso\.com\s+UserMailbox\s+Unlimited/);
    expect(stdout).toMatch(/Bob Smith\s+bob\.smith@contoso\.com\s+UserMailbox\s+53150220288 bytes/);
    expect(stdout.split('\n').filter((l) => l.includes('@contoso.com'))).toHaveLength(10);
    // Exchange's default-ResultSize warning arrives as @adminapi.warnings → a warning record.
    expect(stdout).toContain('WARNING: By default, only the first 1000 items are returned.');
    expect(stdout).toContain('(1000 returned by default)');
    // 1 page for the default 1,000, then 5,000 in pages of 1,000.
    expect(stdout).toContain('paged through 5000 mailboxes (100 shared); the lab served 6 pages');
  }, 180_000);

  it('chat-bot: the same bot code answers the same on the lab’s Exchange Online surface', async () => {
    requirePwsh();
    const { stdout } = await run(tsx, ['examples/chat-bot.ts'], {
      cwd: root,
      env: { ...clean, PSRP_SURFACE: 'exo' },
      timeout: 120_000,
    });
    expect(stdout).toContain("using the built-in lab's Exchange Online surface");
    expect(stdout).toContain('→ Alice Smith <alice.smith@contoso.com>, UserMailbox on DB1');
    expect(stdout).toMatch(/→ Bob Smith uses [\d.]+ GB \([\d,]+ bytes\) in \d+ items/);
    expect(stdout).toMatch(/→ DL-Sales: Alice Smith, /);
    expect(stdout).toMatch(/→ The operation couldn't be performed because object 'nobody' couldn't be found/);
    expect(stdout).toMatch(/10 messages answered with [123] sessions \(at most 3 open\), 0 recovered/);
  }, 180_000);
});
