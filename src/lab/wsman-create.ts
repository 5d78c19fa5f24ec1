/**
 * The lab's WS-Man Create of a PowerShell shell (MS-WSMV 3.1.4.5, MS-PSRP 3.1.4.1): the quotas
 * (WinRM's, and Exchange's shells per user on /PowerShell/), then a `pwsh -s` process (role-limited
 * Exchange runspace on /PowerShell/) opened with the request's creationXml, and on Exchange the
 * MS-WSMAN affinity cookie.
 */
import { OutOfProcConnection } from '../client/outofproc-connection.js';
import { attr, child, descendants } from '../internal/xml-tree.js';
import { exchangeRunspaceLaunch } from './exchange-runspace.js';
import { checkCreate, quota, quotaFaults } from './lab-quotas.js';
import type { LabShell as Shell } from './shell-registry.js';
import type { WSManHandlerContext } from './wsman-handler.js';
import { createResponse, type LabRequest } from './wsman-server-codec.js';

/** Answer a Create: a CreateResponse, or a quota fault. */
export async function createShell(
  context: WSManHandlerContext,
  r: LabRequest,
  user: string,
  exchange: boolean,
  setCookie: (c: string) => void,
): Promise<string> {
  const { registry, sessions, behaviours, limits, stateDir, options } = context;
  const shells = registry.shells;
  const accounts = context.accounts.accounts;
  const refused =
    exchange &&
    [...shells.values()].filter((x) => x.exchange && x.user === user).length >= behaviours.maxShellsPerUser
      ? quotaFaults.exchangeConcurrency(behaviours.maxShellsPerUser)
      : checkCreate(limits, { shells: [...shells.values()] }, user);
  if (refused) return quota(r, refused);
  const shellEl = child(r.body, 'Shell');
  const id = (attr(shellEl, 'ShellId') ?? crypto.randomUUID()).toUpperCase();
  const creation = descendants(r.body, 'creationXml')[0]?.text ?? '';
  const launch = exchange
    ? exchangeRunspaceLaunch({
        role: accounts[user]!.role,
        stateDir,
        ...(options.mailboxCount !== undefined ? { mailboxCount: options.mailboxCount } : {}),
      })
    : { args: [], env: {} };
  const connection = new OutOfProcConnection({
    ...(options.pwsh !== undefined ? { executable: options.pwsh } : {}),
    args: launch.args,
    env: launch.env,
  });
  const shell: Shell = {
    id,
    user,
    exchange,
    affinity: undefined,
    lastUsed: Date.now(),
    connection,
    defrags: new Map(),
    finished: new Set(),
    commands: new Set(),
    outbox: new Map(),
    inFlight: 1,
  };
  shells.set(id, shell);
  sessions.created(shell, r, new Uint8Array(Buffer.from(creation, 'base64')));
  try {
    await connection.openPool(id, new Uint8Array(Buffer.from(creation, 'base64')));
  } catch (e) {
    shells.delete(id);
    await connection.closePool().catch(() => undefined);
    throw e;
  } finally {
    shell.inFlight--;
    shell.lastUsed = Date.now();
  }
  if (exchange && behaviours.affinityCookie !== 'off') {
    shell.affinity = crypto.randomUUID();
    setCookie(`MS-WSMAN=${shell.affinity}; path=/PowerShell; secure; HttpOnly`);
  }
  return createResponse(r.messageId, id, r.resourceUri);
}
