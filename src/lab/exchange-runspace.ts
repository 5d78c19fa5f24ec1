/**
 * How the lab launches an Exchange-like runspace for one user: `pwsh -s -ConfigurationFile <role>.pssc`,
 * a RestrictedRemoteServer session in NoLanguage mode (as Exchange's runspaces are) that imports the
 * lab's Exchange module and shows only the cmdlets the user's role grants (as RBAC does).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export type LabRole = 'admin' | 'helpdesk' | 'readonly';

/** Cmdlets each role sees (Exchange always adds Get-Command and Get-Help; RestrictedRemoteServer adds a few more). */
export const ROLE_CMDLETS: Readonly<Record<LabRole, readonly string[]>> = {
  admin: [
    'Get-Mailbox',
    'Get-Recipient',
    'Set-Mailbox',
    'New-Mailbox',
    'Remove-Mailbox',
    'Get-MailboxStatistics',
    'Get-DistributionGroup',
    'Get-DistributionGroupMember',
    'Get-ExchangeServer',
  ],
  helpdesk: [
    'Get-Mailbox',
    'Get-Recipient',
    'Get-MailboxStatistics',
    'Get-DistributionGroup',
    'Get-DistributionGroupMember',
  ],
  readonly: ['Get-Recipient'],
};

/** The default lab users: name → password and role. */
export const LAB_USERS: Readonly<Record<string, { readonly password: string; readonly role: LabRole }>> = {
  admin: { password: 'Passw0rd!', role: 'admin' },
  helpdesk: { password: 'Helpd3sk!', role: 'helpdesk' },
  readonly: { password: 'Re4donly!', role: 'readonly' },
};

export const EXCHANGE_MODULE = resolve(
  dirname(fileURLToPath(import.meta.url)),
  '../../lab/exchange/LabExchange.psm1',
);

/** Writes the role's session configuration file into `stateDir` and returns the pwsh arguments and environment. */
export function exchangeRunspaceLaunch(options: {
  readonly role: LabRole;
  readonly stateDir: string;
  readonly mailboxCount?: number;
}): {
  args: string[];
  env: Record<string, string>;
} {
  const dir = join(options.stateDir, 'config');
  mkdirSync(join(options.stateDir, 'mailboxes'), { recursive: true });
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${options.role}.pssc`);
  const q = (s: string): string => `'${s.replace(/'/g, "''")}'`;
  writeFileSync(
    file,
    `@{\nSchemaVersion = '2.0.0.0'\nSessionType = 'RestrictedRemoteServer'\nLanguageMode = 'NoLanguage'\n` +
      `ModulesToImport = ${q(EXCHANGE_MODULE)}\nVisibleFunctions = ${ROLE_CMDLETS[options.role].map(q).join(', ')}\n}\n`,
  );
  return {
    args: ['-ConfigurationFile', file],
    env: {
      LAB_STATE_DIR: join(options.stateDir, 'mailboxes'),
      LAB_MAILBOX_COUNT: String(options.mailboxCount ?? 2000),
    },
  };
}
