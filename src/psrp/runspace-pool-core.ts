// MS-PSRP 3.1 Client Details: the RunspacePool (3.1.1.2, 3.1.4.1-3.1.4.9, 3.1.5.4) and pipeline
// (3.1.5.4.6-3.1.5.4.17) state machines, sans-IO: messages in, typed events out, bytes to send.
import { channels } from '../internal/debug.js';
import { InvalidArgumentError, InvalidStateError, ProtocolError } from '../errors.js';
import { deserializeObject, PSEnumValue, serializeObject, type SecureStringCipher } from '../clixml/index.js';
import { Defragmenter, encodeFragment, FRAGMENT_HEADER_SIZE } from './fragment.js';
import { decodeMessage, encodeMessage } from './message.js';
import { Destination, MessageType, type MessageTypeName } from './message-type.js';
import { hostMethodName, VOID_HOST_METHODS, type HostMethodName } from './host-method.js';
import * as build from './messages.js';
import { ErrorRecord, informationalRecord, informationRecord, progressRecord } from './records.js';
import type { InformationalRecord, InformationRecord, ProgressRecord } from './records.js';
import { SessionKeyExchange } from './session-key.js';
import { EMPTY_GUID } from '../internal/guid.js';
import { bag } from './property-bag.js';

/** MS-PSRP 2.2.3.4 RunspacePoolState. */
export const RUNSPACE_POOL_STATES = [
  'BeforeOpen', 'Opening', 'Opened', 'Closed', 'Closing', 'Broken', 'NegotiationSent', 'NegotiationSucceeded',
  'Connecting', 'Disconnected',
] as const;
export type RunspacePoolState = (typeof RUNSPACE_POOL_STATES)[number];

/** MS-PSRP 2.2.3.5 PSInvocationState. */
export const PIPELINE_STATES = ['NotStarted', 'Running', 'Stopping', 'Stopped', 'Completed', 'Failed', 'Disconnected'] as const;
export type PipelineState = (typeof PIPELINE_STATES)[number];

export const TERMINAL_PIPELINE_STATES: ReadonlySet<PipelineState> = new Set(['Stopped', 'Completed', 'Failed']);

/** Where outgoing data goes: WS-Man `stdin` or `pr` (host responses), pool or pipeline. */
export interface OutgoingData {
  readonly data: Uint8Array;
  readonly stream: 'default' | 'pr';
  readonly pipelineId: string | null;
}

export interface HostCall {
  readonly pipelineId: string | null;
  readonly callId: bigint;
  readonly methodId: number;
  readonly method: HostMethodName | undefined;
  readonly args: readonly unknown[];
  /** True when PowerShell expects no response (Write*, Set*, Notify*). */
  readonly isVoid: boolean;
}

/** Everything the core can tell its driver, one variant per received message type. */
export type PsrpEvent =
  | { readonly type: 'SessionCapability'; readonly protocolVersion: string; readonly psVersion: string; readonly serializationVersion: string }
  | { readonly type: 'ApplicationPrivateData'; readonly data: unknown }
  | { readonly type: 'RunspacePoolInitData'; readonly minRunspaces: number; readonly maxRunspaces: number }
  | { readonly type: 'RunspacePoolState'; readonly state: RunspacePoolState; readonly error: ErrorRecord | undefined }
  | { readonly type: 'RunspaceAvailability'; readonly callId: bigint; readonly value: boolean | number }
  | { readonly type: 'EncryptedSessionKey' }
  | { readonly type: 'PublicKeyRequest' }
  | { readonly type: 'UserEvent'; readonly event: unknown }
  | ({ readonly type: 'HostCall' } & HostCall)
  | { readonly type: 'PipelineOutput'; readonly pipelineId: string; readonly value: unknown }
  | { readonly type: 'ErrorRecord'; readonly pipelineId: string; readonly record: ErrorRecord }
  | { readonly type: 'WarningRecord' | 'VerboseRecord' | 'DebugRecord'; readonly pipelineId: string; readonly record: InformationalRecord }
  | { readonly type: 'InformationRecord'; readonly pipelineId: string; readonly record: InformationRecord }
  | { readonly type: 'ProgressRecord'; readonly pipelineId: string; readonly record: ProgressRecord }
  | { readonly type: 'PipelineState'; readonly pipelineId: string; readonly state: PipelineState; readonly error: ErrorRecord | undefined };

/** A message waiting to be sent; fragments are cut on demand to whatever room each payload has. */
interface Queued {
  readonly pipelineId: string | null;
  readonly stream: 'default' | 'pr';
  readonly objectId: bigint;
  readonly message: Uint8Array;
  /** Bytes of `message` already sent. */
  offset: number;
  nextFragmentId: bigint;
}

export interface RunspacePoolCoreOptions {
  readonly id: string;
  readonly minRunspaces?: number;
  readonly maxRunspaces?: number;
  readonly applicationArguments?: Readonly<Record<string, unknown>>;
  /** Whether the client answers host calls (sends HostInfo with a host). Default false. */
  readonly hasHost?: boolean;
  /** Most bytes of unfinished messages held at once (see DefragmenterLimits). Default 256 MiB. */
  readonly maxBufferedMessageBytes?: number;
}

/** The client side of a runspace pool. */
export class RunspacePoolCore {
  readonly id: string;
  state: RunspacePoolState = 'BeforeOpen';
  minRunspaces: number;
  maxRunspaces: number;
  /** The server's protocol version from its SESSION_CAPABILITY, once known. */
  serverProtocolVersion: string | undefined;
  applicationPrivateData: unknown;
  readonly hasHost: boolean;
  private readonly applicationArguments: Readonly<Record<string, unknown>> | undefined;
  private readonly queue: Queued[] = [];
  private readonly events: PsrpEvent[] = [];
  private readonly defrag: Defragmenter;
  private readonly pipelines = new Map<string, PipelineCore>();
  private nextObjectId = 1n;
  private nextCallId = 0n;
  private keyExchange: SessionKeyExchange | undefined;
  /** The SecureString cipher once the session key is exchanged. */
  cipher: SecureStringCipher | undefined;

  constructor(options: RunspacePoolCoreOptions) {
    this.id = options.id.toLowerCase();
    this.minRunspaces = options.minRunspaces ?? 1;
    this.maxRunspaces = options.maxRunspaces ?? 1;
    if (this.minRunspaces < 1 || this.maxRunspaces < this.minRunspaces) {
      throw new InvalidArgumentError(`Invalid runspace counts: min ${this.minRunspaces}, max ${this.maxRunspaces}`);
    }
    this.applicationArguments = options.applicationArguments;
    this.hasHost = options.hasHost ?? false;
    this.defrag = new Defragmenter(options.maxBufferedMessageBytes !== undefined ? { maxBufferedBytes: options.maxBufferedMessageBytes } : {});
  }

  /** True once the server speaks protocol 2.2 or later (Exchange 2010 / PowerShell 2 speak 2.1). */
  get isProtocol22(): boolean {
    const v = this.serverProtocolVersion;
    if (v === undefined) return true;
    const [maj = 0, min = 0] = v.split('.').map(Number);
    return maj > 2 || (maj === 2 && min >= 2);
  }

  private transition(to: RunspacePoolState): void {
    const from = this.state;
    if (from === to) return;
    this.state = to;
    if (channels.stateChange.hasSubscribers) channels.stateChange.publish({ kind: 'runspacePool', id: this.id, from, to });
  }

  private expect(action: string, states: readonly RunspacePoolState[]): void {
    if (!states.includes(this.state)) throw new InvalidStateError(action, this.state, states);
  }

  /** Queues one message for sending (fragments are cut later, to the transport's size). */
  queueMessage(type: MessageTypeName, pipelineId: string | null, data: string, stream: 'default' | 'pr' = 'default'): void {
    const bytes = encodeMessage({
      destination: Destination.Server,
      messageType: MessageType[type],
      runspacePoolId: this.id,
      pipelineId: pipelineId ?? EMPTY_GUID,
      data,
    });
    this.queue.push({ pipelineId, stream, objectId: this.nextObjectId++, message: bytes, offset: 0, nextFragmentId: 0n });
  }

  /** Queues SESSION_CAPABILITY and INIT_RUNSPACEPOOL (MS-PSRP 3.1.4.1). */
  open(): void {
    this.expect('open the runspace pool', ['BeforeOpen']);
    this.queueMessage('SessionCapability', null, build.sessionCapabilityData());
    this.queueMessage(
      'InitRunspacePool',
      null,
      build.initRunspacePoolData({
        minRunspaces: this.minRunspaces,
        maxRunspaces: this.maxRunspaces,
        hasHost: this.hasHost,
        applicationArguments: this.applicationArguments,
      }),
    );
    this.transition('Opening');
  }

  /** Queues CONNECT_RUNSPACEPOOL to reattach a disconnected pool (MS-PSRP 3.1.4.11). */
  connect(): void {
    this.expect('connect the runspace pool', ['BeforeOpen', 'Disconnected']);
    this.queueMessage('SessionCapability', null, build.sessionCapabilityData());
    this.queueMessage('ConnectRunspacePool', null, build.connectRunspacePoolData(this.minRunspaces, this.maxRunspaces));
    this.transition('Connecting');
  }

  /** Marks the pool closing/closed; the transport deletes the shell. */
  close(): void {
    if (this.state === 'Closed') return;
    this.transition('Closing');
  }
  closed(): void {
    this.transition('Closed');
    for (const p of this.pipelines.values()) if (!TERMINAL_PIPELINE_STATES.has(p.state)) p.setState('Stopped');
  }
  /** Marks the pool broken by a transport failure. */
  broken(): void {
    this.transition('Broken');
  }

  /** Creates a pipeline in NotStarted state; `start()` queues its CREATE_PIPELINE. */
  createPipeline(id: string, spec: Omit<build.CreatePipelineSpec, 'hasHost' | 'protocol22'>): PipelineCore {
    this.expect('create a pipeline', ['Opened']);
    if (spec.commands.length === 0 || spec.statements?.some((st) => st.length === 0)) throw new InvalidArgumentError('A pipeline needs at least one command');
    if (spec.statements !== undefined && spec.statements.length > 1 && !this.isProtocol22) {
      // Servers before protocol 2.2 (PowerShell 2, Exchange 2010) do not read ExtraCmds.
      throw new InvalidArgumentError(`Several statements in one pipeline need a protocol 2.2+ server; this one speaks ${this.serverProtocolVersion}: run them one pipeline each`);
    }
    const p = new PipelineCore(this, id.toLowerCase(), spec);
    this.pipelines.set(p.id, p);
    return p;
  }

  /**
   * A pipeline already running on the server that this client did not create: one left by a
   * disconnected client, being connected to (MS-PSRP 3.1.5.3.12). No CREATE_PIPELINE is sent.
   */
  attachPipeline(id: string): PipelineCore {
    this.expect('connect to a pipeline', ['Opened']);
    const p = new PipelineCore(this, id.toLowerCase(), undefined);
    p.setState('Running');
    this.pipelines.set(p.id, p);
    return p;
  }

  /** A pseudo-pipeline for GET_COMMAND_METADATA (MS-PSRP 3.1.4.10): replies arrive as its output. */
  getCommandMetadata(id: string, names: readonly string[], filter: build.CommandMetadataFilter = {}): PipelineCore {
    this.expect('get command metadata', ['Opened']);
    const p = new PipelineCore(this, id.toLowerCase(), undefined, build.getCommandMetadataData(names, filter));
    this.pipelines.set(p.id, p);
    return p;
  }

  pipeline(id: string): PipelineCore | undefined {
    return this.pipelines.get(id.toLowerCase());
  }

  /** Forgets a finished pipeline. */
  removePipeline(id: string): void {
    this.pipelines.delete(id.toLowerCase());
  }

  private call(type: MessageTypeName, data: (ci: bigint) => string): bigint {
    this.expect(`send ${type}`, ['Opened']);
    const ci = this.nextCallId++;
    this.queueMessage(type, null, data(ci));
    return ci;
  }
  setMaxRunspaces(n: number): bigint {
    return this.call('SetMaxRunspaces', (ci) => build.setMaxRunspacesData(n, ci));
  }
  setMinRunspaces(n: number): bigint {
    return this.call('SetMinRunspaces', (ci) => build.setMinRunspacesData(n, ci));
  }
  getAvailableRunspaces(): bigint {
    return this.call('GetAvailableRunspaces', (ci) => build.callIdData(ci));
  }
  resetRunspaceState(): bigint {
    return this.call('ResetRunspaceState', (ci) => build.callIdData(ci));
  }

  /** Starts the session key exchange (PUBLIC_KEY); the key arrives as an EncryptedSessionKey event. */
  exchangeKey(): void {
    this.expect('exchange the session key', ['Opened', 'Opening']);
    if (this.keyExchange || this.cipher) return;
    this.keyExchange = new SessionKeyExchange();
    this.queueMessage('PublicKey', null, build.publicKeyData(this.keyExchange.publicKeyBlob));
  }

  /** Answers a host call (MS-PSRP 2.2.2.16 / 2.2.2.28), on the `pr` stream. */
  hostResponse(call: HostCall, result: { readonly value: unknown } | { readonly error: unknown }): void {
    if (call.method === undefined) throw new InvalidArgumentError(`Unknown host method ${call.methodId}`);
    const data = build.hostResponseData(call.callId, call.method, result, this.cipher ? { secureStringCipher: this.cipher } : {});
    this.queueMessage(call.pipelineId === null ? 'RunspacePoolHostResponse' : 'PipelineHostResponse', call.pipelineId, data, 'pr');
  }

  /** True when something is waiting to be sent (for `target`, or for anyone). */
  hasDataToSend(target?: string | null): boolean {
    return target === undefined ? this.queue.length > 0 : this.queue.some((q) => q.pipelineId === target);
  }

  /**
   * The next payload to send, at most `maxBytes` long (fragment headers included), for `target`
   * (a pipeline id, or null for the pool) or for whoever is first in line. Several whole messages
   * for the same target and stream are packed together when they fit.
   */
  dataToSend(maxBytes: number, target?: string | null): OutgoingData | undefined {
    if (maxBytes < FRAGMENT_HEADER_SIZE + 1) throw new InvalidArgumentError(`maxBytes must be at least ${FRAGMENT_HEADER_SIZE + 1}`);
    const index = target === undefined ? 0 : this.queue.findIndex((q) => q.pipelineId === target);
    const head = this.queue[index];
    if (!head) return undefined;
    const parts: Uint8Array[] = [];
    let size = 0;
    while (index < this.queue.length) {
      const q = this.queue[index]!;
      if (q.pipelineId !== head.pipelineId || q.stream !== head.stream) break;
      // Cut the message's fragments to fit what is left of this payload.
      const room = maxBytes - size;
      if (room < FRAGMENT_HEADER_SIZE + 1) break;
      const take = Math.min(room - FRAGMENT_HEADER_SIZE, q.message.length - q.offset);
      const frag = encodeFragment({
        objectId: q.objectId,
        fragmentId: q.nextFragmentId++,
        start: q.offset === 0,
        end: q.offset + take === q.message.length,
        blob: q.message.subarray(q.offset, q.offset + take),
      });
      q.offset += take;
      parts.push(frag);
      size += frag.length;
      if (q.offset < q.message.length) break; // the rest of this message goes in the next payload
      this.queue.splice(index, 1);
    }
    if (parts.length === 0) return undefined;
    const data = new Uint8Array(size);
    let o = 0;
    for (const p of parts) {
      data.set(p, o);
      o += p.length;
    }
    return { data, stream: head.stream, pipelineId: head.pipelineId };
  }

  /**
   * Feeds received bytes (one or more fragments, possibly partial). The core takes the bytes over
   * (they are kept without a copy until their messages complete): do not change them afterwards.
   */
  receiveData(bytes: Uint8Array): void {
    for (const m of this.defrag.push(bytes, true)) this.handle(m);
  }

  /** The next event, or undefined when more data is needed. */
  nextEvent(): PsrpEvent | undefined {
    return this.events.shift();
  }

  private handle(bytes: Uint8Array): void {
    const msg = decodeMessage(bytes);
    if (msg.runspacePoolId !== this.id && msg.runspacePoolId !== EMPTY_GUID) {
      // MS-PSRP 2.2.1: every server message names the pool it belongs to.
      throw new ProtocolError(`${msg.typeName} message for runspace pool ${msg.runspacePoolId}, not ${this.id}`, {
        code: 'PSRP_MESSAGE_INVALID',
        messageType: msg.messageType,
      });
    }
    const value = msg.data === '' ? undefined : deserializeObject(msg.data, this.cipher ? { secureStringCipher: this.cipher } : {});
    const v = bag(value);
    const pid = msg.pipelineId === EMPTY_GUID ? null : msg.pipelineId;
    const pipelineEvent = (): string => {
      if (pid === null) throw new ProtocolError(`${msg.typeName} without a pipeline id`, { code: 'PSRP_MESSAGE_INVALID', messageType: msg.messageType });
      return pid;
    };
    switch (msg.typeName) {
      case 'SessionCapability':
        this.serverProtocolVersion = String(v['protocolversion'] ?? '2.0');
        this.events.push({
          type: 'SessionCapability',
          protocolVersion: this.serverProtocolVersion,
          psVersion: String(v['PSVersion'] ?? ''),
          serializationVersion: String(v['SerializationVersion'] ?? ''),
        });
        return;
      case 'ApplicationPrivateData':
        this.applicationPrivateData = v['ApplicationPrivateData'];
        this.events.push({ type: 'ApplicationPrivateData', data: this.applicationPrivateData });
        // MS-PSRP 3.1.4.11: a connect ends with RUNSPACEPOOL_INIT_DATA then APPLICATION_PRIVATE_DATA;
        // no RUNSPACEPOOL_STATE follows (Windows sends none), the pool is open again.
        if (this.state === 'Connecting') this.transition('Opened');
        return;
      case 'RunspacePoolInitData':
        this.events.push({ type: 'RunspacePoolInitData', minRunspaces: Number(v['MinRunspaces']), maxRunspaces: Number(v['MaxRunspaces']) });
        // Connecting: the server's sizes win, they are the pool's as its creator left them.
        if (this.state === 'Connecting') {
          this.minRunspaces = Number(v['MinRunspaces']) || this.minRunspaces;
          this.maxRunspaces = Number(v['MaxRunspaces']) || this.maxRunspaces;
        }
        return;
      case 'RunspacePoolState': {
        const state = RUNSPACE_POOL_STATES[Number(v['RunspaceState'])] ?? 'Broken';
        const err = v['ExceptionAsErrorRecord'];
        this.transition(state);
        if (state === 'Broken' || state === 'Closed') {
          for (const p of this.pipelines.values()) if (!TERMINAL_PIPELINE_STATES.has(p.state)) p.setState('Failed');
        }
        this.events.push({ type: 'RunspacePoolState', state, error: err ? new ErrorRecord(err) : undefined });
        return;
      }
      case 'RunspaceAvailability': {
        const sv = v['SetMinMaxRunspacesResponse'];
        this.events.push({
          type: 'RunspaceAvailability',
          callId: BigInt(String(v['ci'] ?? 0)),
          value: typeof sv === 'boolean' ? sv : Number(sv),
        });
        return;
      }
      case 'EncryptedSessionKey': {
        if (!this.keyExchange) throw new ProtocolError('EncryptedSessionKey without a key exchange', { code: 'PSRP_SESSION_KEY_INVALID' });
        this.cipher = this.keyExchange.accept(String(v['EncryptedSessionKey'] ?? ''));
        this.keyExchange = undefined;
        this.events.push({ type: 'EncryptedSessionKey' });
        return;
      }
      case 'PublicKeyRequest':
        if (this.state === 'Opened' || this.state === 'Opening') this.exchangeKey();
        this.events.push({ type: 'PublicKeyRequest' });
        return;
      case 'UserEvent':
        this.events.push({ type: 'UserEvent', event: value });
        return;
      case 'RunspacePoolHostCall':
      case 'PipelineHostCall':
        this.events.push(hostCallEvent(v, msg.typeName === 'PipelineHostCall' ? pipelineEvent() : null));
        return;
      case 'PipelineOutput':
        this.events.push({ type: 'PipelineOutput', pipelineId: pipelineEvent(), value });
        return;
      case 'ErrorRecord':
        this.events.push({ type: 'ErrorRecord', pipelineId: pipelineEvent(), record: new ErrorRecord(value) });
        return;
      case 'WarningRecord':
      case 'VerboseRecord':
      case 'DebugRecord':
        this.events.push({ type: msg.typeName, pipelineId: pipelineEvent(), record: informationalRecord(value) });
        return;
      case 'InformationRecord':
        this.events.push({ type: 'InformationRecord', pipelineId: pipelineEvent(), record: informationRecord(value) });
        return;
      case 'ProgressRecord':
        this.events.push({ type: 'ProgressRecord', pipelineId: pipelineEvent(), record: progressRecord(value) });
        return;
      case 'PipelineState': {
        const id = pipelineEvent();
        const state = PIPELINE_STATES[Number(v['PipelineState'])] ?? 'Failed';
        const err = v['ExceptionAsErrorRecord'];
        this.pipelines.get(id)?.setState(state);
        this.events.push({ type: 'PipelineState', pipelineId: id, state, error: err ? new ErrorRecord(err) : undefined });
        return;
      }
      default:
        throw new ProtocolError(`Unexpected ${msg.typeName} message from the server`, {
          code: 'PSRP_MESSAGE_UNEXPECTED',
          messageType: msg.messageType,
        });
    }
  }
}

/** A RUNSPACEPOOL_HOST_CALL or PIPELINE_HOST_CALL as an event (MS-PSRP 2.2.2.15, 2.2.2.27). */
function hostCallEvent(v: Record<string, unknown>, pipelineId: string | null): PsrpEvent {
  const mi = v['mi'];
  const methodId = mi instanceof PSEnumValue ? mi.value : Number(mi);
  const method = hostMethodName(methodId);
  const mp = v['mp'];
  return {
    type: 'HostCall',
    pipelineId,
    callId: BigInt(String(v['ci'] ?? 0)),
    methodId,
    method,
    args: Array.isArray(mp) ? mp : [],
    isVoid: method !== undefined && VOID_HOST_METHODS.has(method),
  };
}

/** The client side of one pipeline (or a GET_COMMAND_METADATA call). */
export class PipelineCore {
  state: PipelineState = 'NotStarted';

  constructor(
    private readonly pool: RunspacePoolCore,
    readonly id: string,
    private readonly spec: Omit<build.CreatePipelineSpec, 'hasHost' | 'protocol22'> | undefined,
    private readonly metadataRequest?: string,
  ) {}

  setState(to: PipelineState): void {
    const from = this.state;
    if (from === to) return;
    this.state = to;
    if (channels.stateChange.hasSubscribers) channels.stateChange.publish({ kind: 'pipeline', id: this.id, from, to });
  }

  /** Queues CREATE_PIPELINE (or GET_COMMAND_METADATA). */
  start(): void {
    if (this.state !== 'NotStarted') throw new InvalidStateError('start the pipeline', this.state, ['NotStarted']);
    if (this.metadataRequest !== undefined) {
      this.pool.queueMessage('GetCommandMetadata', this.id, this.metadataRequest);
    } else {
      const opts = this.pool.cipher ? { secureStringCipher: this.pool.cipher } : {};
      this.pool.queueMessage(
        'CreatePipeline',
        this.id,
        build.createPipelineData({ ...this.spec!, hasHost: this.pool.hasHost, protocol22: this.pool.isProtocol22 }, opts),
      );
    }
    this.setState('Running');
  }

  /** Queues PIPELINE_INPUT messages, one per value. */
  sendInput(values: Iterable<unknown>): void {
    if (this.state !== 'Running') throw new InvalidStateError('send pipeline input', this.state, ['Running']);
    if (this.spec?.noInput !== false) throw new InvalidStateError('send pipeline input', 'NoInput', ['accepting input']);
    const opts = this.pool.cipher ? { secureStringCipher: this.pool.cipher } : {};
    for (const v of values) this.pool.queueMessage('PipelineInput', this.id, serializeObject(v, opts));
  }

  /** Queues END_OF_PIPELINE_INPUT. */
  endInput(): void {
    if (this.state !== 'Running') throw new InvalidStateError('end pipeline input', this.state, ['Running']);
    this.pool.queueMessage('EndOfPipelineInput', this.id, '');
  }

  /** Marks the pipeline stopping (the transport sends the stop signal). */
  stopping(): void {
    if (this.state === 'Running') this.setState('Stopping');
  }
}
