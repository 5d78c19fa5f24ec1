/**
 * Roles: what the user's RBAC roles grant in the open session; a limited role is named as such
 * (field guide: "Get-Mailbox list only your\limited name": fewer cmdlets in the session).
 */
import { getCommandInfo } from '../command-info.js';
import type { ExchangeSession } from '../exchange-session.js';
import { grantedCommands } from '../generate-commands.js';
import type { DiagnoseContext } from './context.js';
import { clip, errMessage } from './probes.js';

const EXCHANGE_WRITE_CMDLETS = [
  'New-Mailbox',
  'Set-Mailbox',
  'Remove-Mailbox',
  'Enable-Mailbox',
  'Set-User',
  'New-DistributionGroup',
];

export async function checkRoles(ctx: DiagnoseContext, ex: ExchangeSession): Promise<void> {
  try {
    const commands = grantedCommands(await getCommandInfo(ex));
    const names = new Set(commands.map((c) => c.name));
    const writes = EXCHANGE_WRITE_CMDLETS.filter((n) => names.has(n));
    if (commands.length === 0) {
      ctx.add(
        'roles',
        'fail',
        'your roles grant no Exchange cmdlets',
        'Ask an Exchange administrator for a management role (e.g. View-Only Organization Management or Recipient Management).',
      );
    } else if (writes.length === 0) {
      ctx.add(
        'roles',
        'warn',
        `a limited role: ${commands.length} cmdlets, none that change mailboxes${names.has('Get-Mailbox') ? '' : ', and not Get-Mailbox'} (${[...names].slice(0, 8).join(', ')}${names.size > 8 ? ', ...' : ''})`,
        'Exchange builds your session from your RBAC roles: cmdlets (and parameters) outside them do not exist for you, and Get-Mailbox may list only your scope. Ask for the role you need (e.g. Recipient Management, Organization Management).',
      );
    } else {
      ctx.add('roles', 'pass', `${commands.length} cmdlets granted, including ${writes.join(', ')}`);
    }
  } catch (e) {
    ctx.add('roles', 'warn', `could not list the granted cmdlets: ${clip(errMessage(e), 160)}`);
  }
}
