/**
 * PowerShell: build a pipeline of commands, then `invoke()` it (all results at once), `stream()`
 * it (every record as it arrives, pull-driven: no further Receive is sent until you ask for more,
 * which is the backpressure), or iterate `output()`. A `break` out of a loop, `stop()` or an aborted
 * signal stops the pipeline on the server.
 */
import { jsonSafe } from './json-safe.js';
import { InvalidArgumentError, InvalidStateError, PipelineFailedError, PsrpError } from '../errors.js';
import { PSSecureString } from '../clixml/index.js';
import type { CommandMetadataFilter, CommandParameter, CommandSpec } from '../psrp/messages.js';
import type { ErrorRecord, InformationalRecord, InformationRecord, ProgressRecord } from '../psrp/records.js';
import { TERMINAL_PIPELINE_STATES, type PipelineCore, type PipelineState, type PsrpEvent, type RunspacePoolCore } from '../psrp/runspace-pool-core.js';
import { answerHostCall, type PSHost } from './host.js';
import { deadline } from './deadline.js';
import type { IdSource } from '../internal/ids.js';
import type { PsrpConnection } from './psrp-connection.js';
import type { ReceivePump } from './receive-pump.js';

/** One record of a running pipeline. */
export type PipelineRecord =
  | { readonly stream: 'output'; readonly value: unknown }
  | { readonly stream: 'error'; readonly value: ErrorRecord }
  | { readonly stream: 'warning' | 'verbose' | 'debug'; readonly value: InformationalRecord }
  | { readonly stream: 'information'; readonly value: InformationRecord }
  | { readonly stream: 'progress'; readonly value: ProgressRecord };

/** Internal handle PowerShell uses to drive the pool. */
export interface PoolInternals {
  readonly core: RunspacePoolCore;
  /** Every Receive goes through it: a pipeline's events come back routed to it. */
  readonly pump: ReceivePump;
  readonly connection: PsrpConnection;
  readonly ids: IdSource;
  readonly host: PSHost | undefined;
  acquire(signal?: AbortSignal): Promise<() => void>;
  /** Flushes everything queued for `target` (Command for the first payload of a new pipeline). */
  flush(target: string | null, signal?: AbortSignal, createPipeline?: boolean): Promise<void>;
  /** Handles pool-level events (pool state, pool host calls). */
  dispatch(events: PsrpEvent[], signal?: AbortSignal): Promise<void>;
  background(p: Promise<unknown>): void;
  assertUsable(): void;
  /** Exchanges the session key once (MS-PSRP 3.1.5.4.5), before a SecureString is sent. */
  ensureSessionKey(signal?: AbortSignal): Promise<void>;
  /** Milliseconds each cleanup request (Signal after an abort) may take. */
  readonly cleanupTimeoutMs: number;
  /** Where the pool is (origin and path), for messages; undefined for a local process. */
  readonly endpoint: string | undefined;
}

export interface InvokeResult<T = unknown> {
  /** The output objects (`invoke<Mailbox>()` types them; nothing checks them at run time). */
  readonly output: T[];
  readonly errors: ErrorRecord[];
  readonly warnings: InformationalRecord[];
  readonly verbose: InformationalRecord[];
  readonly debug: InformationalRecord[];
  readonly information: InformationRecord[];
  readonly progress: ProgressRecord[];
  /** True when any error record arrived (PowerShell's `$?` is false / HadErrors). */
  readonly hadErrors: boolean;
  /** How the pipeline ended. */
  readonly state: PipelineState;
  /**
   * `JSON.stringify(result)` never throws: every field, with bigints as numbers (strings above
   * 2^53 - 1), cycles as `'[Circular]'`, values with their own `toJSON()` as that (non-enumerable).
   */
  toJSON(): unknown;
}

export interface RunOptions {
  /** Pipeline input: values are sent lazily as the pipeline consumes them. */
  readonly input?: Iterable<unknown> | AsyncIterable<unknown> | undefined;
  readonly signal?: AbortSignal | undefined;
  /** Milliseconds before the pipeline is stopped and the call rejects. */
  readonly timeoutMs?: number | undefined;
  /**
   * `'stop'`: reject (or end the iteration of `stream()`/`output()` with a throw) on the first error
   * record (PowerShell's -ErrorAction Stop), code `PSRP_PIPELINE_ERROR_RECORD`. Default `'continue'`.
   */
  readonly errorAction?: 'continue' | 'stop' | undefined;
  /**
   * Called with each non-terminating error record as it arrives, in order with the output (before
   * the records that follow it are handed out), whichever way the pipeline is read: the error
   * channel of `output()`, where error records are otherwise not yielded. Throwing from it stops
   * the pipeline and rejects with what you threw.
   */
  readonly onError?: ((record: ErrorRecord) => void) | undefined;
  /** Record the command in the server's history. Default false. */
  readonly addToHistory?: boolean | undefined;
}

/** One run of a pipeline: what its receive loop and its cleanup share. */
interface Execution {
  pipeline: PipelineCore | undefined;
  /** True once the server acknowledged the pipeline (WS-Man Command). */
  created: boolean;
  finished: boolean;
  failure: PipelineFailedError | undefined;
  /** Records received, not yet handed out. */
  readonly buffer: PipelineRecord[];
  readonly setState: (s: PipelineState) => void;
}

interface MutableCommand {
  name: string;
  isScript: boolean;
  useLocalScope: boolean | undefined;
  parameters: CommandParameter[];
  mergeErrorToOutput: boolean;
}

/** True when a value (or an array/object inside it, two levels deep) holds a SecureString. */
function containsSecureString(v: unknown, depth = 0): boolean {
  if (v instanceof PSSecureString) return true;
  if (depth > 2 || v === null || typeof v !== 'object') return false;
  const values = Array.isArray(v) ? v : v instanceof Map ? [...v.values()] : Object.values(v);
  return values.some((x) => containsSecureString(x, depth + 1));
}

/** How long a stop waits for the Signal's answer before going on in the background (within the 1 s a timeout may overrun). */
const SIGNAL_GRACE_MS = 500;

const STREAMS: Partial<Record<PsrpEvent['type'], PipelineRecord['stream']>> = {
  PipelineOutput: 'output',
  ErrorRecord: 'error',
  WarningRecord: 'warning',
  VerboseRecord: 'verbose',
  DebugRecord: 'debug',
  InformationRecord: 'information',
  ProgressRecord: 'progress',
};

export class PowerShell {
  /** The statement being built (its commands form one pipeline). */
  private commands: MutableCommand[] = [];
  /** Statements finished with addStatement(), run before `commands`. */
  private readonly statements: MutableCommand[][] = [];
  private started = false;
  private stopRequested: (() => void) | undefined;
  /** Set for a GET_COMMAND_METADATA pseudo-pipeline (see RunspacePool.getCommandMetadata). */
  private metadataNames: readonly string[] | undefined;
  private metadataFilter: CommandMetadataFilter = {};
  /** Set for a pipeline left running by a disconnected client (see RunspacePool.connectPipeline). */
  private attachTo: string | undefined;

  constructor(private readonly pool: PoolInternals) {}

  /** @internal Turns this into a GET_COMMAND_METADATA request (MS-PSRP 3.1.4.10) for `names`. */
  asCommandMetadataRequest(names: readonly string[], filter: CommandMetadataFilter = {}): this {
    if (this.commands.length > 0) throw new InvalidArgumentError('A command metadata request takes no commands');
    this.metadataNames = names;
    this.metadataFilter = filter;
    return this;
  }

  /** @internal Turns this into the pipeline `commandId` already on the server (WS-Man Connect). */
  asConnectedPipeline(commandId: string): this {
    this.attachTo = commandId;
    return this;
  }

  /** Adds a command (a new stage of the pipeline). */
  addCommand(name: string, options: { readonly useLocalScope?: boolean } = {}): this {
    if (!name) throw new InvalidArgumentError('A command name is required');
    this.commands.push({ name, isScript: false, useLocalScope: options.useLocalScope, parameters: [], mergeErrorToOutput: false });
    return this;
  }

  /**
   * Ends the current statement: the commands added next form a new pipeline that runs after it, in
   * the same remote invocation, its output following the previous statement's (PowerShell's
   * AddStatement; `Get-Item x; Get-Date`). Needs a protocol 2.2+ server (PowerShell 3+, Exchange 2013+).
   */
  addStatement(): this {
    if (this.commands.length === 0) throw new InvalidArgumentError('Add a command before ending its statement');
    this.statements.push(this.commands);
    this.commands = [];
    return this;
  }

  /**
   * Adds script text. Impossible on NoLanguage endpoints such as Exchange, where the server answers
   * "The syntax is not supported by this runspace": use addCommand there.
   */
  addScript(script: string, options: { readonly useLocalScope?: boolean } = {}): this {
    this.commands.push({ name: script, isScript: true, useLocalScope: options.useLocalScope, parameters: [], mergeErrorToOutput: false });
    return this;
  }

  private last(): MutableCommand {
    const c = this.commands.at(-1);
    if (!c) throw new InvalidArgumentError('Add a command before its parameters');
    return c;
  }

  /** Adds a named parameter to the last command. `true` for a switch. */
  addParameter(name: string, value: unknown = true): this {
    this.last().parameters.push({ name: name.replace(/^-/, ''), value });
    return this;
  }

  /** Adds several named parameters. */
  addParameters(parameters: Readonly<Record<string, unknown>>): this {
    for (const [k, v] of Object.entries(parameters)) this.addParameter(k, v);
    return this;
  }

  /** Adds a positional argument to the last command. */
  addArgument(value: unknown): this {
    this.last().parameters.push({ name: null, value });
    return this;
  }

  /** Merges the last command's error stream into its output (`2>&1`). */
  mergeErrorToOutput(): this {
    this.last().mergeErrorToOutput = true;
    return this;
  }

  /** Stops the running pipeline on the server. */
  async stop(): Promise<void> {
    this.stopRequested?.();
    await Promise.resolve();
  }

  /** Runs the pipeline and collects every stream. */
  async invoke<T = unknown>(options: RunOptions = {}): Promise<InvokeResult<T>> {
    const r = {
      output: [] as T[],
      errors: [] as ErrorRecord[],
      warnings: [] as InformationalRecord[],
      verbose: [] as InformationalRecord[],
      debug: [] as InformationalRecord[],
      information: [] as InformationRecord[],
      progress: [] as ProgressRecord[],
    };
    const run = this.run(options);
    for await (const rec of run.records) {
      switch (rec.stream) {
        case 'output':
          r.output.push(rec.value as T);
          break;
        case 'error':
          r.errors.push(rec.value);
          break;
        case 'warning':
          r.warnings.push(rec.value);
          break;
        case 'verbose':
          r.verbose.push(rec.value);
          break;
        case 'debug':
          r.debug.push(rec.value);
          break;
        case 'information':
          r.information.push(rec.value);
          break;
        case 'progress':
          r.progress.push(rec.value);
          break;
      }
    }
    const result = { ...r, hadErrors: r.errors.length > 0, state: run.state() };
    return Object.defineProperty(result, 'toJSON', {
      value: () => jsonSafe({ ...result }),
      enumerable: false,
      configurable: true,
      writable: true,
    }) as InvokeResult<T>;
  }

  /** Every record as it arrives. */
  stream(options: RunOptions = {}): AsyncGenerator<PipelineRecord, void, undefined> {
    return this.run(options).records;
  }

  /**
   * Output objects only. Error records are not yielded: they reach `onError` as they arrive, and
   * with `errorAction: 'stop'` the first one ends the iteration with a PipelineFailedError
   * (`PSRP_PIPELINE_ERROR_RECORD`); other streams are dropped. `T` describes what you expect;
   * values are not checked against it.
   */
  async *output<T = unknown>(options: RunOptions = {}): AsyncGenerator<T, void, undefined> {
    for await (const rec of this.run(options).records) if (rec.stream === 'output') yield rec.value as T;
  }

  private run(options: RunOptions): { records: AsyncGenerator<PipelineRecord, void, undefined>; state: () => PipelineState } {
    if (this.started) throw new InvalidStateError('run the pipeline', 'Started', ['NotStarted']);
    if (this.commands.length === 0 && this.metadataNames === undefined && this.attachTo === undefined) {
      throw new InvalidArgumentError(this.statements.length > 0 ? 'addStatement() was not followed by a command' : 'Add at least one command');
    }
    this.started = true;
    this.pool.assertUsable();
    const origin = new Error('called from');
    let finalState: PipelineState = 'NotStarted';
    const records = this.execute(options, (s) => (finalState = s), origin);
    return { records, state: () => finalState };
  }

  private async *execute(options: RunOptions, setState: (s: PipelineState) => void, origin: Error): AsyncGenerator<PipelineRecord, void, undefined> {
    const limit = options.timeoutMs !== undefined ? deadline(options.timeoutMs, 'invoke', this.pool.endpoint, 'timeoutMs') : undefined;
    const userSignals = [options.signal, limit?.signal].filter((s): s is AbortSignal => s !== undefined);
    const stopController = new AbortController();
    this.stopRequested = () => stopController.abort(new PsrpError('The pipeline was stopped', { code: 'PSRP_PIPELINE_STOPPED' }));
    // AbortSignal.any costs ~25 us (weak references, a registry): only when there is more than one.
    const signal = userSignals.length === 0 ? stopController.signal : AbortSignal.any([...userSignals, stopController.signal]);
    const release = await this.pool.acquire(signal);
    const run: Execution = { pipeline: undefined, created: false, finished: false, failure: undefined, buffer: [], setState };
    try {
      const pid = await this.begin(run, options, signal);
      // Hand out what has arrived; ask the server for more only when the buffer is empty.
      while (!run.finished || run.buffer.length > 0) {
        const rec = run.buffer.shift();
        if (rec === undefined) {
          // Pull-driven: ask the server for more only when the consumer wants more.
          await this.receive(run, pid, signal);
          continue;
        }
        if (rec.stream === 'error') {
          if (options.errorAction === 'stop') {
            throw new PipelineFailedError(`${rec.value.message}`, { code: 'PSRP_PIPELINE_ERROR_RECORD', errorRecord: rec.value });
          }
          options.onError?.(rec.value);
        }
        yield rec;
      }
      if (run.failure) throw run.failure;
    } catch (e) {
      if (signal.aborted && !run.finished && e === signal.reason) {
        // Aborted or stopped by the caller: stop on the server, then report.
        if (stopController.signal.aborted && !userSignals.some((s) => s.aborted)) setState('Stopped');
        throw signal.reason;
      }
      if (e instanceof Error && e.stack && origin.stack) e.stack += `\n    --- async call site ---${origin.stack.slice(origin.stack.indexOf('\n'))}`;
      throw e;
    } finally {
      limit?.clear();
      await this.finish(run, release);
    }
  }

  /** Creates the pipeline on the server (or attaches to it) and sends its input; resolves with its id. */
  private async begin(run: Execution, options: RunOptions, signal: AbortSignal): Promise<string> {
    const { core, connection, ids } = this.pool;
    const hasInput = options.input !== undefined;
    if (this.attachTo !== undefined) {
      run.pipeline = core.attachPipeline(this.attachTo);
      await connection.connectPipeline!(run.pipeline.id, { signal });
    }
    const spec = (cs: readonly MutableCommand[]): CommandSpec[] =>
      cs.map<CommandSpec>((c) => ({
        name: c.name,
        isScript: c.isScript,
        useLocalScope: c.useLocalScope,
        parameters: c.parameters,
        mergeErrorToOutput: c.mergeErrorToOutput,
      }));
    const all = [...this.statements, this.commands];
    const pipeline = (run.pipeline ??= this.metadataNames
      ? core.getCommandMetadata(ids.uuid(), this.metadataNames, this.metadataFilter)
      : core.createPipeline(ids.uuid(), {
          commands: spec(this.commands),
          ...(all.length > 1 ? { statements: all.map(spec) } : {}),
          noInput: !hasInput,
          addToHistory: options.addToHistory ?? false,
          isNested: false,
        }));
    const pid = pipeline.id;
    if (all.flat().some((c) => c.parameters.some((p) => containsSecureString(p.value)))) await this.pool.ensureSessionKey(signal);
    if (this.attachTo === undefined) {
      pipeline.start();
      await this.pool.flush(pid, signal, true);
    }
    run.created = true;
    if (options.input !== undefined) await this.sendInput(pipeline, options.input, signal);
    return pid;
  }

  /** Sends the pipeline's input, then its end (MS-PSRP 2.2.2.17, 2.2.2.18). */
  private async sendInput(pipeline: PipelineCore, input: NonNullable<RunOptions['input']>, signal: AbortSignal): Promise<void> {
    const pid = pipeline.id;
    if (Array.isArray(input)) {
      // A ready array goes in as few Sends as fit: every input message plus the end marker.
      const values = input as unknown[];
      if (values.some((v) => containsSecureString(v))) await this.pool.ensureSessionKey(signal);
      pipeline.sendInput(values);
      pipeline.endInput();
      await this.pool.flush(pid, signal);
      return;
    }
    for await (const v of input as AsyncIterable<unknown>) {
      signal.throwIfAborted();
      if (containsSecureString(v)) await this.pool.ensureSessionKey(signal);
      pipeline.sendInput([v]);
      await this.pool.flush(pid, signal);
    }
    pipeline.endInput();
    await this.pool.flush(pid, signal);
  }

  /** One receive for the pipeline: its records into the buffer, its host calls answered, its end noted. */
  private async receive(run: Execution, pid: string, signal: AbortSignal): Promise<void> {
    const received = await this.pool.pump.receivePipeline(pid, { signal });
    for (const e of received.events) {
      if (e.type === 'HostCall') {
        const answer = await answerHostCall(this.pool.host, e);
        if (answer) {
          if (containsSecureString(answer)) await this.pool.ensureSessionKey(signal);
          this.pool.core.hostResponse(e, answer);
          await this.pool.flush(pid, signal);
        }
      } else if (e.type === 'PipelineState') {
        if (TERMINAL_PIPELINE_STATES.has(e.state)) {
          run.finished = true;
          run.setState(e.state);
          if (e.state === 'Failed') {
            const msg = e.error ? e.error.message : 'The pipeline failed';
            run.failure = new PipelineFailedError(msg, e.error ? { errorRecord: e.error } : {});
          }
        }
      } else {
        const stream = STREAMS[e.type];
        if (stream) run.buffer.push({ stream, value: (e as { value?: unknown; record?: unknown }).value ?? (e as { record: unknown }).record } as PipelineRecord);
      }
    }
    await this.pool.dispatch(received.pool, signal);
    if (!run.finished && received.done) {
      // WS-Man says the command is over (CommandState Done) but no final PIPELINE_STATE came:
      // no more data can arrive for it, so waiting would never end.
      run.finished = true;
      run.setState('Failed');
      run.failure = new PipelineFailedError('The server ended the command (WS-Man CommandState Done) without a final pipeline state (MS-PSRP 2.2.2.21)', {
        code: 'PSRP_PIPELINE_ENDED_WITHOUT_STATE',
      });
    }
    if (!run.finished) this.pool.assertUsable();
  }

  /** After the run, however it ended: stop the pipeline on the server if it still runs, release it, free the runspace slot. */
  private async finish(run: Execution, release: () => void): Promise<void> {
    const { connection, pump } = this.pool;
    const { pipeline, finished, created } = run;
    if (pipeline && !finished && created) {
      // Stop it on the server (break, throw, abort): Signal ctrl_c, then drain until it ends —
      // off the caller's critical path (a timeout must mean what it says), each request under
      // the cleanup timeout. The runspace slot is released once that is done.
      pipeline.stopping();
      run.setState('Stopped');
      const cleanup = { timeoutMs: this.pool.cleanupTimeoutMs };
      const signalled = connection.stopPipeline(pipeline.id, cleanup);
      // A sane server acknowledges the Signal at once: wait that long for it, never longer.
      await Promise.race([signalled.catch(() => undefined), new Promise((resolve) => setTimeout(resolve, SIGNAL_GRACE_MS).unref())]);
      this.pool.background(this.drainStopped(pipeline, signalled, cleanup).finally(release));
      return;
    }
    // A pipeline whose Command failed or was never answered has nothing to stop or drain: the
    // Signal terminate below releases it in case the server did start it.
    if (pipeline) {
      const pid = pipeline.id;
      pump.removePipeline(pid);
      // Every command the server knows of is released with Signal terminate (MS-WSMV 3.1.4.12),
      // finished ones too: Windows counts a command against MaxConcurrentCommandsPerShell until
      // it is terminated or the shell deleted, so a long-lived pool would otherwise fail after
      // about 1,000 commands. Off the critical path: a finished command's Signal leaves on the
      // next turn of the event loop, after the caller has its result; close() waits for it.
      if (!finished) this.pool.background(connection.closePipeline(pid));
      else if (created) this.pool.background(new Promise<void>((resolve) => setImmediate(resolve)).then(() => connection.closePipeline(pid)));
    }
    release();
  }

  /** Receives what a stopped pipeline still sends (of no use now: the caller has gone) until it ends, then releases it. */
  private async drainStopped(pipeline: PipelineCore, signalled: Promise<void>, cleanup: { readonly timeoutMs: number }): Promise<void> {
    const { connection, pump } = this.pool;
    const pid = pipeline.id;
    try {
      await signalled;
      const until = Date.now() + 3 * cleanup.timeoutMs;
      while (!TERMINAL_PIPELINE_STATES.has(pipeline.state) && Date.now() < until) {
        if ((await pump.receivePipeline(pid, cleanup)).done) break;
      }
    } catch {
      // The pool may be gone; closing it will clean up.
    }
    pump.removePipeline(pid);
    await connection.closePipeline(pid, cleanup).catch(() => undefined);
  }
}
