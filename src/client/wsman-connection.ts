/**
 * PSRP over a WinRM shell (MS-PSRP 3.1.5.3): Create with creationXml, Command with the first
 * fragments of CREATE_PIPELINE, Send for the rest, Receive (long poll), Signal and Delete, through
 * any WSManTransport (HTTP, or a replay of a recording).
 */
import { setTimeout as delay } from 'node:timers/promises';
import { AuthenticationError, InvalidArgumentError, TimeoutError, TransportError, WSManFaultError } from '../errors.js';
import { channels } from '../internal/debug.js';
import { scrubError } from '../internal/secret-redactor.js';
import { randomIds, type IdSource } from '../internal/ids.js';
import { commandIdOf, shellIdOf, WireTrace } from './trace-messages.js';
import type { WSManSendOptions, WSManTransport } from '../http/wsman-transport.js';
import {
  commandEnvelope,
  configGetEnvelope,
  createShellEnvelope,
  deleteEnvelope,
  connectEnvelope,
  disconnectEnvelope,
  enumerateEnvelope,
  maxPayloadBytes,
  parseCommandEnumeration,
  parseCommandResponse,
  parseConnectResponse,
  parseCreateResponse,
  parseMaxEnvelopeSize,
  parseShellEnumeration,
  parseShellGet,
  shellGetEnvelope,
  parseReceiveResponse,
  parseResponse,
  powershellResourceUri,
  receiveEnvelope,
  reconnectEnvelope,
  sendEnvelope,
  Signal,
  signalEnvelope,
  type BuiltEnvelope,
  type EnvelopeContext,
  type ShellInfo,
} from '../wsman/index.js';
import { CONNECTION_DEFAULTS } from '../http/transport-options.js';
import type { ConnectionOperationOptions, PsrpConnection, PsrpStream, ReceivedChunk } from './psrp-connection.js';

export interface WSManConnectionOptions {
  /** Session configuration, e.g. `Microsoft.PowerShell` or `Microsoft.Exchange`. Default `Microsoft.PowerShell`. */
  readonly configurationName?: string | undefined;
  /** Where ids come from (deterministic in tests and replays). Default random UUIDs. */
  readonly ids?: IdSource | undefined;
  /** WS-Man OperationTimeout in seconds: how long a Receive long-polls. Default 20. */
  readonly operationTimeoutSeconds?: number | undefined;
  /**
   * MaxEnvelopeSize in bytes (MS-WSMV 2.2.4.10): no request is larger, and PSRP data is fragmented
   * over Command/Create and Send requests to fit. A value set here is never raised. Default 153600
   * (WinRM's default 150 KB), raised to 512000 once a protocol 2.2+ server opened the pool, as
   * PowerShell does, unless the server announced its own limit (`queryMaxEnvelopeSize()`).
   */
  readonly maxEnvelopeSize?: number | undefined;
  /** Shell idle timeout to ask for, in seconds. Default: the server's. */
  readonly idleTimeoutSeconds?: number | undefined;
  readonly locale?: string | undefined;
  readonly dataLocale?: string | undefined;
}

/**
 * Transport failures after which the server may or may not have acted on the request (a reset, a
 * timeout, a 5xx from a proxy or a recycling app pool). Delete is retried after them, and a Create
 * that failed this way is followed by a Delete of the shell it asked for, so no shell is left behind.
 */
const TRANSIENT = new Set([
  'PSRP_CONNECTION_FAILED',
  'PSRP_TIMEOUT',
  'PSRP_HTTP_SERVER_ERROR',
  'PSRP_HTTP_UNAVAILABLE',
  'PSRP_HTTP_BAD_GATEWAY',
  'PSRP_HTTP_GATEWAY_TIMEOUT',
]);
/** WinRM's default MaxEnvelopeSizekb before Windows Server 2012 (150 KB); later ones default to 500 KB. */
const DEFAULT_MAX_ENVELOPE_SIZE = 153600;
/** What PowerShell uses with protocol 2.2+ servers (Windows Server 2012 and later default to 500 KB). */
const PROTOCOL22_MAX_ENVELOPE_SIZE = 512000;
/** Windows' smallest MaxEnvelopeSizekb is 32; below 8 KB no PSRP fragment fits beside the markup. */
const MIN_MAX_ENVELOPE_SIZE = 8192;

function checkEnvelopeSize(bytes: number | undefined): number | undefined {
  if (bytes !== undefined && (!Number.isInteger(bytes) || bytes < MIN_MAX_ENVELOPE_SIZE)) {
    throw new InvalidArgumentError(`maxEnvelopeSize must be an integer number of bytes, at least ${MIN_MAX_ENVELOPE_SIZE} (got ${bytes})`);
  }
  return bytes;
}

const isTransient = (e: unknown): boolean => e instanceof TransportError && TRANSIENT.has(e.code);
/** Pauses before the second and third Delete attempts. */
const DELETE_RETRY_MS = [250, 1000] as const;
/** First pause after a Receive that came back at once with nothing; it doubles up to the OperationTimeout. */
const EMPTY_RECEIVE_BACKOFF_MS = 5;

/**
 * True when a failed Create proves the server made no shell: it refused (a fault, 401, a 4xx), or
 * the request never left (TLS, connect). Otherwise the shell we proposed may exist.
 */
function createRefused(e: unknown): boolean {
  if (e instanceof AuthenticationError || e instanceof WSManFaultError || e instanceof InvalidArgumentError) return true;
  if (e instanceof TimeoutError) return e.stage === 'connect' || e.stage === 'tls';
  if (e instanceof TransportError) {
    if (e.code.startsWith('PSRP_TLS_') || e.code === 'PSRP_TRANSPORT_CLOSED') return true;
    return e.statusCode !== undefined && e.statusCode >= 400 && e.statusCode < 500;
  }
  return false;
}

/** Waits `ms`, or rejects with the signal's reason when it aborts first. */
function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return delay(ms, undefined, signal ? { signal } : undefined).catch((e: unknown) => {
    throw signal?.aborted ? (signal.reason as Error) : e;
  });
}

export class WSManConnection implements PsrpConnection {
  private ctx: EnvelopeContext;
  private shellId: string | undefined;
  private readonly idleTimeoutSeconds: number | undefined;
  private deleted = false;
  /** Current pause after an empty, immediate Receive, by target (see receive). */
  private readonly emptyBackoff = new Map<string | null, number>();
  /** Where MaxEnvelopeSize came from: only the default is ever raised. */
  private envelopeSizeSource: 'default' | 'user' | 'server';
  private disconnected = false;
  /** Request counter by action, for diagnostics and benchmarks. */
  readonly requestCounts = new Map<string, number>();
  /** The PSRP messages of this connection's envelopes, decoded for the trace only while traced. */
  private wire: WireTrace | undefined;

  constructor(
    private readonly transport: WSManTransport,
    options: WSManConnectionOptions = {},
  ) {
    const ids = options.ids ?? randomIds;
    this.ctx = {
      to: transport.url,
      resourceUri: powershellResourceUri(options.configurationName ?? 'Microsoft.PowerShell'),
      ids,
      sessionId: ids.uuid(),
      maxEnvelopeSize: checkEnvelopeSize(options.maxEnvelopeSize) ?? DEFAULT_MAX_ENVELOPE_SIZE,
      operationTimeoutSeconds: options.operationTimeoutSeconds ?? CONNECTION_DEFAULTS.operationTimeoutSeconds,
      locale: options.locale ?? 'en-US',
      dataLocale: options.dataLocale ?? options.locale ?? 'en-US',
    };
    this.idleTimeoutSeconds = options.idleTimeoutSeconds;
    this.envelopeSizeSource = options.maxEnvelopeSize === undefined ? 'default' : 'user';
  }

  private payloadBudget: { readonly envelopeSize: number; readonly to: string; readonly bytes: number } | undefined;

  get maxPayloadBytes(): number {
    if (this.payloadBudget?.envelopeSize !== this.ctx.maxEnvelopeSize || this.payloadBudget.to !== this.transport.url) {
      // Measure the markup of the largest request kind that carries PSRP data (Create, Command,
      // Send), with an empty payload and a fixed id (so measuring consumes nothing from the id
      // source), in UTF-8 bytes; cached per envelope size and URL.
      const zero = '00000000-0000-0000-0000-000000000000';
      const ctx = { ...this.ctx, to: this.transport.url, ids: { uuid: () => zero } };
      const empty = new Uint8Array(0);
      const idle = this.idleTimeoutSeconds !== undefined ? { idleTimeoutSeconds: this.idleTimeoutSeconds } : {};
      const overhead = Math.max(
        ...[sendEnvelope(ctx, zero, zero, 'stdin', empty), commandEnvelope(ctx, zero, zero, empty), createShellEnvelope(ctx, zero, empty, idle)].map((e) =>
          Buffer.byteLength(e.xml),
        ),
      );
      this.payloadBudget = { envelopeSize: this.ctx.maxEnvelopeSize, to: this.transport.url, bytes: maxPayloadBytes(this.ctx.maxEnvelopeSize, overhead) };
    }
    return this.payloadBudget.bytes;
  }

  /** The MaxEnvelopeSize requests are built for, in bytes. */
  get maxEnvelopeSize(): number {
    return this.ctx.maxEnvelopeSize;
  }

  /** The shell id once created. */
  get shell(): string | undefined {
    return this.shellId;
  }

  /** Sets MaxEnvelopeSize explicitly (never raised afterwards). */
  setMaxEnvelopeSize(bytes: number): void {
    this.ctx = { ...this.ctx, maxEnvelopeSize: checkEnvelopeSize(bytes)! };
    this.envelopeSizeSource = 'user';
  }

  /**
   * Raises MaxEnvelopeSize to `bytes` only while it is still the default: never over a size the
   * caller set or the server announced (Windows refuses larger requests, MS-WSMV 2.2.4.10).
   * True when raised.
   */
  raiseDefaultMaxEnvelopeSize(bytes: number): boolean {
    if (this.envelopeSizeSource !== 'default' || bytes <= this.ctx.maxEnvelopeSize) return false;
    this.ctx = { ...this.ctx, maxEnvelopeSize: bytes };
    return true;
  }

  /**
   * Reads the server's MaxEnvelopeSizekb from winrm/config (a WS-Transfer Get; Windows answers it
   * for administrators only) and uses it, or the caller's smaller explicit size. Resolves with the
   * size now in use, in bytes.
   */
  async queryMaxEnvelopeSize(options?: ConnectionOperationOptions): Promise<number> {
    const announced = parseMaxEnvelopeSize(await this.request(configGetEnvelope(this.ctx), options));
    if (this.envelopeSizeSource !== 'user' || announced < this.ctx.maxEnvelopeSize) {
      this.ctx = { ...this.ctx, maxEnvelopeSize: announced };
      this.envelopeSizeSource = 'server';
    }
    return this.ctx.maxEnvelopeSize;
  }

  /** PsrpConnection hook: `queryMaxEnvelopeSize()`; a fault (not an administrator, no winrm/config) keeps the default, never raised. */
  async useServerLimits(options?: ConnectionOperationOptions): Promise<void> {
    try {
      await this.queryMaxEnvelopeSize(options);
    } catch (e) {
      if (!(e instanceof WSManFaultError)) throw e;
      this.setMaxEnvelopeSize(this.maxEnvelopeSize);
    }
  }

  /**
   * PsrpConnection hook: protocol 2.2+ servers take 500 KB envelopes, as PowerShell itself uses;
   * only the default size is raised, never one the caller set or the server announced.
   */
  poolOpened(server: { readonly protocol22: boolean }): void {
    if (server.protocol22) this.raiseDefaultMaxEnvelopeSize(PROTOCOL22_MAX_ENVELOPE_SIZE);
  }

  private async request(env: BuiltEnvelope, options: ConnectionOperationOptions | undefined, send: Omit<WSManSendOptions, 'signal'> = {}) {
    const to = this.transport.url;
    if (this.ctx.to !== to) this.ctx = { ...this.ctx, to };
    const name = env.action.slice(env.action.lastIndexOf('/') + 1);
    this.requestCounts.set(name, (this.requestCounts.get(name) ?? 0) + 1);
    const started = Date.now();
    if (channels.wsmanRequest.hasSubscribers) channels.wsmanRequest.publish({ id: env.messageId, action: name, uri: this.ctx.to, bytes: env.xml.length, shellId: this.shellId, commandId: commandIdOf(env.xml) });
    if (channels.wsmanMessage.hasSubscribers) this.traceEnvelope('sent', env.xml, { id: env.messageId, action: name, shellId: this.shellId });
    let status = 'ok';
    let body: string | undefined;
    try {
      const own = options?.timeoutMs !== undefined ? { stage: 'cleanup' as const, timeoutMs: options.timeoutMs } : {};
      body = await this.transport.send(env.xml, { signal: options?.signal, ...send, ...own });
      try {
        return parseResponse(body, env);
      } catch (e) {
        throw this.redacted(e, body, env);
      }
    } catch (e) {
      status = e instanceof WSManFaultError ? e.code : 'error';
      throw e;
    } finally {
      if (channels.wsmanResponse.hasSubscribers) channels.wsmanResponse.publish({ id: env.messageId, action: name, status, durationMs: Date.now() - started, shellId: this.shellId ?? shellIdOf(body), commandId: commandIdOf(env.xml) });
      if (body !== undefined && channels.wsmanMessage.hasSubscribers) this.traceEnvelope('received', body, { id: env.messageId, action: name, shellId: this.shellId, durationMs: Date.now() - started });
    }
  }

  /** Publishes an envelope's PSRP messages on `psrp:wsman:message` (tracing only), redacted. */
  private traceEnvelope(direction: 'sent' | 'received', xml: string, head: Parameters<WireTrace['describe']>[2]): void {
    const transport = this.transport;
    const redact = transport.redact !== undefined ? (t: string): string => transport.redact!(t) : undefined;
    channels.wsmanMessage.publish((this.wire ??= new WireTrace()).describe(direction, xml, head, redact));
  }

  /**
   * An error built from a response body, rebuilt from the body with every credential the transport
   * sent redacted (a server that echoes the request must not put it into a message), then scrubbed.
   */
  private redacted(e: unknown, body: string, env: BuiltEnvelope): unknown {
    const transport = this.transport;
    if (transport.redact === undefined) return e;
    const redact = (t: string): string => transport.redact!(t);
    const clean = redact(body);
    let err = e;
    if (clean !== body) {
      try {
        parseResponse(clean, env);
      } catch (again) {
        err = again;
      }
    }
    return scrubError(err, redact);
  }

  private requireShell(): string {
    if (this.shellId === undefined) throw new WSManFaultError('The shell has not been created', { code: 'PSRP_WSMAN_SHELL_NOT_FOUND' });
    return this.shellId;
  }

  async openPool(poolId: string, data: Uint8Array, options?: ConnectionOperationOptions): Promise<void> {
    let r;
    try {
      r = await this.request(
        createShellEnvelope(this.ctx, poolId, data, this.idleTimeoutSeconds !== undefined ? { idleTimeoutSeconds: this.idleTimeoutSeconds } : {}),
        options,
      );
    } catch (e) {
      // The server may have created the shell — under the ShellId we proposed in the Create body
      // (MS-WSMV 2.2.4.37) — before the answer was lost, cut, or garbled: remember it, so that
      // closePool() (which the caller runs on every failed open, under its own time limit)
      // deletes it and it does not count against the user's shell quota.
      if (!createRefused(e)) this.shellId = poolId.toUpperCase();
      throw e;
    }
    try {
      this.shellId = parseCreateResponse(r).shellId;
    } catch (e) {
      // A CreateResponse without a ShellId: the server may still hold the shell we proposed.
      this.shellId = poolId.toUpperCase();
      throw e;
    }
  }

  async createPipeline(pipelineId: string, data: Uint8Array, options?: ConnectionOperationOptions): Promise<void> {
    const r = await this.request(commandEnvelope(this.ctx, this.requireShell(), pipelineId, data), options);
    parseCommandResponse(r);
  }

  async send(target: string | null, stream: PsrpStream, data: Uint8Array, options?: ConnectionOperationOptions): Promise<void> {
    await this.request(sendEnvelope(this.ctx, this.requireShell(), target, stream === 'pr' ? 'pr' : 'stdin', data), options);
  }

  async receive(target: string | null, options?: ConnectionOperationOptions): Promise<ReceivedChunk> {
    let chunk: ReceivedChunk;
    try {
      const waitMs = this.ctx.operationTimeoutSeconds * 1000;
      const r = parseReceiveResponse(await this.request(receiveEnvelope(this.ctx, this.requireShell(), target), options, { stage: 'receive', waitMs }));
      chunk = { data: r.streams.map((s) => s.data), done: r.commandState === 'Done' };
    } catch (e) {
      // MS-WSMV: an OperationTimeout fault on Receive only means "no output yet": poll again.
      if (e instanceof WSManFaultError && e.code === 'PSRP_WSMAN_OPERATION_TIMEOUT') {
        this.emptyBackoff.delete(target);
        return { data: [], done: false };
      }
      throw e;
    }
    if (chunk.data.length > 0 || chunk.done) {
      this.emptyBackoff.delete(target);
      return chunk;
    }
    // An empty answer that did not wait for the OperationTimeout (Windows never sends one): back
    // off, a few ms doubling up to the OperationTimeout, instead of polling as fast as it answers.
    const pause = Math.min(this.ctx.operationTimeoutSeconds * 1000, (this.emptyBackoff.get(target) ?? EMPTY_RECEIVE_BACKOFF_MS / 2) * 2);
    this.emptyBackoff.set(target, pause);
    await sleep(pause, options?.signal);
    return chunk;
  }

  async stopPipeline(pipelineId: string, options?: ConnectionOperationOptions): Promise<void> {
    await this.request(signalEnvelope(this.ctx, this.requireShell(), pipelineId, Signal.PsCtrlC), options);
  }

  async closePipeline(pipelineId: string, options?: ConnectionOperationOptions): Promise<void> {
    if (this.shellId === undefined || this.deleted) return;
    try {
      await this.request(signalEnvelope(this.ctx, this.shellId, pipelineId, Signal.Terminate), options);
    } catch (e) {
      if (e instanceof WSManFaultError && e.code === 'PSRP_WSMAN_SHELL_NOT_FOUND') return;
      throw e;
    }
  }

  async disconnect(idleTimeoutSeconds: number | undefined, options?: ConnectionOperationOptions): Promise<void> {
    await this.request(disconnectEnvelope(this.ctx, this.requireShell(), idleTimeoutSeconds), options);
    this.disconnected = true;
  }

  async reconnect(options?: ConnectionOperationOptions): Promise<void> {
    await this.request(reconnectEnvelope(this.ctx, this.requireShell()), options);
    this.disconnected = false;
  }

  /** The caller's shells on the server, disconnected ones included (WS-Man Enumerate, MS-WSMV 3.1.4.8). */
  async listShells(options?: ConnectionOperationOptions): Promise<ShellInfo[]> {
    return parseShellEnumeration(await this.request(enumerateEnvelope(this.ctx), options));
  }

  /** One shell of the caller's, with its State (WS-Transfer Get of the shell resource, MS-WSMV 3.1.4.1). */
  async getShell(shellId: string, options?: ConnectionOperationOptions): Promise<ShellInfo> {
    return parseShellGet(await this.request(shellGetEnvelope(this.ctx, shellId), options));
  }

  /** The command (pipeline) ids of one of the caller's shells. */
  async listCommands(shellId: string, options?: ConnectionOperationOptions): Promise<string[]> {
    return parseCommandEnumeration(await this.request(enumerateEnvelope(this.ctx, shellId), options));
  }

  /**
   * Attaches to a disconnected shell another client left (WS-Man Connect with the pool's
   * SESSION_CAPABILITY + CONNECT_RUNSPACEPOOL, MS-PSRP 3.1.5.3.12); resolves with the server's
   * fragments from connectResponseXml. Until it succeeds the shell counts as disconnected, so a
   * failed attempt does not delete it.
   */
  async connectPool(shellId: string, data: Uint8Array, options?: ConnectionOperationOptions): Promise<Uint8Array | undefined> {
    this.shellId = shellId.toUpperCase();
    this.disconnected = true;
    const answer = parseConnectResponse(await this.request(connectEnvelope(this.ctx, this.shellId, data), options));
    this.disconnected = false;
    return answer;
  }

  async connectPipeline(pipelineId: string, options?: ConnectionOperationOptions): Promise<void> {
    await this.request(connectEnvelope(this.ctx, this.requireShell(), null, pipelineId), options);
  }

  /** Whether the shell is disconnected (kept on the server for a later Reconnect or Connect). */
  get isDisconnected(): boolean {
    return this.disconnected;
  }

  /**
   * Deletes the shell; a disconnected shell is left on the server (that is what disconnecting asks
   * for: the server removes it after its idle timeout, or a later client connects to it).
   */
  closePool(options?: ConnectionOperationOptions): Promise<void> {
    if (this.disconnected) {
      this.deleted = true;
      return Promise.resolve();
    }
    // A Delete under a cleanup limit of its own is tried once: retries would overrun that limit.
    return this.deleteShell(options, options?.timeoutMs === undefined);
  }

  private async deleteShell(options: ConnectionOperationOptions | undefined, retry: boolean): Promise<void> {
    if (this.shellId === undefined || this.deleted) return;
    this.deleted = true;
    for (let attempt = 0; ; attempt++) {
      try {
        await this.request(deleteEnvelope(this.ctx, this.shellId), options);
        return;
      } catch (e) {
        if (e instanceof WSManFaultError && e.code === 'PSRP_WSMAN_SHELL_NOT_FOUND') return;
        // A lost or refused Delete would leak the shell until it expires: try again, twice (not
        // after a timeout, which already took requestTimeoutMs).
        const pause = DELETE_RETRY_MS[attempt];
        if (!retry || !isTransient(e) || (e as TransportError).code === 'PSRP_TIMEOUT' || pause === undefined || options?.signal?.aborted) throw e;
        await new Promise((resolve) => setTimeout(resolve, pause));
      }
    }
  }
}
