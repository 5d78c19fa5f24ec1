/**
 * The lab's PowerShell shells (one `pwsh -s` process each, MS-WSMV 3.1.4.5 Create): the registry by
 * ShellId, the idle reaper (WinRM's IdleTimeout, Exchange's shorter one), dropping a shell (Delete,
 * expiry, a dead process) and the per-shell state Receive needs (pipeline states, outboxes).
 */
import type { OutOfProcConnection } from '../client/outofproc-connection.js';
import { deserializeObject } from '../clixml/index.js';
import { Defragmenter } from '../psrp/fragment.js';
import { decodeMessage } from '../psrp/message.js';
import { operationsOf } from './lab-quotas.js';
import type { ReceiveOutbox } from './receive-outbox.js';

/** One PowerShell shell of the lab. */
export interface LabShell {
  readonly id: string;
  readonly user: string;
  readonly exchange: boolean;
  affinity: string | undefined;
  lastUsed: number;
  readonly connection: OutOfProcConnection;
  readonly defrags: Map<string, Defragmenter>;
  readonly finished: Set<string>;
  /** Commands started and not terminated yet (what MaxConcurrentCommandsPerShell counts). */
  readonly commands: Set<string>;
  /** Output waiting for Receive, by command id ('' for the shell). */
  readonly outbox: Map<string, ReceiveOutbox>;
  /** Requests being handled for the shell (a shell with a pending Receive is not idle). */
  inFlight: number;
}

/** PSInvocationState Stopped, Completed, Failed (MS-PSRP 2.2.3.4): the pipeline is over. */
const TERMINAL = new Set([3, 4, 5]);

export class ShellRegistry {
  /** Open shells by (upper-case) ShellId. */
  readonly shells = new Map<string, LabShell>();
  #reaper: NodeJS.Timeout | undefined;

  /** Removes a shell and ends its process (Delete, expiry, a dead process). */
  drop(shell: LabShell): void {
    if (this.shells.get(shell.id) !== shell) return;
    this.shells.delete(shell.id);
    void shell.connection.closePool().catch(() => undefined);
  }

  /** Drops every shell idle (no request in flight) for longer than `idleLimitMs(shell)`, checked every 200 ms. */
  startReaper(idleLimitMs: (shell: LabShell) => number): void {
    this.#reaper = setInterval(() => {
      for (const shell of this.shells.values()) {
        if (shell.inFlight === 0 && Date.now() - shell.lastUsed > idleLimitMs(shell)) this.drop(shell);
      }
    }, 200);
    this.#reaper.unref();
  }

  /** Notes PIPELINE_STATE messages so Receive can say CommandState Done, as Windows does. */
  track(shell: LabShell, target: string, chunks: readonly Uint8Array[]): void {
    let d = shell.defrags.get(target);
    if (!d) shell.defrags.set(target, (d = new Defragmenter()));
    for (const c of chunks) {
      for (const m of d.push(c.slice())) {
        const msg = decodeMessage(m);
        if (msg.typeName !== 'PipelineState') continue;
        const v = deserializeObject(msg.data) as Record<string, unknown>;
        if (TERMINAL.has(Number(v['PipelineState']))) shell.finished.add(target);
      }
    }
  }

  /** A terminated command: it stops counting, and its state goes. */
  forgetCommand(shell: LabShell, commandId: string): void {
    shell.commands.delete(commandId);
    shell.finished.delete(commandId);
    shell.defrags.delete(commandId);
    shell.outbox.delete(commandId);
  }

  /** Live commands and WinRM operations (as MaxConcurrentOperationsPerUser counts them) over all shells. */
  usage(): { readonly commands: number; readonly operations: number } {
    let commands = 0;
    for (const sh of this.shells.values()) commands += sh.commands.size;
    const users = new Set([...this.shells.values()].map((sh) => sh.user));
    let operations = 0;
    for (const u of users) operations += operationsOf({ shells: [...this.shells.values()] }, u);
    return { commands, operations };
  }

  /** Stops the reaper and ends every shell's process. */
  async close(): Promise<void> {
    clearInterval(this.#reaper);
    await Promise.all([...this.shells.values()].map((s) => s.connection.closePool().catch(() => undefined)));
    this.shells.clear();
  }
}
