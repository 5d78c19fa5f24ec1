/**
 * The lab's WS-Man handler for PowerShell shells (MS-WSMV 3.1.4): Create starts a `pwsh -s` process
 * and forwards creationXml; Command, Send, Receive, Signal and Delete map onto PowerShell's
 * out-of-process framing (through OutOfProcConnection); WinRS cmd shells go to winrs-cmd-shell.ts.
 * Quotas are lab-quotas.ts's, shells the registry's (shell-registry.ts).
 */
import { OutOfProcConnection } from '../client/outofproc-connection.js';
import { attr, child, descendants } from '../internal/xml-tree.js';
import { Action, Signal } from '../wsman/namespaces.js';
import type { LabAccounts } from './lab-accounts.js';
import type { LabBehaviours } from './lab-behaviours.js';
import {
  checkCommand,
  checkCreate,
  effectiveTimeoutMs,
  quotaFaults,
  responseEnvelopeLimit,
  type LabLimits,
  type QuotaFault,
} from './lab-quotas.js';
import { exchangeRunspaceLaunch } from './exchange-runspace.js';
import { ReceiveOutbox } from './receive-outbox.js';
import type { LabShell as Shell, ShellRegistry } from './shell-registry.js';
import { LabCmdShells } from './winrs-cmd-shell.js';
import { ShellSessions } from './shell-sessions.js';
import {
  commandResponse,
  createResponse,
  emptyResponse,
  faultResponse,
  receiveResponse,
  type LabRequest,
} from './wsman-server-codec.js';

const POWERSHELL_URI = 'http://schemas.microsoft.com/powershell/Microsoft.PowerShell';
const EXCHANGE_URI = 'http://schemas.microsoft.com/powershell/Microsoft.Exchange';

/** A quota fault for this request (lab-quotas.ts). */
export const quota = (r: LabRequest, f: QuotaFault): string =>
  faultResponse(r.messageId, f.subcode, f.code, f.message, { sender: f.sender, detail: f.detail });

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
  const { registry, sessions, cmdShells, behaviours, limits, fired, requestCounts, stateDir, options } = context;
  const shells = registry.shells;
  const accounts = context.accounts.accounts;
  const dropShell = (shell: Shell): void => registry.drop(shell);
  const track = (shell: Shell, target: string, chunks: readonly Uint8Array[]): void =>
    registry.track(shell, target, chunks);
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
    if (r.action === Action.Create) {
      const refused =
        exchange &&
        [...shells.values()].filter((x) => x.exchange && x.user === user).length >=
          behaviours.maxShellsPerUser
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
      case Action.Command: {
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
      case Action.Send: {
        for (const s of descendants(r.body, 'Stream')) {
          const target = attr(s, 'CommandId') ?? null;
          const bytes = new Uint8Array(Buffer.from(s.text, 'base64'));
          sessions.fromClient(shell, target, [bytes]);
          await shell.connection.send(target, attr(s, 'Name') === 'pr' ? 'pr' : 'default', bytes);
        }
        return emptyResponse(r.action, r.messageId, '<rsp:SendResponse/>');
      }
      case Action.Receive: {
        const commandId = attr(descendants(r.body, 'DesiredStream')[0], 'CommandId')?.toUpperCase();
        const target = commandId ?? null;
        const envelope = responseEnvelopeLimit(limits, r.maxEnvelopeSize);
        if (typeof envelope !== 'number') return quota(r, envelope);
        let outbox = shell.outbox.get(commandId ?? '');
        if (!outbox) shell.outbox.set(commandId ?? '', (outbox = new ReceiveOutbox()));
        // Never more than the client's MaxEnvelopeSize: the base64 of the fragments plus the
        // envelope around them (measured with the longer CommandState, Running).
        const overhead = Buffer.byteLength(
          receiveResponse(r.messageId, commandId, [new Uint8Array(0)], false),
        );
        const room = Math.floor((envelope - overhead) / 4) * 3;
        const timeout = Math.max(100, effectiveTimeoutMs(limits, r.operationTimeoutMs) - 50);
        const pull = async (ms: number): Promise<void> => {
          const detached = sessions.detachSignal(shell);
          const signal = detached
            ? AbortSignal.any([AbortSignal.timeout(ms), detached])
            : AbortSignal.timeout(ms);
          const chunk = await shell.connection.receive(target, { signal });
          if (commandId) track(shell, commandId, chunk.data);
          else sessions.fromPwsh(shell, null, chunk.data);
          outbox.push(chunk.data);
        };
        try {
          if (outbox.empty) {
            if (commandId && shell.finished.has(commandId))
              return receiveResponse(r.messageId, commandId, [], true);
            await pull(timeout);
            // A stream of output (a whole pwsh fragment or more) gathers what follows for a moment,
            // as WinRM fills an envelope rather than answering with each fragment.
            const more = (): Promise<boolean> =>
              pull(15).then(
                () => true,
                (e: Error) => (e.name === 'TimeoutError' ? false : Promise.reject(e)),
              );
            while (outbox.pendingBytes >= 32 * 1024 && outbox.pendingBytes < room && (await more()));
          }
          const data = outbox.take(room);
          const done = commandId !== undefined && shell.finished.has(commandId) && outbox.empty;
          return receiveResponse(r.messageId, commandId, data.length > 0 ? [data] : [], done);
        } catch (e) {
          if ((e as Error).name === 'TimeoutError') {
            return faultResponse(
              r.messageId,
              'TimedOut',
              2150858793,
              'The WS-Management service cannot complete the operation within the time specified in OperationTimeout.',
            );
          }
          throw e;
        }
      }
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
