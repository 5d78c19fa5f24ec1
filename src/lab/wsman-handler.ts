/**
 * The lab's WS-Man handler for PowerShell shells (MS-WSMV 3.1.4): Create starts a `pwsh -s` process
 * and forwards creationXml; Command, Send, Receive, Signal and Delete map onto PowerShell's
 * out-of-process framing (through OutOfProcConnection); WinRS cmd shells go to winrs-cmd-shell.ts.
 * Create is wsman-create.ts's and Receive wsman-receive.ts's; quotas are lab-quotas.ts's, shells the
 * registry's (shell-registry.ts).
 */
import { attr, child, descendants } from '../internal/xml-tree.js';
import { Action, Signal } from '../wsman/namespaces.js';
import type { LabAccounts } from './lab-accounts.js';
import type { LabBehaviours } from './lab-behaviours.js';
import { checkCommand, quota, type LabLimits } from './lab-quotas.js';
import type { LabShell as Shell, ShellRegistry } from './shell-registry.js';
import { LabCmdShells } from './winrs-cmd-shell.js';
import { ShellSessions } from './shell-sessions.js';
import { commandResponse, emptyResponse, faultResponse, type LabRequest } from './wsman-server-codec.js';
import { createShell } from './wsman-create.js';
import { receiveFromShell } from './wsman-receive.js';

const POWERSHELL_URI = 'http://schemas.microsoft.com/powershell/Microsoft.PowerShell';
const EXCHANGE_URI = 'http://schemas.microsoft.com/powershell/Microsoft.Exchange';

/** What the handler works with: the lab's state, owned by startLab(). */
export interface WSManHandlerContext {
  readonly registry: ShellRegistry;
  /** Disconnect, Reconnect, Connect, Get and Enumerate of shells (src/lab/shell-sessions.ts). */
  readonly sessions: ShellSessions;
  readonly cmdShells: LabCmdShells;
  readonly accounts: LabAccounts;
  readonly behaviours: LabBehaviours;
  readonly limits: LabLimits;
  /** Counts a fault that fired (`lab.firedFaults`). */
  readonly fired: (name: string) => void;
  /** Requests handled, by action name (`lab.requestCounts`). */
  readonly requestCounts: Map<string, number>;
  /** Where the Exchange runspaces keep the fake organisation. */
  readonly stateDir: string;
  readonly options: { readonly pwsh?: string | undefined; readonly mailboxCount?: number | undefined };
}

/** A WS-Man request of an authenticated user, answered as an envelope (a fault is a `<s:Fault>`). */
export type WSManHandler = (
  r: LabRequest,
  user: string,
  exchange: boolean,
  cookies: string,
  setCookie: (c: string) => void,
) => Promise<string>;

export function createWSManHandler(context: WSManHandlerContext): WSManHandler {
  const { registry, sessions, cmdShells, behaviours, fired, requestCounts } = context;
  const shells = registry.shells;
  const dropShell = (shell: Shell): void => registry.drop(shell);
  const forgetCommand = (shell: Shell, commandId: string): void => registry.forgetCommand(shell, commandId);

  const handle = async (
    r: LabRequest,
    user: string,
    exchange: boolean,
    cookies: string,
    setCookie: (c: string) => void,
  ): Promise<string> => {
    const name = r.action.slice(r.action.lastIndexOf('/') + 1);
    requestCounts.set(name, (requestCounts.get(name) ?? 0) + 1);
    if (!exchange && LabCmdShells.handles(r)) return cmdShells.handle(r, user);
    if (ShellSessions.handles(r)) return sessions.handleResource(r, user, exchange, shells.values());
    if (r.resourceUri !== (exchange ? EXCHANGE_URI : POWERSHELL_URI)) {
      return faultResponse(
        r.messageId,
        'DestinationUnreachable',
        2150858811,
        `The WS-Management service cannot process the request because the resource URI (${r.resourceUri}) was not found in the WS-Management catalog.`,
      );
    }
    if (r.action === Action.Create) return createShell(context, r, user, exchange, setCookie);
    let shell = r.shellId ? shells.get(r.shellId.toUpperCase()) : undefined;
    if (shell && shell.user !== user) shell = undefined; // another user's shell is not there for this one
    if (shell && shell.exchange && behaviours.affinityCookie === 'required') {
      // Without its affinity cookie the request reaches a back end that does not own the shell.
      const sent = /(?:^|;\s*)MS-WSMAN=([^;]*)/.exec(cookies)?.[1];
      if (sent !== shell.affinity) shell = undefined;
    }
    if (shell && shell.affinity !== undefined && behaviours.faults.dropAffinityCookie) {
      // This one request lost its cookie on the way and reached a back end that does not own the shell.
      behaviours.faults.dropAffinityCookie = false;
      fired('dropAffinityCookie');
      shell = undefined;
    }
    if (shell) shell.lastUsed = Date.now();
    if (!shell) {
      return faultResponse(
        r.messageId,
        'InvalidSelectors',
        2150858843,
        'The WS-Management service cannot process the request because the request contained invalid selectors for the resource.',
      );
    }
    shell.inFlight++;
    try {
      return await operate(r, shell);
    } catch (e) {
      // The shell went away under the request (expired, deleted, its pwsh died): Windows answers
      // invalid selectors for a shell it no longer has.
      if (shells.get(shell.id) !== shell || (e as { code?: unknown }).code === 'PSRP_PROCESS_EXITED') {
        dropShell(shell);
        return faultResponse(
          r.messageId,
          'InvalidSelectors',
          2150858843,
          'The WS-Management service cannot process the request because the request contained invalid selectors for the resource.',
        );
      }
      throw e;
    } finally {
      shell.inFlight--;
      shell.lastUsed = Date.now();
    }
  };

  const operate = async (r: LabRequest, shell: Shell): Promise<string> => {
    const disconnection = sessions.operate(r, shell);
    if (disconnection !== undefined) return disconnection;
    switch (r.action) {
      case Action.Command:
        return startCommand(context, r, shell);
      case Action.Send: {
        for (const s of descendants(r.body, 'Stream')) {
          const target = attr(s, 'CommandId') ?? null;
          const bytes = new Uint8Array(Buffer.from(s.text, 'base64'));
          sessions.fromClient(shell, target, [bytes]);
          await shell.connection.send(target, attr(s, 'Name') === 'pr' ? 'pr' : 'default', bytes);
        }
        return emptyResponse(r.action, r.messageId, '<rsp:SendResponse/>');
      }
      case Action.Receive:
        return receiveFromShell(context, r, shell);
      case Action.Signal: {
        const sig = child(r.body, 'Signal');
        const commandId = (attr(sig, 'CommandId') ?? '').toUpperCase();
        const code = child(sig, 'Code')?.text.trim();
        // A command this shell never started (its Command was lost or refused) has nothing to signal.
        if (!shell.commands.has(commandId))
          return emptyResponse(r.action, r.messageId, '<rsp:SignalResponse/>');
        if (code === Signal.PsCtrlC || code === Signal.CtrlC) await shell.connection.stopPipeline(commandId);
        else {
          await shell.connection.closePipeline(commandId);
          // Terminated: it no longer counts against MaxConcurrentCommandsPerShell.
          if (code === Signal.Terminate) forgetCommand(shell, commandId);
        }
        return emptyResponse(r.action, r.messageId, '<rsp:SignalResponse/>');
      }
      case Action.Delete:
        dropShell(shell);
        return emptyResponse(r.action, r.messageId);
      default:
        return faultResponse(
          r.messageId,
          'ActionNotSupported',
          2150858771,
          `The action ${r.action} is not supported by the lab.`,
        );
    }
  };

  return handle;
}

/**
 * A Command (MS-WSMV 3.1.4.11): the plugin's commands-per-shell quota, then a pipeline created in
 * the shell's pwsh with the request's arguments (the `killPwshOnNextCommand` fault kills pwsh after).
 */
async function startCommand(context: WSManHandlerContext, r: LabRequest, shell: Shell): Promise<string> {
  const { registry, behaviours, limits, fired } = context;
  const shells = registry.shells;
  const refused = checkCommand(limits, { shells: [...shells.values()] }, shell);
  if (refused) return quota(r, refused);
  const line = child(r.body, 'CommandLine');
  const commandId = (attr(line, 'CommandId') ?? crypto.randomUUID()).toUpperCase();
  const args = child(line, 'Arguments')?.text ?? '';
  await shell.connection.createPipeline(commandId, new Uint8Array(Buffer.from(args, 'base64')));
  shell.commands.add(commandId);
  if (behaviours.faults.killPwshOnNextCommand) {
    behaviours.faults.killPwshOnNextCommand = false;
    fired('killPwshOnNextCommand');
    const pid = shell.connection.pid;
    setTimeout(() => {
      try {
        if (pid !== undefined) process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }, 200).unref();
  }
  return commandResponse(r.messageId, commandId);
}
