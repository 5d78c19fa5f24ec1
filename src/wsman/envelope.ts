// MS-WSMV 2.2.4 (SOAP headers), 3.1.4.5 Create, 3.1.4.11 Command, 3.1.4.12 Signal, 3.1.4.13
// Send, 3.1.4.14 Receive, 3.1.4.16 Delete; MS-PSRP 3.1.5.3 (how PSRP uses them).
import type { IdSource } from '../internal/ids.js';
import { Action, CONFIG_RESOURCE_URI, NS, type ActionName } from './namespaces.js';

const esc = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

export interface EnvelopeContext {
  /** Full endpoint URL (wsa:To), e.g. `https://cas/PowerShell/?serializationLevel=Full`. */
  readonly to: string;
  readonly resourceUri: string;
  readonly ids: IdSource;
  /** wsmv:SessionId, constant for a connection. */
  readonly sessionId: string;
  readonly maxEnvelopeSize: number;
  /** Seconds (xs:duration PTnS). */
  readonly operationTimeoutSeconds: number;
  readonly locale: string;
  readonly dataLocale: string;
}

export interface BuiltEnvelope {
  readonly xml: string;
  readonly messageId: string;
  readonly action: string;
}

export interface EnvelopeParts {
  readonly action: ActionName;
  readonly shellId?: string | undefined;
  readonly options?: Readonly<Record<string, string>> | undefined;
  readonly body: string;
  readonly operationTimeoutSeconds?: number;
  /** Options sent with MustComply="true" besides `protocolversion` (e.g. WINRS_NOPROFILE). */
  readonly mustComply?: readonly string[];
}

/** Builds a request envelope: the shared WS-Man headers (MS-WSMV 2.2.4) around `p.body`. */
export function buildEnvelope(ctx: EnvelopeContext, p: EnvelopeParts): BuiltEnvelope {
  return build(ctx, p);
}

/** The header elements fixed for a context: built once per context object (contexts are replaced, never changed). */
interface FixedHeader {
  /** DataLocale, Locale and MaxEnvelopeSize (between Action and MessageID). */
  readonly locales: string;
  /** ReplyTo, ResourceURI, SessionId and To (after OperationTimeout). */
  readonly addressing: string;
}
const fixedHeaders = new WeakMap<EnvelopeContext, FixedHeader>();

function fixedHeader(ctx: EnvelopeContext): FixedHeader {
  let fixed = fixedHeaders.get(ctx);
  if (fixed === undefined) {
    fixed = {
      locales:
        `<wsmv:DataLocale s:mustUnderstand="false" xml:lang="${esc(ctx.dataLocale)}" />` +
        `<wsman:Locale s:mustUnderstand="false" xml:lang="${esc(ctx.locale)}" />` +
        `<wsman:MaxEnvelopeSize s:mustUnderstand="true">${ctx.maxEnvelopeSize}</wsman:MaxEnvelopeSize>`,
      addressing:
        `<wsa:ReplyTo><wsa:Address s:mustUnderstand="true">http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</wsa:Address></wsa:ReplyTo>` +
        `<wsman:ResourceURI s:mustUnderstand="true">${esc(ctx.resourceUri)}</wsman:ResourceURI>` +
        `<wsmv:SessionId s:mustUnderstand="false">uuid:${ctx.sessionId.toUpperCase()}</wsmv:SessionId>` +
        `<wsa:To>${esc(ctx.to)}</wsa:To>`,
    };
    fixedHeaders.set(ctx, fixed);
  }
  return fixed;
}

const ENVELOPE_OPEN = `<s:Envelope xmlns:s="${NS.s}" xmlns:wsa="${NS.wsa}" xmlns:wsman="${NS.wsman}" xmlns:wsmv="${NS.wsmv}" xmlns:rsp="${NS.rsp}">`;

function build(ctx: EnvelopeContext, p: EnvelopeParts): BuiltEnvelope {
  const messageId = `uuid:${ctx.ids.uuid().toUpperCase()}`;
  const action = Action[p.action];
  const timeout = p.operationTimeoutSeconds ?? ctx.operationTimeoutSeconds;
  const fixed = fixedHeader(ctx);
  let header =
    `<wsa:Action s:mustUnderstand="true">${action}</wsa:Action>` +
    fixed.locales +
    `<wsa:MessageID>${messageId}</wsa:MessageID>` +
    `<wsman:OperationTimeout>PT${timeout}S</wsman:OperationTimeout>` +
    fixed.addressing;
  if (p.options && Object.keys(p.options).length > 0) {
    header += '<wsman:OptionSet s:mustUnderstand="true">';
    for (const [k, v] of Object.entries(p.options)) {
      // Only the protocol version must be understood; other options are hints (as Windows clients send them).
      const must = k === 'protocolversion' || p.mustComply?.includes(k) === true ? ' MustComply="true"' : '';
      header += `<wsman:Option${must} Name="${esc(k)}">${esc(v)}</wsman:Option>`;
    }
    header += '</wsman:OptionSet>';
  }
  if (p.shellId !== undefined) {
    header += `<wsman:SelectorSet><wsman:Selector Name="ShellId">${esc(p.shellId.toUpperCase())}</wsman:Selector></wsman:SelectorSet>`;
  }
  const xml = `${ENVELOPE_OPEN}<s:Header>${header}</s:Header><s:Body>${p.body}</s:Body></s:Envelope>`;
  return { xml, messageId, action };
}

const b64 = (data: Uint8Array): string =>
  Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('base64');

/** Create a PowerShell shell carrying the pool's first fragments (MS-PSRP 3.1.5.3.1). */
export function createShellEnvelope(
  ctx: EnvelopeContext,
  shellId: string,
  creationData: Uint8Array,
  options: { readonly protocolVersion?: string; readonly idleTimeoutSeconds?: number } = {},
): BuiltEnvelope {
  const idle =
    options.idleTimeoutSeconds !== undefined
      ? `<rsp:IdleTimeOut>PT${options.idleTimeoutSeconds}S</rsp:IdleTimeOut>`
      : '';
  return build(ctx, {
    action: 'Create',
    options: { protocolversion: options.protocolVersion ?? '2.3' },
    body:
      `<rsp:Shell ShellId="${esc(shellId.toUpperCase())}"><rsp:InputStreams>stdin pr</rsp:InputStreams>` +
      `<rsp:OutputStreams>stdout</rsp:OutputStreams>${idle}` +
      `<creationXml xmlns="${NS.psrp}">${b64(creationData)}</creationXml></rsp:Shell>`,
  });
}

/** Command: create a pipeline, with its first fragments in Arguments (MS-PSRP 3.1.5.3.3). */
export function commandEnvelope(
  ctx: EnvelopeContext,
  shellId: string,
  commandId: string,
  data: Uint8Array,
): BuiltEnvelope {
  return build(ctx, {
    action: 'Command',
    shellId,
    options: { WINRS_SKIP_CMD_SHELL: 'False' },
    body: `<rsp:CommandLine CommandId="${esc(commandId.toUpperCase())}"><rsp:Command></rsp:Command><rsp:Arguments>${b64(data)}</rsp:Arguments></rsp:CommandLine>`,
  });
}

/** Send fragments on `stdin` or `pr` (MS-PSRP 3.1.5.3.5). */
export function sendEnvelope(
  ctx: EnvelopeContext,
  shellId: string,
  commandId: string | null,
  stream: 'stdin' | 'pr',
  data: Uint8Array,
): BuiltEnvelope {
  const cmd = commandId === null ? '' : ` CommandId="${esc(commandId.toUpperCase())}"`;
  return build(ctx, {
    action: 'Send',
    shellId,
    body: `<rsp:Send><rsp:Stream Name="${stream}"${cmd}>${b64(data)}</rsp:Stream></rsp:Send>`,
  });
}

/** Receive output for the pool or a pipeline (MS-PSRP 3.1.5.3.7). */
export function receiveEnvelope(
  ctx: EnvelopeContext,
  shellId: string,
  commandId: string | null,
): BuiltEnvelope {
  const cmd = commandId === null ? '' : ` CommandId="${esc(commandId.toUpperCase())}"`;
  return build(ctx, {
    action: 'Receive',
    shellId,
    options: { WSMAN_CMDSHELL_OPTION_KEEPALIVE: 'TRUE' },
    body: `<rsp:Receive><rsp:DesiredStream${cmd}>stdout</rsp:DesiredStream></rsp:Receive>`,
  });
}

/** Signal a pipeline (stop: `powershell/signal/ctrl_c`; release: terminate). */
export function signalEnvelope(
  ctx: EnvelopeContext,
  shellId: string,
  commandId: string,
  code: string,
): BuiltEnvelope {
  return build(ctx, {
    action: 'Signal',
    shellId,
    body: `<rsp:Signal CommandId="${esc(commandId.toUpperCase())}"><rsp:Code>${esc(code)}</rsp:Code></rsp:Signal>`,
  });
}

/** Read the WinRM service configuration, winrm/config (MS-WSMV 3.1.4.1 Get); needs an administrator. */
export function configGetEnvelope(ctx: EnvelopeContext): BuiltEnvelope {
  return build({ ...ctx, resourceUri: CONFIG_RESOURCE_URI }, { action: 'Get', body: '' });
}

/** Delete the shell (closes the runspace pool on the server). */
export function deleteEnvelope(ctx: EnvelopeContext, shellId: string): BuiltEnvelope {
  return build(ctx, { action: 'Delete', shellId, body: '' });
}

/**
 * How many raw fragment bytes fit in one request of `maxEnvelopeSize` bytes: the base64 text of the
 * payload may use what the envelope's own markup leaves (`overhead`, measured on an empty request,
 * plus a safety margin), and base64 turns 3 bytes into 4 characters.
 */
export function maxPayloadBytes(maxEnvelopeSize: number, overhead: number): number {
  const room = maxEnvelopeSize - overhead - 256;
  return Math.max(22, Math.floor(room / 4) * 3);
}

/** Disconnect the shell, keeping it alive on the server (MS-PSRP 3.1.5.3.10, MS-WSMV 3.1.4.15). */
export function disconnectEnvelope(
  ctx: EnvelopeContext,
  shellId: string,
  idleTimeoutSeconds?: number,
): BuiltEnvelope {
  const idle =
    idleTimeoutSeconds !== undefined ? `<rsp:IdleTimeOut>PT${idleTimeoutSeconds}S</rsp:IdleTimeOut>` : '';
  return build(ctx, {
    action: 'Disconnect',
    shellId,
    body: idle ? `<rsp:Disconnect>${idle}</rsp:Disconnect>` : '<rsp:Disconnect />',
  });
}

/** Reconnect to a shell this client disconnected (MS-PSRP 3.1.5.3.11). */
export function reconnectEnvelope(ctx: EnvelopeContext, shellId: string): BuiltEnvelope {
  return build(ctx, { action: 'Reconnect', shellId, body: '' });
}

/**
 * Connect to a disconnected shell from a new client (MS-PSRP 3.1.5.3.12): the pool's
 * SESSION_CAPABILITY + CONNECT_RUNSPACEPOOL fragments in connectXml; or, with `commandId`, attach to
 * a disconnected pipeline.
 */
export function connectEnvelope(
  ctx: EnvelopeContext,
  shellId: string,
  connectData: Uint8Array | null,
  commandId?: string,
): BuiltEnvelope {
  if (commandId !== undefined) {
    return build(ctx, {
      action: 'Connect',
      shellId,
      body: `<rsp:Connect CommandId="${esc(commandId.toUpperCase())}" />`,
    });
  }
  return build(ctx, {
    action: 'Connect',
    shellId,
    options: { protocolversion: '2.3' },
    body: `<rsp:Connect><connectXml xmlns="${NS.psrp}">${b64(connectData ?? new Uint8Array(0))}</connectXml></rsp:Connect>`,
  });
}
