/**
 * ReceivePump: the client's one receive step. It asks the connection for the next data of the pool
 * or of one pipeline (WS-Man Receive, MS-PSRP 3.1.5.3.7 / MS-WSMV 3.1.4.14, or an out-of-process
 * Data packet), feeds the fragments to the sans-IO RunspacePoolCore, drains the events the core made
 * of them and routes each where it belongs: a pipeline's events to that pipeline's queue, read by
 * whoever drives the pipeline; the pool's events to the caller, who dispatches them.
 *
 * The pump neither waits nor retries on its own: the long poll, the back-off after an empty Receive
 * and the typed errors are the connection's; deadlines and aborts come in with each call's signal.
 * It sends nothing, so the requests on the wire are exactly the Receives its callers ask for.
 */
import { RunspacePoolBrokenError, WSManFaultError, type PsrpError } from '../errors.js';
import type { PsrpEvent, RunspacePoolCore } from '../psrp/runspace-pool-core.js';
import type { ConnectionOperationOptions, PsrpConnection } from './psrp-connection.js';

/** What the pump needs of the pool it receives for. */
export interface PumpOwner {
  /** True once the pool is closing: its Receive ending is then expected, not a breakage. */
  closing(): boolean;
  /**
   * The pool can receive nothing more: records `error` as why the pool broke (an earlier reason
   * wins) and returns the reason the pool now reports.
   */
  broke(error: RunspacePoolBrokenError): PsrpError;
}

/** One Receive for a pipeline, routed. */
export interface PipelineReceived {
  /** The pipeline's events, in order (any routed to it earlier first). */
  readonly events: PsrpEvent[];
  /**
   * Pool-level events that came with them. None over WS-Man, where a pipeline's Receive carries
   * only its own messages; the caller dispatches them after its own.
   */
  readonly pool: PsrpEvent[];
  /** The server said no more data comes for the pipeline (WS-Man CommandState Done). */
  readonly done: boolean;
}

/** True for events of the pool itself (no pipeline id, or a pool host call). */
const isPoolEvent = (e: PsrpEvent): boolean => !('pipelineId' in e) || e.pipelineId === null;

export class ReceivePump {
  /** Events of pipelines received while another target was being read, by pipeline id. */
  private readonly queues = new Map<string, PsrpEvent[]>();

  constructor(
    private readonly core: RunspacePoolCore,
    private readonly connection: PsrpConnection,
    private readonly owner: PumpOwner,
  ) {}

  /**
   * Feeds received fragments (a Receive's, or the answer to a WS-Man Connect) to the core and routes
   * the events it made of them. Returns the pool-level ones, in order. A pipeline's events go to its
   * queue while the core knows the pipeline (or it is `target`); a released pipeline's are dropped.
   */
  feed(data: readonly Uint8Array[], target: string | null = null): PsrpEvent[] {
    for (const d of data) this.core.receiveData(d);
    const pool: PsrpEvent[] = [];
    for (let e = this.core.nextEvent(); e; e = this.core.nextEvent()) {
      if (isPoolEvent(e)) {
        pool.push(e);
        continue;
      }
      const pid = (e as { readonly pipelineId: string }).pipelineId;
      if (pid !== target && !this.core.pipeline(pid)) continue;
      const q = this.queues.get(pid);
      if (q) q.push(e);
      else this.queues.set(pid, [e]);
    }
    return pool;
  }

  /**
   * One Receive for the pool itself; returns its events, undispatched. The shell gone (a
   * ShellNotFound fault) or its Receive ended (CommandState Done) breaks the pool: no pool message
   * can come any more.
   */
  async receivePool(signal: AbortSignal | undefined): Promise<PsrpEvent[]> {
    let chunk;
    try {
      chunk = await this.connection.receive(null, { signal });
    } catch (e) {
      if (e instanceof WSManFaultError && e.code === 'PSRP_WSMAN_SHELL_NOT_FOUND') {
        throw this.owner.broke(
          new RunspacePoolBrokenError(`The runspace pool's shell is gone on the server: ${e.message}`, {
            cause: e,
          }),
        );
      }
      throw e;
    }
    const events = this.feed(chunk.data);
    if (chunk.done && !this.owner.closing()) {
      this.owner.broke(
        new RunspacePoolBrokenError(
          "The server ended the runspace pool's Receive (WS-Man CommandState Done): no more pool messages can come",
        ),
      );
    }
    return events;
  }

  /**
   * The next events of pipeline `pid`: those already routed to it, or else one Receive for it
   * (pull-driven: nothing is asked of the server while events wait to be read).
   */
  async receivePipeline(pid: string, options: ConnectionOperationOptions): Promise<PipelineReceived> {
    const waiting = this.take(pid);
    if (waiting.length > 0) return { events: waiting, pool: [], done: false };
    const chunk = await this.connection.receive(pid, options);
    const pool = this.feed(chunk.data, pid);
    return { events: this.take(pid), pool, done: chunk.done };
  }

  /** Forgets a finished pipeline, in the core and here (events still routed to it are dropped). */
  removePipeline(pid: string): void {
    this.core.removePipeline(pid);
    this.queues.delete(pid);
  }

  private take(pid: string): PsrpEvent[] {
    const q = this.queues.get(pid);
    if (!q) return [];
    this.queues.delete(pid);
    return q;
  }
}
