import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runShell } from '../../src/cli/shell.js';
import { startLab, type Lab } from '../../src/lab/lab-server.js';
import { requirePwsh } from '../helpers/pwsh.js';

let lab: Lab;
let dir: string;
beforeAll(async () => {
  requirePwsh();
  lab = await startLab({ mailboxCount: 20 });
  dir = mkdtempSync(join(tmpdir(), 'shell-'));
  writeFileSync(join(dir, 'ca.pem'), lab.ca);
}, 60_000);
afterAll(async () => {
  await lab?.close();
});

function session(tty: boolean): {
  stdin: PassThrough & { isTTY?: boolean };
  stdout: PassThrough & { isTTY?: boolean; columns?: number };
  stderr: PassThrough;
  out: () => string;
  err: () => string;
} {
  const stdin = Object.assign(new PassThrough(), tty ? { isTTY: true } : {});
  const stdout = Object.assign(new PassThrough(), tty ? { isTTY: true, columns: 120 } : {});
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d: Buffer) => (out += d.toString()));
  stderr.on('data', (d: Buffer) => (err += d.toString()));
  return { stdin, stdout, stderr, out: () => out, err: () => err };
}

describe('psrp shell against the lab', () => {
  it('runs command lines, switches format, reports errors, keeps history and deletes its shell', async () => {
    const s = session(false);
    const history = join(dir, 'history');
    const env = { PSRP_USER: 'helpdesk', PSRP_PASSWORD: lab.users['helpdesk']!, NO_COLOR: '1' };
    const done = runShell([lab.exchangeUrl, '--ca', join(dir, 'ca.pem'), '--history', history], {
      ...s,
      env,
    });
    s.stdin.write(
      'Get-Mailbox -ResultSize 2\n\n:format json\nGet-Mailbox -Identity bob.smith\nSet-Mailbox -Identity bob.smith -Office x\nNew-Mailbox -Name x -Password hunter2\nGet-Mailbox | Where-Object { $_ }\nexit\nGet-Mailbox\n',
    );
    expect(await done).toBe(0);
    expect(s.out()).toMatch(/Connected to .* as helpdesk: 5 commands/);
    expect(s.out()).toMatch(/PS> Name +Alias[\s\S]*Alice Smith +alice\.smith[\s\S]*Bob Smith +bob\.smith/);
    expect(s.out()).toContain('"PrimarySmtpAddress": "bob.smith@contoso.com"');
    expect(s.err()).toMatch(/Set-Mailbox/);
    expect(s.err()).toContain('NoLanguage');
    expect(readFileSync(history, 'utf8').trim().split('\n')).toEqual([
      'Get-Mailbox -ResultSize 2',
      ':format json',
      'Get-Mailbox -Identity bob.smith',
      'Set-Mailbox -Identity bob.smith -Office x',
      'Get-Mailbox | Where-Object { $_ }',
      'exit',
    ]);
    expect(readFileSync(history, 'utf8')).not.toContain('hunter2');
    expect(lab.liveShells()).toBe(0);
  }, 90_000);

  it('completes a command name with Tab on a terminal', async () => {
    const s = session(true);
    const env = { PSRP_USER: 'admin', PSRP_PASSWORD: lab.users['admin']! };
    const done = runShell([lab.exchangeUrl, '--ca', join(dir, 'ca.pem'), '--history', ''], { ...s, env });
    // Wait for the prompt, then type "Get-ExchangeSer<Tab>\r".
    for (let i = 0; i < 600 && !s.out().includes('PS> '); i++) await new Promise((r) => setTimeout(r, 50));
    s.stdin.write('Get-ExchangeSer\t');
    await new Promise((r) => setTimeout(r, 200));
    s.stdin.write('\r');
    for (let i = 0; i < 600 && !s.out().includes('EXCH02'); i++) await new Promise((r) => setTimeout(r, 50));
    s.stdin.write('exit\r');
    expect(await done).toBe(0);
    expect(s.out()).toContain('Get-ExchangeServer');
    expect(s.out()).toContain('EXCH01');
    expect(lab.liveShells()).toBe(0);
  }, 90_000);
});
