/**
 * RunspacePool: the public entry point. It owns a PsrpConnection (WinRM/HTTP, a replay, or a child
 * pwsh) and the sans-IO RunspacePoolCore, opens the pool, hands out PowerShell pipelines (at most
 * `maxRunspaces` running at once; the rest wait), and always deletes the shell on close, on a
 * failed open and on abort.
 */
import { InvalidArgumentError, InvalidStateError, PipelineFailedError, PsrpError, RunspacePoolBrokenError, WSManFaultError } from '../errors.js';
import { randomIds, type IdSource } from '../internal/ids.js';
import { HttpTransport, type HttpTransportOptions } from '../http/http-transport.js';
import { CONNECTION_DEFAULTS } from '../http/transport-options.js';
import type { WsmanTransport } from '../http/wsman-transport.js';
import { RunspacePoolCore, type PsrpEvent, type RunspacePoolState } from '../psrp/runspace-pool-core.js';
import type { CommandMetadataFilter } from '../psrp/messages.js';
import { answerHostCall, type PSHost } from './host.js';
import { PowerShell, type PoolInternals } from './powershell.js';
import { deadline } from './deadline.js';
import { copyFrom, copyTo, type FileTransferOptions, type FileTransferResult } from './file-transfer.js';
import type { PsrpConnection } from './psrp-connection.js';
import { SshConnection, type SshOptions } from './ssh-connection.js';
import { WSManConnection } from './wsman-connection.js';
import type { ShellInfo } from '../wsman/index.js';

export type { ShellInfo };

export interface RunspacePoolOptions extends Omit<HttpTransportOptions, 'url'> {
  /** WinRM endpoint, e.g. `https://server:5986/wsman` or `https://cas.contoso.com/PowerShell/`. */
  readonly uri?: string | URL | undefined;
  /** A ready WS-Man transport instead of `uri` (the replay seam). */
  readonly transport?: WsmanTransport | undefined;
  /** A ready PSRP connection instead of WS-Man (for example `OutOfProcConnection` to a local pwsh). */
  readonly connection?: PsrpConnection | undefined;
  /**
   * PowerShell over SSH instead of WinRM: the server's sshd runs `pwsh -sshs` as the `powershell`
   * subsystem (PowerShell 7's SSH remoting). The host key is checked against ~/.ssh/known_hosts.
   */
  readonly ssh?: SshOptions | undefined;
  /** Session configuration. Default `Microsoft.PowerShell`. */
  readonly configurationName?: string | undefined;
  readonly minRunspaces?: number | undefined;
  /** How many pipelines may run at once. Default 1. */
  readonly maxRunspaces?: number | undefined;
  /** Values for `$PSSenderInfo.ApplicationArguments` on the server. */
  readonly applicationArguments?: Readonly<Record<string, unknown>> | undefined;
  /** Answers host calls (Read-Host, prompts, Write-Host). */
  readonly host?: PSHost | undefined;
  /** Where ids come from (deterministic in tests and replays). */
  readonly ids?: IdSource | undefined;
  /** WS-Man OperationTimeout for Receive long polls, in seconds. Default 20. */
  readonly operationTimeoutSeconds?: number | undefined;
  /** Shell idle timeout to request, in seconds. */
  readonly idleTimeoutSeconds?: number | undefined;
  /** Cancels opening. */
  readonly signal?: AbortSignal | undefined;
  /**
   * Milliseconds `open()` may take end to end, the Delete after a failed open included. Default
   * `CONNECTION_DEFAULTS.openTimeoutMs` (60000).
   */
  readonly openTimeoutMs?: number | undefined;
  /**
   * Most bytes of unfinished PSRP messages the client holds at once (all messages together);
   * beyond it the pool fails with `PSRP_MESSAGE_TOO_LARGE`. Default 256 MiB.
   */
  readonly maxBufferedMessageBytes?: number | undefined;
  /**
   * Milliseconds each cleanup request may take: the Signal that stops an aborted pipeline, the
   * Delete after a failed open. Default `CONNECTION_DEFAULTS.cleanupTimeoutMs` (5000).
   */
  readonly cleanupTimeoutMs?: number | undefined;
  /**
   * WS-Man MaxEnvelopeSize in bytes (MS-WSMV 2.2.4.10): no request is larger; PSRP data is split
   * over Command/Create and Send requests to fit. A number is used as given and never raised;
   * `'server'` reads the server's MaxEnvelopeSizekb from winrm/config first (administrators only;
   * otherwise the default stays). Default: 153600, raised to 512000 once a protocol 2.2+ server has
   * opened the pool, as PowerShell does.
   */
  readonly maxEnvelopeSize?: number | 'server' | undefined;
}


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
  private readonly ownTransport: WsmanTransport | undefined;
  private brokenError: PsrpError | undefined;
  private readonly cleanupTimeoutMs: number;
  private disconnected = false;

  private constructor(
    private readonly core: RunspacePoolCore,
    readonly connection: PsrpConnection,
    private readonly ids: IdSource,
    readonly host: PSHost | undefined,
    ownTransport: WsmanTransport | undefined,
    cleanupTimeoutMs: number,
    endpoint: string | undefined,
  ) {
    this.ownTransport = ownTransport;
    this.cleanupTimeoutMs = cleanupTimeoutMs;
    this.internals = {
      cleanupTimeoutMs,
      endpoint,
      core,
      connection,
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
  copyTo(local: string, remote: string, options?: FileTransferOptions): Promise<FileTransferResult> {
    return copyTo(this, local, remote, options);
  }

  /** Copies a file from the server to a local path, SHA-256 checked before it is put in place. */
  copyFrom(remote: string, local: string, options?: FileTransferOptions): Promise<FileTransferResult> {
    return copyFrom(this, remote, local, options);
  }

  /** The connection (and the transport it owns) that `open`/`connect` use for `options`. */
  private static async prepare(
    options: RunspacePoolOptions,
  ): Promise<{ connection: PsrpConnection; own: WsmanTransport | undefined; ids: IdSource; transport: WsmanTransport | undefined }> {
    const ids = options.ids ?? randomIds;
    let transport: WsmanTransport | undefined;
    let own: WsmanTransport | undefined;
    let connection = options.connection;
    if (!connection && options.ssh) {
      connection = await SshConnection.connect({ ...options.ssh, signal: options.ssh.signal ?? options.signal });
    }
    if (!connection) {
      transport = options.transport;
      if (!transport) {
        if (options.uri === undefined) throw new InvalidArgumentError('RunspacePool.open needs `uri`, `ssh`, `transport` or `connection`');
        own = transport = new HttpTransport({ ...options, url: options.uri });
      }
      connection = new WSManConnection(transport, {
        configurationName: options.configurationName,
        ids,
        operationTimeoutSeconds: options.operationTimeoutSeconds,
        idleTimeoutSeconds: options.idleTimeoutSeconds,
        maxEnvelopeSize: typeof options.maxEnvelopeSize === 'number' ? options.maxEnvelopeSize : undefined,
      });
    }
    return { connection, own, ids, transport };
  }

  /** Opens a runspace pool (MS-PSRP 3.1.4.1) and resolves once the server says Opened. */
  static async open(options: RunspacePoolOptions): Promise<RunspacePool> {
    const prepared = await RunspacePool.prepare(options);
    const core = new RunspacePoolCore({
      id: prepared.ids.uuid(),
      ...RunspacePool.coreLimits(options),
      ...(options.applicationArguments ? { applicationArguments: options.applicationArguments } : {}),
    });
    return RunspacePool.establish(options, prepared, core, async (pool, signal) => {
      const { connection } = prepared;
      if (options.maxEnvelopeSize === 'server' && connection instanceof WSManConnection) await pool.queryEnvelopeSize(connection, signal);
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
    prepared: Awaited<ReturnType<typeof RunspacePool.prepare>>,
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

  /**
   * The caller's shells on a WinRM server (WS-Man Enumerate), disconnected ones included, as
   * Get-PSSession -ComputerName lists them: `shellId`, `configurationName`, `state`
   * (`Connected`/`Disconnected`), `owner`, `clientIp`, `idleTimeout`, ...
   */
  static async listShells(options: RunspacePoolOptions): Promise<ShellInfo[]> {
    const { connection, own } = await RunspacePool.prepare({ ...options, ssh: undefined, connection: undefined });
    try {
      return await (connection as WSManConnection).listShells({ signal: options.signal });
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
    if (options.ssh || options.connection) {
      throw new PsrpError('Only WinRM (WS-Management) shells can be connected to: SSH sessions and a child pwsh end with their client', {
        code: 'PSRP_NOT_SUPPORTED',
      });
    }
    const prepared = await RunspacePool.prepare(options);
    const wsman = prepared.connection as WSManConnection;
    const core = new RunspacePoolCore({ id: options.shellId.toLowerCase(), ...RunspacePool.coreLimits(options) });
    return RunspacePool.establish(options, prepared, core, async (pool, signal) => {
      core.connect();
      const first = core.dataToSend(wsman.maxPayloadBytes, null)!;
      const answer = await wsman.connectPool(options.shellId, first.data, { signal });
      if (answer) core.receiveData(answer);
      await pool.dispatch(pool.drain(), signal);
      while (core.state !== 'Opened') {
        if (core.state === 'Broken' || core.state === 'Closed') {
          throw pool.brokenError ?? new RunspacePoolBrokenError(`The server refused the connection to the runspace pool (state ${core.state})`);
        }
        await pool.receivePool(signal);
        await pool.dispatch(pool.drain(), signal);
      }
      // As after open: only the default envelope size is raised, never one set or announced.
      if (core.isProtocol22) wsman.raiseDefaultMaxEnvelopeSize(512000);
    });
  }

  /**
   * One Receive for the pool itself. The shell gone (a ShellNotFound fault) or its Receive ended
   * (CommandState Done) breaks the pool: no pool message can come any more.
   */
  private async receivePool(signal: AbortSignal | undefined): Promise<void> {
    let chunk;
    try {
      chunk = await this.connection.receive(null, { signal });
    } catch (e) {
      if (e instanceof WSManFaultError && e.code === 'PSRP_WSMAN_SHELL_NOT_FOUND') {
        this.brokenError ??= new RunspacePoolBrokenError(`The runspace pool's shell is gone on the server: ${e.message}`, { cause: e });
        throw this.brokenError;
      }
      throw e;
    }
    for (const d of chunk.data) this.core.receiveData(d);
    if (chunk.done && !this.closing) {
      this.brokenError ??= new RunspacePoolBrokenError('The server ended the runspace pool\'s Receive (WS-Man CommandState Done): no more pool messages can come');
    }
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
      await this.receivePool(signal);
      await this.dispatch(this.drain(), signal);
      if ((core.state as RunspacePoolState) !== 'Opened' && this.brokenError) throw this.brokenError;
    }
    // Protocol 2.2+ servers take 500 KB envelopes, as PowerShell itself uses; only the default size
    // is raised, never one the caller set or the server announced.
    if (core.isProtocol22 && connection instanceof WSManConnection) connection.raiseDefaultMaxEnvelopeSize(512000);
  }

  /**
   * Reads the server's MaxEnvelopeSizekb. When the server refuses to tell (a fault: not an
   * administrator, or an endpoint without winrm/config) the default stays, and is not raised.
   */
  private async queryEnvelopeSize(connection: WSManConnection, signal: AbortSignal | undefined): Promise<void> {
    try {
      await connection.queryMaxEnvelopeSize({ signal });
    } catch (e) {
      if (!(e instanceof WSManFaultError)) throw e;
      connection.setMaxEnvelopeSize(connection.maxEnvelopeSize);
    }
  }

  private drain(): PsrpEvent[] {
    const out: PsrpEvent[] = [];
    for (let e = this.core.nextEvent(); e; e = this.core.nextEvent()) out.push(e);
    return out;
  }

  /** The pool's state (`Opened` while usable, `Disconnected` after `disconnect()`). */
  get state(): RunspacePoolState {
    return this.disconnected && this.core.state === 'Opened' ? 'Disconnected' : this.core.state;
  }

  /**
   * Disconnects from the pool, as Disconnect-PSSession: the server keeps the shell (for its idle
   * timeout: `idleTimeoutSeconds`, or the shell's) until `reconnect()`. Only idle pools: wait for
   * running pipelines first. Not on SSH or a child pwsh (`PSRP_NOT_SUPPORTED`).
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
    if (this.running > 0) {
      throw new InvalidStateError('disconnect the runspace pool', `Opened with ${this.running} running pipeline(s)`, ['Opened and idle']);
    }
    await Promise.all(this.pending);
    await connection.disconnect(options.idleTimeoutSeconds, { signal: options.signal });
    this.disconnected = true;
  }

  /** Reattaches to the pool this client disconnected (Connect-PSSession on the same client). */
  async reconnect(options: { readonly signal?: AbortSignal } = {}): Promise<void> {
    if (!this.disconnected) throw new InvalidStateError('reconnect the runspace pool', this.state, ['Disconnected']);
    await this.connection.reconnect!({ signal: options.signal });
    this.disconnected = false;
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
      await this.receivePool(signal);
      const events = this.drain();
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
        await this.receivePool(signal);
        await this.dispatch(this.drain(), signal);
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
