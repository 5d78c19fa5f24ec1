/**
 * The seam between the public client (RunspacePool, PowerShell) and a wire: what a pool needs from
 * a transport to carry PSRP fragments. Two implementations:
 *  - WSManConnection: PSRP over a WinRM shell (MS-PSRP 3.1.5.3: Create with creationXml, Command,
 *    Send, Receive, Signal, Delete) through any WSManTransport;
 *  - OutOfProcConnection: PSRP over a child `pwsh -s` using PowerShell's out-of-process framing.
 *
 * All `data` values are concatenated PSRP fragments (MS-PSRP 2.2.4) exactly as the sans-IO core's
 * `dataToSend()` produced them; a connection never looks inside them.
 */

/** Which input stream a payload goes to: normal data, or a host-call response (WS-Man `pr`). */
export type PsrpStream = 'default' | 'pr';

/** One batch of data received for a pool or a pipeline. */
export interface ReceivedChunk {
  /** Fragment bytes as received (one element per WS-Man stream element / out-of-process Data packet). */
  readonly data: readonly Uint8Array[];
  /**
   * True when the server says no more data will come for this target (WS-Man CommandState Done for a
   * pipeline). The core's own PIPELINE_STATE message remains the authority on how it ended.
   */
  readonly done: boolean;
}

export interface ConnectionOperationOptions {
  readonly signal?: AbortSignal | undefined;
  /**
   * A short limit of the operation's own, in milliseconds: cleanup requests (Signal after an abort,
   * Delete after a failure) use it, and a timeout then names the stage `cleanup`.
   */
  readonly timeoutMs?: number | undefined;
}

export interface PsrpConnection {
  /**
   * Largest number of fragment bytes (before any base64) one send may carry; the client passes it
   * to the core's `dataToSend(maxBytes)`. May grow after the pool opens (WS-Man MaxEnvelopeSize).
   */
  readonly maxPayloadBytes: number;

  /**
   * Before the pool opens, when the caller asked for it (`maxEnvelopeSize: 'server'`): take the
   * server's own request size limit (WS-Man: MaxEnvelopeSizekb from winrm/config, which Windows
   * tells administrators only; when it refuses, the default stays and is never raised). Absent where
   * the wire has no such limit.
   */
  useServerLimits?(options?: ConnectionOperationOptions): Promise<void>;

  /**
   * The pool is open (or connected) on the server, which speaks protocol 2.2 or later when
   * `protocol22`: WS-Man then raises its default MaxEnvelopeSize to 500 KB, as PowerShell does.
   */
  poolOpened?(server: { readonly protocol22: boolean }): void;

  /**
   * Create the runspace pool on the server carrying its first fragments (WS-Man creationXml). When
   * it fails in a way that may have left the pool on the server, `closePool()` removes it: callers
   * run `closePool()` after every failed open.
   */
  openPool(poolId: string, data: Uint8Array, options?: ConnectionOperationOptions): Promise<void>;

  /** Create a pipeline carrying the first fragments of its CREATE_PIPELINE message (WS-Man Command). */
  createPipeline(pipelineId: string, data: Uint8Array, options?: ConnectionOperationOptions): Promise<void>;

  /** Send more fragments to the pool (`target` null) or to a pipeline (WS-Man Send). */
  send(target: string | null, stream: PsrpStream, data: Uint8Array, options?: ConnectionOperationOptions): Promise<void>;

  /**
   * Wait for the next data for the pool (`target` null) or a pipeline (WS-Man Receive). Resolves
   * with an empty chunk when a poll timed out with no data (the caller simply asks again).
   */
  receive(target: string | null, options?: ConnectionOperationOptions): Promise<ReceivedChunk>;

  /** Ask the server to stop a running pipeline (WS-Man Signal `powershell/signal/ctrl_c`). */
  stopPipeline(pipelineId: string, options?: ConnectionOperationOptions): Promise<void>;

  /** Release a finished pipeline's server resources (WS-Man Signal terminate). Never throws for a gone pipeline. */
  closePipeline(pipelineId: string, options?: ConnectionOperationOptions): Promise<void>;

  /**
   * Disconnect from the pool, leaving it (and its pipelines) on the server until its idle timeout
   * (WS-Man Disconnect, MS-PSRP 3.1.5.3.10). Absent where the wire has no such thing (SSH, a child
   * pwsh): the pool then says `PSRP_NOT_SUPPORTED`.
   */
  disconnect?(idleTimeoutSeconds: number | undefined, options?: ConnectionOperationOptions): Promise<void>;

  /** Attach to a pipeline a disconnected client left running (WS-Man Connect with a CommandId). */
  connectPipeline?(pipelineId: string, options?: ConnectionOperationOptions): Promise<void>;

  /** Reattach to the pool this connection disconnected (WS-Man Reconnect, MS-PSRP 3.1.5.3.11). */
  reconnect?(options?: ConnectionOperationOptions): Promise<void>;

  /**
   * Delete the pool on the server and release local resources (WS-Man Delete, or Close + process
   * exit). Idempotent; safe to call on every path, including after a failure or an abort.
   */
  closePool(options?: ConnectionOperationOptions): Promise<void>;
}
