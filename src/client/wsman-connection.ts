/**
 * PSRP over a WinRM shell (MS-PSRP 3.1.5.3): Create with creationXml, Command with the first
 * fragments of CREATE_PIPELINE, Send for the rest, Receive (long poll), Signal and Delete, through
 * any WsmanTransport (HTTP, or a replay of a recording).
 */
import { TransportError, WSManFaultError } from '../errors.js';
import { channels } from '../internal/debug.js';
import { randomIds, type IdSource } from '../internal/ids.js';
import type { WsmanTransport } from '../http/wsman-transport.js';
import {
  commandEnvelope,
  createShellEnvelope,
  deleteEnvelope,
  maxPayloadBytes,
  parseCommandResponse,
  parseCreateResponse,
  parseReceiveResponse,
  parseResponse,
  powershellResourceUri,
  receiveEnvelope,
  sendEnvelope,
  Signal,
  signalEnvelope,
  type BuiltEnvelope,
  type EnvelopeContext,
} from '../wsman/index.js';
import type { ConnectionOperationOptions, PsrpConnection, PsrpStream, ReceivedChunk } from './psrp-connection.js';

export interface WSManConnectionOptions {
  /** Session configuration, e.g. `Microsoft.PowerShell` or `Microsoft.Exchange`. */
  readonly configurationName?: string | undefined;
  readonly ids?: IdSource | undefined;
  /** WS-Man OperationTimeout in seconds: how long a Receive long-polls. Default 20. */
  readonly operationTimeoutSeconds?: number | undefined;
  /** Starting MaxEnvelopeSize in bytes. Default 153600 (WinRM's default 150 KB). */
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
const isTransient = (e: unknown): boolean => e instanceof TransportError && TRANSIENT.has(e.code);
/** Pauses before the second and third Delete attempts. */
const DELETE_RETRY_MS = [250, 1000] as const;

export class WSManConnection implements PsrpConnection {
  private ctx: EnvelopeContext;
  private shellId: string | undefined;
  private readonly idleTimeoutSeconds: number | undefined;
  private deleted = false;
  /** Request counter by action, for diagnostics and benchmarks. */
  readonly requestCounts = new Map<string, number>();

  constructor(
    private readonly transport: WsmanTransport,
    options: WSManConnectionOptions = {},
  ) {
    const ids = options.ids ?? randomIds;
    this.ctx = {
      to: transport.url,
      resourceUri: powershellResourceUri(options.configurationName ?? 'Microsoft.PowerShell'),
      ids,
      sessionId: ids.uuid(),
      maxEnvelopeSize: options.maxEnvelopeSize ?? 153600,
      operationTimeoutSeconds: options.operationTimeoutSeconds ?? 20,
      locale: options.locale ?? 'en-US',
      dataLocale: options.dataLocale ?? options.locale ?? 'en-US',
    };
    this.idleTimeoutSeconds = options.idleTimeoutSeconds;
  }

  private payloadBudget: { readonly envelopeSize: number; readonly bytes: number } | undefined;

  get maxPayloadBytes(): number {
    if (this.payloadBudget?.envelopeSize !== this.ctx.maxEnvelopeSize) {
      // Measure the markup of the largest request kind we send, with an empty payload and a fixed
      // id (so measuring consumes nothing from the id source); cached per envelope size.
      const zero = '00000000-0000-0000-0000-000000000000';
      const probe = sendEnvelope({ ...this.ctx, ids: { uuid: () => zero } }, zero, zero, 'stdin', new Uint8Array(0));
      this.payloadBudget = { envelopeSize: this.ctx.maxEnvelopeSize, bytes: maxPayloadBytes(this.ctx.maxEnvelopeSize, probe.xml.length) };
    }
    return this.payloadBudget.bytes;
  }

  /** The shell id once created. */
  get shell(): string | undefined {
    return this.shellId;
  }

  /** Raises MaxEnvelopeSize (protocol 2.2+ servers accept 512000, as PowerShell uses). */
  setMaxEnvelopeSize(bytes: number): void {
    this.ctx = { ...this.ctx, maxEnvelopeSize: bytes };
  }

  private async request(env: BuiltEnvelope, options: ConnectionOperationOptions | undefined) {
    this.ctx = { ...this.ctx, to: this.transport.url };
    const name = env.action.slice(env.action.lastIndexOf('/') + 1);
    this.requestCounts.set(name, (this.requestCounts.get(name) ?? 0) + 1);
    const started = Date.now();
    if (channels.wsmanRequest.hasSubscribers) channels.wsmanRequest.publish({ id: env.messageId, action: name, uri: this.ctx.to, bytes: env.xml.length, shellId: this.shellId });
    let status = 'ok';
    try {
      const body = await this.transport.send(env.xml, { signal: options?.signal });
      return parseResponse(body, env);
    } catch (e) {
      status = e instanceof WSManFaultError ? e.code : 'error';
      throw e;
    } finally {
      if (channels.wsmanResponse.hasSubscribers) channels.wsmanResponse.publish({ id: env.messageId, action: name, status, durationMs: Date.now() - started, shellId: this.shellId });
    }
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
      // The server may have created the shell (named after the pool) before the answer was lost:
      // delete it, best effort, so that it does not count against the user's shell quota.
      if (isTransient(e) || (options?.signal?.aborted === true && e === options.signal.reason)) {
        this.shellId = poolId.toUpperCase();
        await this.deleteShell(undefined, false).catch(() => undefined);
      }
      throw e;
    }
    this.shellId = parseCreateResponse(r).shellId;
  }

  async createPipeline(pipelineId: string, data: Uint8Array, options?: ConnectionOperationOptions): Promise<void> {
    const r = await this.request(commandEnvelope(this.ctx, this.requireShell(), pipelineId, data), options);
    parseCommandResponse(r);
  }

  async send(target: string | null, stream: PsrpStream, data: Uint8Array, options?: ConnectionOperationOptions): Promise<void> {
    await this.request(sendEnvelope(this.ctx, this.requireShell(), target, stream === 'pr' ? 'pr' : 'stdin', data), options);
  }

  async receive(target: string | null, options?: ConnectionOperationOptions): Promise<ReceivedChunk> {
    try {
      const r = parseReceiveResponse(await this.request(receiveEnvelope(this.ctx, this.requireShell(), target), options));
      return { data: r.streams.map((s) => s.data), done: r.commandState === 'Done' };
    } catch (e) {
      // MS-WSMV: an OperationTimeout fault on Receive only means "no output yet": poll again.
      if (e instanceof WSManFaultError && e.code === 'PSRP_WSMAN_OPERATION_TIMEOUT') return { data: [], done: false };
      throw e;
    }
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

  closePool(options?: ConnectionOperationOptions): Promise<void> {
    return this.deleteShell(options, true);
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
