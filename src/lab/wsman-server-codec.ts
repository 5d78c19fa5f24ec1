// MS-WSMV server side, as the lab needs it: request parsing (3.1.4.x) and response envelopes
// (CreateResponse 3.1.4.5, CommandResponse 3.1.4.11, ReceiveResponse 2.2.4.40, faults 2.2.4.43)
// shaped like Windows' (compare shared/fixtures/windows-recordings).
import { attr, child, descendants, parseXmlTree, path, type XmlElement } from '../internal/xml-tree.js';
import { CommandState } from '../wsman/namespaces.js';

export interface LabRequest {
  readonly action: string;
  readonly messageId: string;
  readonly resourceUri: string;
  readonly shellId: string | undefined;
  readonly operationTimeoutMs: number;
  /** wsman:OptionSet (MS-WSMV 2.2.4.x options such as WINRS_CODEPAGE), by name. */
  readonly options: Readonly<Record<string, string>>;
  /** wsman:MaxEnvelopeSize (MS-WSMV 3.1.4.1.7), when the request has one. */
  readonly maxEnvelopeSize: number | undefined;
  /** wsmv:SessionId (MS-WSMV 3.1.4.1.37): which client session sent it (Disconnect/Reconnect/Connect). */
  readonly sessionId: string | undefined;
  readonly body: XmlElement;
}

function durationMs(text: string | undefined): number {
  const m = /^PT(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?$/.exec(text?.trim() ?? '');
  if (!m) return 20_000;
  return (Number(m[1] ?? 0) * 60 + Number(m[2] ?? 0)) * 1000;
}

function envelopeSize(text: string | undefined): number | undefined {
  const n = Number(text?.trim());
  return text !== undefined && Number.isInteger(n) && n > 0 ? n : undefined;
}

export function parseLabRequest(xml: string): LabRequest {
  const root = parseXmlTree(xml, { maxLength: 8 * 1024 * 1024 });
  const header = child(root, 'Header');
  const selector = descendants(header ?? root, 'Selector').find((s) => attr(s, 'Name') === 'ShellId');
  return {
    action: path(root, 'Header', 'Action')?.text.trim() ?? '',
    messageId: path(root, 'Header', 'MessageID')?.text.trim() ?? '',
    resourceUri: path(root, 'Header', 'ResourceURI')?.text.trim() ?? '',
    shellId: selector?.text.trim(),
    operationTimeoutMs: durationMs(path(root, 'Header', 'OperationTimeout')?.text),
    options: Object.fromEntries(
      (path(root, 'Header', 'OptionSet')?.children ?? [])
        .filter((o) => o.name === 'Option' && attr(o, 'Name') !== undefined)
        .map((o) => [attr(o, 'Name')!, o.text.trim()]),
    ),
    maxEnvelopeSize: envelopeSize(path(root, 'Header', 'MaxEnvelopeSize')?.text),
    sessionId: path(root, 'Header', 'SessionId')?.text.trim().toUpperCase(),
    body: child(root, 'Body') ?? root,
  };
}

const NS =
  'xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" ' +
  'xmlns:x="http://schemas.xmlsoap.org/ws/2004/09/transfer" xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd" ' +
  'xmlns:rsp="http://schemas.microsoft.com/wbem/wsman/1/windows/shell" xmlns:p="http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd"';

export function labEnvelope(action: string, relatesTo: string, body: string): string {
  return (
    `<s:Envelope xml:lang="en-US" ${NS}><s:Header><a:Action>${action}</a:Action>` +
    `<a:MessageID>uuid:${crypto.randomUUID().toUpperCase()}</a:MessageID>` +
    `<a:To>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:To>` +
    `<a:RelatesTo>${relatesTo}</a:RelatesTo></s:Header><s:Body>${body}</s:Body></s:Envelope>`
  );
}

export function createResponse(relatesTo: string, shellId: string, resourceUri: string): string {
  return labEnvelope(
    'http://schemas.xmlsoap.org/ws/2004/09/transfer/CreateResponse',
    relatesTo,
    `<x:ResourceCreated><a:Address>https://lab/wsman</a:Address><a:ReferenceParameters><w:ResourceURI>${resourceUri}</w:ResourceURI>` +
      `<w:SelectorSet><w:Selector Name="ShellId">${shellId}</w:Selector></w:SelectorSet></a:ReferenceParameters></x:ResourceCreated>` +
      `<rsp:Shell><rsp:ShellId>${shellId}</rsp:ShellId><rsp:ResourceUri>${resourceUri}</rsp:ResourceUri><rsp:Owner>lab</rsp:Owner>` +
      `<rsp:IdleTimeOut>PT7200.000S</rsp:IdleTimeOut><rsp:MaxIdleTimeOut>PT2147483.647S</rsp:MaxIdleTimeOut><rsp:State>Connected</rsp:State></rsp:Shell>`,
  );
}

export function commandResponse(relatesTo: string, commandId: string): string {
  return labEnvelope(
    'http://schemas.microsoft.com/wbem/wsman/1/windows/shell/CommandResponse',
    relatesTo,
    `<rsp:CommandResponse><rsp:CommandId>${commandId}</rsp:CommandId></rsp:CommandResponse>`,
  );
}

export function emptyResponse(action: string, relatesTo: string, body = ''): string {
  return labEnvelope(`${action}Response`, relatesTo, body);
}

export function receiveResponse(
  relatesTo: string,
  commandId: string | undefined,
  chunks: readonly Uint8Array[],
  done: boolean,
): string {
  const cmd = commandId ? ` CommandId="${commandId}"` : '';
  const streams = chunks
    .map((c) => `<rsp:Stream Name="stdout"${cmd}>${Buffer.from(c).toString('base64')}</rsp:Stream>`)
    .join('');
  const state = commandId
    ? `<rsp:CommandState${cmd} State="${done ? CommandState.Done : CommandState.Running}"></rsp:CommandState>`
    : '';
  return labEnvelope(
    'http://schemas.microsoft.com/wbem/wsman/1/windows/shell/ReceiveResponse',
    relatesTo,
    `<rsp:ReceiveResponse>${streams}${state}</rsp:ReceiveResponse>`,
  );
}

/**
 * A WS-Man fault as Windows writes it (SOAP 1.2 Fault + WSManFault detail): s:Receiver unless
 * `sender`, and a wsman:FaultDetail when given (compare the recordings' InvalidParameter fault).
 */
export function faultResponse(
  relatesTo: string,
  subcode: string,
  code: number,
  message: string,
  options: { readonly sender?: boolean; readonly detail?: string | undefined } = {},
): string {
  const esc = message.replace(/&/g, '&amp;').replace(/</g, '&lt;');
  const detail = options.detail ? `<w:FaultDetail>${options.detail}</w:FaultDetail>` : '';
  return labEnvelope(
    'http://schemas.dmtf.org/wbem/wsman/1/wsman/fault',
    relatesTo,
    `<s:Fault><s:Code><s:Value>s:${options.sender ? 'Sender' : 'Receiver'}</s:Value><s:Subcode><s:Value>w:${subcode}</s:Value></s:Subcode></s:Code>` +
      `<s:Reason><s:Text xml:lang="en-US">${esc}</s:Text></s:Reason><s:Detail>${detail}` +
      `<f:WSManFault xmlns:f="http://schemas.microsoft.com/wbem/wsman/1/wsmanfault" Code="${code}" Machine="lab"><f:Message>${esc}</f:Message></f:WSManFault>` +
      `</s:Detail></s:Fault>`,
  );
}

/** IdentifyResponse (DSP0226 11): the product version only to authenticated callers, as Windows does. */
export function identifyResponse(authenticated: boolean): string {
  return (
    '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:wsmid="http://schemas.dmtf.org/wbem/wsman/identity/1/wsmanidentity.xsd">' +
    '<s:Header/><s:Body><wsmid:IdentifyResponse><wsmid:ProtocolVersion>http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd</wsmid:ProtocolVersion>' +
    '<wsmid:ProductVendor>psrp lab</wsmid:ProductVendor>' +
    (authenticated ? '<wsmid:ProductVersion>OS: lab SP: 0.0 Stack: 3.0</wsmid:ProductVersion>' : '') +
    '<wsmid:SecurityProfiles><wsmid:SecurityProfileName>http://schemas.dmtf.org/wbem/wsman/1/wsman/secprofile/https/basic</wsmid:SecurityProfileName></wsmid:SecurityProfiles>' +
    '</wsmid:IdentifyResponse></s:Body></s:Envelope>'
  );
}
