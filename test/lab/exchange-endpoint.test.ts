import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLab, type Lab } from '../../src/lab/lab-server.js';
import { ROLE_CMDLETS } from '../../src/lab/exchange-runspace.js';
import { RunspacePool, psMeta } from '../../src/index.js';
import { parseCommandLine, parseUnlimitedSize } from '../../src/exchange/index.js';
import { requirePwsh } from '../helpers/pwsh.js';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

let lab: Lab;
beforeAll(async () => {
  requirePwsh();
  lab = await startLab({ mailboxCount: 1500 });
}, 60_000);
afterAll(async () => {
  await lab?.close();
});

const open = (user = 'admin'): Promise<RunspacePool> =>
  RunspacePool.open({ uri: lab.exchangeUrl, configurationName: 'Microsoft.Exchange', auth: { username: user, password: lab.users[user]! }, ca: lab.ca });

type Mbx = Record<string, unknown>;

describe('the lab Exchange endpoint (/PowerShell/, Microsoft.Exchange)', () => {
  it('lists mailboxes with Exchange type names and value shapes, and the default-ResultSize warning', async () => {
    const pool = await open();
    try {
      const r = await pool.powershell().addCommand('Get-Mailbox').invoke();
      expect(r.output).toHaveLength(1000);
      expect(r.warnings[0]!.message).toMatch(/^By default, only the first 1000 items are returned\./);
      const m = r.output[0] as Mbx;
      expect(psMeta(m)!.typeNames[0]).toBe('Microsoft.Exchange.Data.Directory.Management.Mailbox');
      expect(m['PrimarySmtpAddress']).toBe('alice.smith@contoso.com');
      expect((m['EmailAddresses'] as string[])[0]).toBe('SMTP:alice.smith@contoso.com');
      expect(parseUnlimitedSize(String(m['ProhibitSendReceiveQuota']))).toBe('Unlimited');
      const quota = parseUnlimitedSize(String((r.output[1] as Mbx)['ProhibitSendQuota']));
      expect(quota).toEqual({ bytes: 53150220288n, text: '49.5 GB (53,150,220,288 bytes)' });
      const all: unknown[] = [];
      for await (const x of pool.powershell().addCommand('Get-Mailbox').addParameter('ResultSize', 'Unlimited').output()) all.push(x);
      expect(all).toHaveLength(1500);
    } finally {
      await pool.close();
    }
  }, 120_000);

  it('finds by identity, filters, reports not-found like Exchange, and runs a server-side pipeline', async () => {
    const pool = await open();
    try {
      const one = await pool.powershell().addCommand('Get-Mailbox').addParameter('Identity', 'bob.smith@contoso.com').invoke();
      expect((one.output[0] as Mbx)['Name']).toBe('Bob Smith');
      const f = await pool.powershell().addCommand('Get-Mailbox').addParameter('Filter', "Department -eq 'Legal' -and Name -like 'D*'").addParameter('ResultSize', 'Unlimited').invoke();
      expect(f.output.length).toBeGreaterThan(0);
      expect(f.output.every((m) => (m as Mbx)['Department'] === 'Legal' && String((m as Mbx)['Name']).startsWith('D'))).toBe(true);
      const missing = await pool.powershell().addCommand('Get-Mailbox').addParameter('Identity', 'nobody').invoke();
      expect(missing.errors[0]!.message).toBe("The operation couldn't be performed because object 'nobody' couldn't be found on 'DC01.contoso.com'.");
      expect(missing.errors[0]!.categoryInfo.category).toBe('ObjectNotFound');
      expect(missing.errors[0]!.fullyQualifiedErrorId).toMatch(/\[FailureCategory=Cmdlet-ManagementObjectNotFoundException\]/);
      // Parsed from the command line an admin types, sent as one pipeline of Command objects.
      const ps = pool.powershell();
      for (const c of parseCommandLine("Get-Mailbox -Filter \"Office -eq 'Building 3'\" -ResultSize 3 | Set-Mailbox -HiddenFromAddressListsEnabled $true -Confirm:$false")) {
        ps.addCommand(c.name);
        for (const a of c.arguments) {
          if (a.name === null) ps.addArgument(a.value);
          else ps.addParameter(a.name, a.value);
        }
      }
      const set = await ps.invoke();
      expect(set.errors).toEqual([]);
      const after = await pool.powershell().addCommand('Get-Mailbox').addParameter('Filter', "HiddenFromAddressListsEnabled -eq 'True'").addParameter('ResultSize', 'Unlimited').invoke();
      expect(after.output).toHaveLength(3);
    } finally {
      await pool.close();
    }
  }, 120_000);

  it('refuses script text (NoLanguage) and limits cmdlets by role (RBAC)', async () => {
    const admin = await open('admin');
    const helpdesk = await open('helpdesk');
    try {
      const script = await admin.powershell().addScript('Get-Mailbox | Where-Object { $_.Name -like "A*" }').invoke().catch((e: unknown) => e);
      expect((script as Error).message).toBe('The syntax is not supported by this runspace. This can occur if the runspace is in no-language mode.');
      const names = async (pool: RunspacePool): Promise<string[]> =>
        (await pool.powershell().addCommand('Get-Command').invoke()).output.map((c) => String((c as Mbx)['Name']));
      const adminCmds = await names(admin);
      const helpdeskCmds = await names(helpdesk);
      for (const c of ROLE_CMDLETS.admin) expect(adminCmds).toContain(c);
      expect(helpdeskCmds).toContain('Get-Mailbox');
      expect(helpdeskCmds).not.toContain('Set-Mailbox');
      const denied = await helpdesk.powershell().addCommand('Set-Mailbox').addParameter('Identity', 'alice.smith').invoke().catch((e: unknown) => e);
      expect((denied as { errorRecord?: { fullyQualifiedErrorId?: string } }).errorRecord?.fullyQualifiedErrorId).toMatch(/CommandNotFoundException/);
    } finally {
      await admin.close();
      await helpdesk.close();
    }
    expect(lab.liveShells()).toBe(0);
  }, 120_000);
});

describe('lab Exchange: creating and removing recipients, groups', () => {
  it('New-Mailbox is visible from another shell; Remove-Mailbox removes it; groups list members', async () => {
    const a = await open();
    const b = await open();
    try {
      const made = await a.powershell().addCommand('New-Mailbox').addParameters({ Name: 'Zed Zulu', Confirm: false }).invoke();
      expect((made.output[0] as Mbx)['PrimarySmtpAddress']).toBe('zed.zulu@contoso.com');
      const dup = await a.powershell().addCommand('New-Mailbox').addParameter('Name', 'Zed Zulu').invoke();
      expect(dup.errors[0]!.categoryInfo.category).toBe('ResourceExists');
      expect((await b.powershell().addCommand('Get-Mailbox').addParameter('Identity', 'zed.zulu').invoke()).output).toHaveLength(1);
      await b.powershell().addCommand('Remove-Mailbox').addParameters({ Identity: 'zed.zulu', Confirm: false }).invoke();
      const gone = await a.powershell().addCommand('Get-Mailbox').addParameter('Identity', 'zed.zulu').invoke();
      expect(gone.errors[0]!.categoryInfo.category).toBe('ObjectNotFound');
      const groups = await a.powershell().addCommand('Get-DistributionGroup').invoke();
      expect(groups.output.map((g) => (g as Mbx)['Name'])).toEqual(['DL-Sales', 'DL-IT', 'DL-Finance', 'DL-Legal', 'DL-Support']);
      const members = await a.powershell().addCommand('Get-DistributionGroupMember').addParameter('Identity', 'DL-Legal').addParameter('ResultSize', 'Unlimited').invoke();
      expect(members.output.length).toBe(300); // 1500 mailboxes, one in five in Legal
    } finally {
      await a.close();
      await b.close();
    }
  }, 120_000);

  it('reads users from a file', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'lab-users-')), 'users.json');
    writeFileSync(file, JSON.stringify({ ops: { password: 'S3cret!', role: 'readonly' } }));
    const other = await startLab({ usersFile: file, mailboxCount: 10 });
    try {
      expect(other.users).toEqual({ ops: 'S3cret!' });
      const pool = await RunspacePool.open({ uri: other.exchangeUrl, configurationName: 'Microsoft.Exchange', auth: { username: 'ops', password: 'S3cret!' }, ca: other.ca });
      const cmds = (await pool.powershell().addCommand('Get-Command').invoke()).output.map((c) => String((c as Mbx)['Name']));
      expect(cmds).toContain('Get-Recipient');
      expect(cmds).not.toContain('Get-Mailbox');
      await pool.close();
      writeFileSync(file, JSON.stringify({ ops: { password: 'x', role: 'god' } }));
      await expect(startLab({ usersFile: file })).rejects.toMatchObject({ code: 'PSRP_INVALID_ARGUMENT' });
    } finally {
      await other.close();
    }
  }, 120_000);
});
