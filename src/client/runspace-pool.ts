/**
 * RunspacePool: the public entry point. It owns a PsrpConnection (WinRM/HTTP, a replay, or a child
 * pwsh) and the sans-IO RunspacePoolCore, opens the pool, hands out PowerShell pipelines (at most
 * `maxRunspaces` running at once; the rest wait), and always deletes the shell on close, on a
 * failed open and on abort.
 */
import { InvalidStateError, PipelineFailedError, PsrpError, RunspacePoolBrokenError } from '../errors.js';
import type { IdSource } from '../internal/ids.js';
import { CONNECTION_DEFAULTS } from '../http/transport-options.js';
import type { WSManTransport } from '../http/wsman-transport.js';
import { RunspacePoolCore, type PsrpEvent, type RunspacePoolState } from '../psrp/runspace-pool-core.js';
import type { CommandMetadataFilter } from '../psrp/messages.js';
import { answerHostCall, type PSHost } from './host.js';
import { PowerShell, type PoolInternals } from './powershell.js';
import { deadline } from './deadline.js';
import type { FileTransferOptions, FileTransferResult } from './file-transfer.js';
import type { PsrpConnection } from './psrp-connection.js';
import { ReceivePump } from './receive-pump.js';
import { prepareConnection, type PreparedConnection, type RunspacePoolOptions } from './runspace-pool-options.js';
import type { WSManConnection } from './wsman-connection.js';
import type { ShellInfo } from '../wsman/index.js';

export type { RunspacePoolOptions, ShellInfo };

/** `origin + path` of an endpoint URL, the only part of it named in errors. */
export function endpointOf(url: string | undefined): string | undefined {
  if (url === undefined) return undefined;
  try {
    const u = new URL(url);
    return `${u.origin}${u.pathname}`;
  } catch {
    return undefined;
  }
}


export class RunspacePool implements AsyncDisposable {
  private readonly internals: PoolInternals;
  private readonly pending = new Set<Promise<unknown>>();
  private readonly waiters: (() => void)[] = [];
  private running = 0;
  private closing: Promise<void> | undefined;
  private readonly ownTransport: WSManTransport | undefined;
  private brokenError: PsrpError | undefined;
  private readonly cleanupTimeoutMs: number;
  private disconnected = false;
  /** Every Receive of this pool and its pipelines, routed by target. */
  private readonly pump: ReceivePump;
  /** While disconnecting or disconnected: settles when the pool is attached again, or closed. */
  private detached: { readonly promise: Promise<void>; readonly resolve: () => void; readonly reject: (e: Error) => void } | undefined;

  private constructor(
    private readonly core: RunspacePoolCore,
    readonly connection: PsrpConnection,
    private readonly ids: IdSource,
    readonly host: PSHost | undefined,
    ownTransport: WSManTransport | undefined,
    cleanupTimeoutMs: number,
    endpoint: string | undefined,
  ) {
    this.ownTransport = ownTransport;
    this.cleanupTimeoutMs = cleanupTimeoutMs;
    const gated = this.gated(connection);
    this.pump = new ReceivePump(core, gated, {
      closing: () => this.closing !== undefined,
      broke: (error) => (this.brokenError ??= error),
    });
    this.internals = {
      pump: this.pump,
      cleanupTimeoutMs,
      endpoint,
      core,
      connection: gated,
      ids,
      host,
      acquire: (signal) => this.acquire(signal),
      flush: (target, signal, create) => this.flush(target, signal, create),
      dispatch: (events, signal) => this.dispatch(events, signal),
      background: (p) => this.background(p),
      assertUsable: () => this.assertUsable(),
      ensureSessionKey: (signal) => this.ensureSessionKey(signal),
    };
  }

  /**
   * Copies a local file to the server (docs/file-transfer.md): chunked to the envelope size,
   * streamed, SHA-256 checked by the server before the file is put in place. FullLanguage only.
   */
  async copyTo(local: string, remote: string, options?: FileTransferOptions): Promise<FileTransferResult> {
    // Loaded on first use (issue 17, cold start): most processes never copy a file.
    const { copyTo } = await import('./file-transfer.js');
    return copyTo(this, local, remote, options);
  }

  /** Copies a file from the server to a local path, SHA-256 checked before it is put in place. */
  async copyFrom(remote: string, local: string, options?: FileTransferOptions): Promise<FileTransferResult> {
    const { copyFrom } = await import('./file-transfer.js');
    return copyFrom(this, remote, local, options);
  }

  /** Opens a runspace pool (MS-PSRP 3.1.4.1) and resolves once the server says Opened. */
  static async open(options: RunspacePoolOptions): Promise<RunspacePool> {
    const prepared = await prepareConnection(options);
    const core = new RunspacePoolCore({
      id: prepared.ids.uuid(),
      ...RunspacePool.coreLimits(options),
      ...(options.applicationArguments ? { applicationArguments: options.applicationArguments } : {}),
    });
    return RunspacePool.establish(options, prepared, core, async (pool, signal) => {
      if (options.maxEnvelopeSize === 'server') await prepared.connection.useServerLimits?.({ signal });
      await pool.doOpen(signal);
    });
  }

  /** The pool sizes and the buffering limit of a RunspacePoolCore, from the options. */
  private static coreLimits(options: RunspacePoolOptions) {
    return {
      minRunspaces: options.minRunspaces ?? 1,
      maxRunspaces: options.maxRunspaces ?? 1,
      hasHost: options.host !== undefined,
      ...(options.maxBufferedMessageBytes !== undefined ? { maxBufferedMessageBytes: options.maxBufferedMessageBytes } : {}),
    };
  }

  /**
   * Makes the pool for `core` and runs `attach` (open, or connect) within `openTimeoutMs`. On a
   * failure the shell is deleted within what is left of that budget: at least a short moment and at
   * most `cleanupTimeoutMs`, so that the call stays within openTimeoutMs (+1 s).
   */
  private static async establish(
    options: RunspacePoolOptions,
    prepared: PreparedConnection,
    core: RunspacePoolCore,
    attach: (pool: RunspacePool, signal: AbortSignal) => Promise<void>,
  ): Promise<RunspacePool> {
    const { connection, own, ids, transport } = prepared;
    const endpoint = endpointOf(transport?.url ?? (options.uri !== undefined ? String(options.uri) : undefined));
    const cleanupTimeoutMs = options.cleanupTimeoutMs ?? CONNECTION_DEFAULTS.cleanupTimeoutMs;
    const pool = new RunspacePool(core, connection, ids, options.host, own, cleanupTimeoutMs, endpoint);
    const openTimeoutMs = options.openTimeoutMs ?? CONNECTION_DEFAULTS.openTimeoutMs;
    const started = Date.now();
    const limit = deadline(openTimeoutMs, 'open', endpoint, 'openTimeoutMs');
    const signal = options.signal ? AbortSignal.any([options.signal, limit.signal]) : limit.signal;
    try {
      await attach(pool, signal);
    } catch (e) {
      const left = Math.min(cleanupTimeoutMs, Math.max(1_000, openTimeoutMs - (Date.now() - started)));
      await pool.close({ timeoutMs: left }).catch(() => undefined);
      throw e;
    } finally {
      limit.clear();
    }
    return pool;
  }

  /** PSRP_NOT_SUPPORTED for SSH and a child pwsh: only WinRM keeps shells apart from their client. */
  private static wsmanOnly(options: RunspacePoolOptions, what: string): void {
    if (options.ssh || options.connection) {
      throw new PsrpError(`Only WinRM (WS-Management) shells can be ${what}: SSH sessions and a child pwsh end with their client`, {
        code: 'PSRP_NOT_SUPPORTED',
      });
    }
  }

  /**
   * The caller's shells on a WinRM server (WS-Man Enumerate), disconnected ones included, as
   * Get-PSSession -ComputerName lists them: `shellId`, `configurationName`, `state`
   * (`Connected`/`Disconnected`), `owner`, `clientIp`, `idleTimeout`, ...
   */
  static async listShells(options: RunspacePoolOptions): Promise<ShellInfo[]> {
    RunspacePool.wsmanOnly(options, 'listed');
    const { connection, own } = await prepareConnection(options);
    try {
      return await (connection as WSManConnection).listShells({ signal: options.signal });
    } finally {
      await own?.close();
    }
  }

  /**
   * The command (pipeline) ids running or left in one of the caller's shells (WS-Man Enumerate of
   * the Command resource, as Get-PSSession asks): what `connectPipeline()` takes after `connect()`.
   */
  static async listCommands(options: RunspacePoolOptions & { readonly shellId: string }): Promise<string[]> {
    RunspacePool.wsmanOnly(options, 'listed');
    const { connection, own } = await prepareConnection(options);
    try {
      return await (connection as WSManConnection).listCommands(options.shellId, { signal: options.signal });
    } finally {
      await own?.close();
    }
  }

  /**
   * Attaches to a disconnected pool another client (or process) left on a WinRM server, as
   * Connect-PSSession: `shellId` from `listShells()`. Resolves once the server says Opened; the
   * pool is then this client's (close() deletes the shell). Not over SSH or a child pwsh.
   */
  static async connect(options: RunspacePoolOptions & { readonly shellId: string }): Promise<RunspacePool> {
    RunspacePool.wsmanOnly(options, 'connected to');
    const prepared = await prepareConnection(options);
    const wsman = prepared.connection as WSManConnection;
    const core = new RunspacePoolCore({ id: options.shellId.toLowerCase(), ...RunspacePool.coreLimits(options) });
    return RunspacePool.establish(options, prepared, core, async (pool, signal) => {
      core.connect();
      const first = core.dataToSend(wsman.maxPayloadBytes, null)!;
      const answer = await wsman.connectPool(options.shellId, first.data, { signal });
      await pool.dispatch(pool.pump.feed(answer ? [answer] : []), signal);
      while (core.state !== 'Opened') {
        if (core.state === 'Broken' || core.state === 'Closed') {
          throw pool.brokenError ?? new RunspacePoolBrokenError(`The server refused the connection to the runspace pool (state ${core.state})`);
        }
        await pool.dispatch(await pool.pump.receivePool(signal), signal);
      }
      wsman.poolOpened({ protocol22: core.isProtocol22 });
    });
  }

  private async doOpen(signal: AbortSignal | undefined): Promise<void> {
    const { core, connection } = this;
    core.open();
    const first = core.dataToSend(connection.maxPayloadBytes, null)!;
    await connection.openPool(core.id, first.data, { signal });
    await this.flush(null, signal);
    while (core.state !== 'Opened') {
      if (core.state === 'Broken' || core.state === 'Closed') {
        throw this.brokenError ?? new RunspacePoolBrokenError(`The server refused to open the runspace pool (state ${core.state})`);
      }
      await this.dispatch(await this.pump.receivePool(signal), signal);
      if ((core.state as RunspacePoolState) !== 'Opened' && this.brokenError) throw this.brokenError;
    }
    connection.poolOpened?.({ protocol22: core.isProtocol22 });
  }

  /** The pool's state (`Opened` while usable, `Disconnected` after `disconnect()`). */
  get state(): RunspacePoolState {
    return this.disconnected && this.core.state === 'Opened' ? 'Disconnected' : this.core.state;
  }

  /**
   * Disconnects from the pool, as Disconnect-PSSession: the server keeps the shell and its running
   * pipelines (for its idle timeout: `idleTimeoutSeconds`, or the shell's) until `reconnect()` or
   * another client's `connect()`; running `invoke()`/`stream()` calls wait meanwhile. Not on SSH or
   * a child pwsh (`PSRP_NOT_SUPPORTED`).
   */
  async disconnect(options: { readonly idleTimeoutSeconds?: number; readonly signal?: AbortSignal } = {}): Promise<void> {
    this.assertUsable();
    const connection = this.connection;
    if (!connection.disconnect || !connection.reconnect) {
      throw new PsrpError(
        `${connection.constructor.name} cannot disconnect: only WinRM (WS-Management) shells outlive their client; an SSH session or a child pwsh ends with it`,
        { code: 'PSRP_NOT_SUPPORTED' },
      );
    }
    // MS-PSRP 3.1.4.9: requests under way finish first (the Signal that releases a finished
    // pipeline, so a later client does not find it); running pipelines are disconnected with the
    // pool and go on running on the server (Invoke-Command -InDisconnectedSession): their receive
    // loops wait from now on.
    await Promise.all(this.pending);
    let resolve!: () => void;
    let reject!: (e: Error) => void;
    const promise = new Promise<void>((y, n) => ((resolve = y), (reject = n)));
    promise.catch(() => undefined);
    this.detached = { promise, resolve, reject };
    try {
      await connection.disconnect(options.idleTimeoutSeconds, { signal: options.signal });
    } catch (e) {
      this.attached();
      throw e;
    }
    this.disconnected = true;
  }

  /**
   * The pool's shell as the server sees it (WS-Transfer Get, MS-WSMV 3.1.4.1): `state` is
   * `Connected` or `Disconnected`, and a shell the server no longer has fails with
   * PSRP_WSMAN_SHELL_NOT_FOUND; this is how a client checks that a pool is still alive, disconnected
   * ones included. WinRM only (PSRP_NOT_SUPPORTED over SSH or a child pwsh).
   */
  async shellInfo(options: { readonly signal?: AbortSignal } = {}): Promise<ShellInfo> {
    const wsman = this.connection as Partial<Pick<WSManConnection, 'getShell'>>;
    if (typeof wsman.getShell !== 'function') {
      throw new PsrpError(`${this.connection.constructor.name} has no WinRM shell to describe`, { code: 'PSRP_NOT_SUPPORTED' });
    }
    return wsman.getShell.call(this.connection, this.core.id, { signal: options.signal });
  }

  /** Reattaches to the pool this client disconnected (Connect-PSSession on the same client). */
  async reconnect(options: { readonly signal?: AbortSignal } = {}): Promise<void> {
    if (!this.disconnected) throw new InvalidStateError('reconnect the runspace pool', this.state, ['Disconnected']);
    await this.connection.reconnect!({ signal: options.signal });
    this.disconnected = false;
    this.attached();
  }

  /** Lets the pipelines that waited while the pool was disconnected go on. */
  private attached(): void {
    const d = this.detached;
    this.detached = undefined;
    d?.resolve();
  }

  /**
   * The connection as pipelines use it: while the pool is disconnected (MS-PSRP 3.1.4.9: its
   * pipelines are Disconnected too) their Receives, Signals and Sends wait for `reconnect()`, and
   * what a Receive brought or met as the shell went away waits with them; `close()` ends the wait
   * with PSRP_POOL_CLOSED, leaving the pipeline running on the server for `connectPipeline()`.
   */
  private gated(connection: PsrpConnection): PsrpConnection {
    const wait = async (signal: AbortSignal | undefined): Promise<void> => {
      while (this.detached) {
        const d = this.detached;
        if (!signal) await d.promise;
        else {
          signal.throwIfAborted();
          await new Promise<void>((resolve, reject) => {
            const onAbort = (): void => reject(signal.reason as Error);
            signal.addEventListener('abort', onAbort, { once: true });
            d.promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
          });
        }
      }
    };
    const receive: PsrpConnection['receive'] = async (target, options) => {
      await wait(options?.signal);
      let chunk;
      try {
        chunk = await connection.receive(target, options);
      } catch (e) {
        // The server ended this Receive because the shell was disconnected: ask again once attached.
        if (!this.detached) throw e;
        chunk = { data: [], done: false };
      }
      await wait(options?.signal);
      return chunk;
    };
    const later =
      <A extends unknown[]>(f: (...a: A) => Promise<void>, options: (a: A) => { signal?: AbortSignal | undefined } | undefined) =>
      async (...a: A): Promise<void> => {
        await wait(options(a)?.signal);
        return f(...a);
      };
    return new Proxy(connection, {
      get: (target, p) => {
        if (p === 'receive') return receive;
        if (p === 'stopPipeline' || p === 'closePipeline') {
          return later((id: string, o?: { signal?: AbortSignal | undefined; timeoutMs?: number | undefined }) => target[p](id, o), (a) => a[1]);
        }
        const v: unknown = Reflect.get(target, p, target);
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
  }
  get id(): string {
    return this.core.id;
  }
  /** The server's PSRP protocol version (2.1 for PowerShell 2 / Exchange 2010, 2.3 for current). */
  get serverProtocolVersion(): string | undefined {
    return this.core.serverProtocolVersion;
  }
  /** The server's application private data (`$PSSenderInfo` settings, PSVersionTable…). */
  get applicationPrivateData(): unknown {
    return this.core.applicationPrivateData;
  }
  get maxRunspaces(): number {
    return this.core.maxRunspaces;
  }

  /** Sends a pool-level request and waits for its RunspaceAvailability answer (MS-PSRP 3.1.4.3-3.1.4.5). */
  private async poolCall(send: () => bigint, signal?: AbortSignal): Promise<boolean | number> {
    this.assertUsable();
    const ci = send();
    await this.flush(null, signal);
    for (;;) {
      const events = await this.pump.receivePool(signal);
      const answer = events.find((e) => e.type === 'RunspaceAvailability' && e.callId === ci);
      await this.dispatch(events.filter((e) => e !== answer), signal);
      if (answer && answer.type === 'RunspaceAvailability') return answer.value;
      this.assertUsable();
    }
  }

  /** Changes how many pipelines may run at once; resolves with whether the server accepted it. */
  async setMaxRunspaces(n: number, options: { readonly signal?: AbortSignal } = {}): Promise<boolean> {
    const ok = (await this.poolCall(() => this.core.setMaxRunspaces(n), options.signal)) === true;
    if (ok) {
      this.core.maxRunspaces = n;
      for (const w of this.waiters.splice(0, Math.max(0, n - this.running))) w();
    }
    return ok;
  }

  /** Changes the minimum number of runspaces; resolves with whether the server accepted it. */
  async setMinRunspaces(n: number, options: { readonly signal?: AbortSignal } = {}): Promise<boolean> {
    const ok = (await this.poolCall(() => this.core.setMinRunspaces(n), options.signal)) === true;
    if (ok) this.core.minRunspaces = n;
    return ok;
  }

  /** How many runspaces are free on the server (MS-PSRP 3.1.4.5). */
  async getAvailableRunspaces(options: { readonly signal?: AbortSignal } = {}): Promise<number> {
    return Number(await this.poolCall(() => this.core.getAvailableRunspaces(), options.signal));
  }

  /** Resets the runspace's variables and state to a clean start (MS-PSRP 3.1.4.13; protocol 2.3). */
  async resetRunspaceState(options: { readonly signal?: AbortSignal } = {}): Promise<boolean> {
    return (await this.poolCall(() => this.core.resetRunspaceState(), options.signal)) === true;
  }

  /**
   * Describes the commands this session may run (MS-PSRP 3.1.4.10 GET_COMMAND_METADATA, what
   * Import-PSSession asks): names may hold wildcards; on Exchange the answer lists exactly what the
   * user's RBAC roles grant. `commandTypes` (default Alias, Function, Filter, Cmdlet), `modules`
   * (the message's Namespace) and `argumentList` (for dynamic parameters) narrow the question
   * (MS-PSRP 2.2.2.14). Raw objects; see `commandMetadata()` in `psrp/exchange` for typed ones.
   */
  async getCommandMetadata(
    names: readonly string[] = ['*'],
    options: CommandMetadataFilter & { readonly signal?: AbortSignal | undefined } = {},
  ): Promise<unknown[]> {
    const { signal, ...filter } = options;
    const result = await new PowerShell(this.internals).asCommandMetadataRequest(names, filter).invoke(signal ? { signal } : {});
    if (result.errors.length > 0) throw new PipelineFailedError(result.errors[0]!.message, { errorRecord: result.errors[0]! });
    // The first object is the count of those that follow (MS-PSRP 2.2.3.21).
    return result.output.slice(1);
  }

  /**
   * The pipeline `commandId` that a disconnected client left running in this (connected) pool, as
   * Receive-PSSession: `invoke()`, `stream()` or `output()` it to collect what it produced while no
   * client was attached, and what follows until it ends.
   */
  connectPipeline(commandId: string): PowerShell {
    if (!this.connection.connectPipeline) {
      throw new PsrpError(`${this.connection.constructor.name} has no disconnected pipelines to connect to`, { code: 'PSRP_NOT_SUPPORTED' });
    }
    return new PowerShell(this.internals).asConnectedPipeline(commandId);
  }

  /** A new pipeline builder on this pool. */
  powershell(): PowerShell {
    return new PowerShell(this.internals);
  }

  private assertUsable(): void {
    if (this.brokenError) throw this.brokenError;
    if (this.disconnected && !this.closing) throw new InvalidStateError('use the runspace pool', 'Disconnected', ['Opened']);
    if (this.closing || this.core.state !== 'Opened') {
      throw new PsrpError(`The runspace pool is ${this.closing ? 'closed' : this.core.state}`, { code: 'PSRP_POOL_CLOSED' });
    }
  }

  private async acquire(signal?: AbortSignal): Promise<() => void> {
    while (this.running >= this.core.maxRunspaces) {
      signal?.throwIfAborted();
      await new Promise<void>((resolve, reject) => {
        const onAbort = (): void => reject(signal!.reason as Error);
        signal?.addEventListener('abort', onAbort, { once: true });
        this.waiters.push(() => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        });
      });
      this.assertUsable();
    }
    this.running++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.running--;
      this.waiters.shift()?.();
    };
  }

  private async flush(target: string | null, signal?: AbortSignal, createPipeline = false): Promise<void> {
    const { core, connection } = this;
    let create = createPipeline;
    for (let out = core.dataToSend(connection.maxPayloadBytes, target); out; out = core.dataToSend(connection.maxPayloadBytes, target)) {
      if (create && out.pipelineId !== null) {
        create = false;
        await connection.createPipeline(out.pipelineId, out.data, { signal });
      } else {
        await connection.send(out.pipelineId, out.stream, out.data, { signal });
      }
    }
  }

  private async dispatch(events: PsrpEvent[], signal?: AbortSignal): Promise<void> {
    for (const e of events) {
      if (e.type === 'RunspacePoolState' && (e.state === 'Broken' || e.state === 'Closed') && !this.closing) {
        this.brokenError = new RunspacePoolBrokenError(
          e.error ? `The runspace pool broke: ${e.error.message}` : `The runspace pool is ${e.state}`,
          e.error ? { errorRecord: e.error } : {},
        );
      } else if (e.type === 'HostCall' && e.pipelineId === null) {
        const answer = await answerHostCall(this.host, e);
        if (answer) {
          this.core.hostResponse(e, answer);
          await this.flush(null, signal);
        }
      }
    }
  }

  private keyExchange: Promise<void> | undefined;

  private ensureSessionKey(signal?: AbortSignal): Promise<void> {
    if (this.core.cipher) return Promise.resolve();
    this.keyExchange ??= (async () => {
      this.core.exchangeKey();
      await this.flush(null, signal);
      while (!this.core.cipher) {
        this.assertUsable();
        await this.dispatch(await this.pump.receivePool(signal), signal);
      }
    })().finally(() => {
      if (!this.core.cipher) this.keyExchange = undefined;
    });
    return this.keyExchange;
  }

  private background(p: Promise<unknown>): void {
    const tracked = p.catch(() => undefined);
    this.pending.add(tracked);
    void tracked.finally(() => this.pending.delete(tracked));
  }

  /**
   * Closes the pool: waits for background requests, deletes the shell, releases the transport.
   * `timeoutMs` bounds the Delete (default: the transport's `requestTimeoutMs`).
   */
  close(options: { readonly timeoutMs?: number } = {}): Promise<void> {
    if (this.detached && !this.closing) {
      const d = this.detached;
      d.reject(new PsrpError('The runspace pool was closed while disconnected: its pipelines go on running on the server until it deletes the shell; attach to them with RunspacePool.connect() and connectPipeline()', { code: 'PSRP_POOL_CLOSED' }));
    }
    this.closing ??= (async () => {
      try {
        await Promise.all(this.pending);
        this.core.close();
        await this.connection.closePool(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : undefined);
      } finally {
        this.core.closed();
        for (const w of this.waiters.splice(0)) w();
        await this.ownTransport?.close();
      }
    })();
    return this.closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
