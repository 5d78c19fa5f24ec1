// MS-WSMV 3.1.4.8 Enumerate of the shell resource (http://schemas.microsoft.com/wbem/wsman/1/windows/shell):
// the caller's shells, disconnected ones included, each an rsp:Shell (MS-WSMV 2.2.4.37); with a
// ShellId selector filter on the Command resource, a shell's commands (MS-PSRP 3.1.5.3.12, what
// PowerShell's Get-PSSession asks). WS-Enumeration (DSP0226 8.2) with OptimizeEnumeration and a
// large MaxElements, so the answer holds every item and EndOfSequence.
import { ProtocolError } from '../errors.js';
import { child, descendants, type XmlElement } from '../internal/xml-tree.js';
import { buildEnvelope, type BuiltEnvelope, type EnvelopeContext } from './envelope.js';
import { NS } from './namespaces.js';
import type { ParsedResponse } from './response.js';

export const SHELL_RESOURCE_URI = 'http://schemas.microsoft.com/wbem/wsman/1/windows/shell';
export const COMMAND_RESOURCE_URI = 'http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Command';
const WSEN = 'http://schemas.xmlsoap.org/ws/2004/09/enumeration';
const ENUMERATE = `${WSEN}/Enumerate`;

const esc = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** Enumerate the caller's shells, or (with `shellId`) the commands of one shell. */
export function enumerateEnvelope(ctx: EnvelopeContext, shellId?: string): BuiltEnvelope {
  const messageId = `uuid:${ctx.ids.uuid().toUpperCase()}`;
  const resource = shellId === undefined ? SHELL_RESOURCE_URI : COMMAND_RESOURCE_URI;
  const filter =
    shellId === undefined
      ? ''
      : `<wsman:Filter Dialect="http://schemas.dmtf.org/wbem/wsman/1/wsman/SelectorFilter"><wsman:SelectorSet><wsman:Selector Name="ShellId">${esc(shellId.toUpperCase())}</wsman:Selector></wsman:SelectorSet></wsman:Filter>`;
  const xml =
    `<s:Envelope xmlns:s="${NS.s}" xmlns:wsa="${NS.wsa}" xmlns:wsen="${WSEN}" xmlns:wsman="${NS.wsman}" xmlns:wsmv="${NS.wsmv}"><s:Header>` +
    `<wsa:Action s:mustUnderstand="true">${ENUMERATE}</wsa:Action>` +
    `<wsmv:DataLocale s:mustUnderstand="false" xml:lang="${esc(ctx.dataLocale)}" />` +
    `<wsman:Locale s:mustUnderstand="false" xml:lang="${esc(ctx.locale)}" />` +
    `<wsman:MaxEnvelopeSize s:mustUnderstand="true">${ctx.maxEnvelopeSize}</wsman:MaxEnvelopeSize>` +
    `<wsa:MessageID>${messageId}</wsa:MessageID>` +
    `<wsman:OperationTimeout>PT${ctx.operationTimeoutSeconds}S</wsman:OperationTimeout>` +
    `<wsa:ReplyTo><wsa:Address s:mustUnderstand="true">http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</wsa:Address></wsa:ReplyTo>` +
    `<wsman:ResourceURI s:mustUnderstand="true">${resource}</wsman:ResourceURI>` +
    `<wsmv:SessionId s:mustUnderstand="false">uuid:${ctx.sessionId.toUpperCase()}</wsmv:SessionId>` +
    `<wsa:To>${esc(ctx.to)}</wsa:To></s:Header>` +
    `<s:Body><wsen:Enumerate><wsman:OptimizeEnumeration /><wsman:MaxElements>32000</wsman:MaxElements>${filter}</wsen:Enumerate></s:Body></s:Envelope>`;
  return { xml, messageId, action: ENUMERATE };
}

/** One shell of the caller's (MS-WSMV 2.2.4.37 rsp:Shell). */
export interface ShellInfo {
  readonly shellId: string;
  /** e.g. `http://schemas.microsoft.com/powershell/Microsoft.PowerShell`. */
  readonly resourceUri: string;
  /** The session configuration name (the resource URI's last segment for PowerShell shells). */
  readonly configurationName: string;
  readonly owner: string | undefined;
  readonly clientIp: string | undefined;
  /** `Connected` or `Disconnected`. */
  readonly state: string | undefined;
  /** xs:duration texts as the server sent them. */
  readonly idleTimeout: string | undefined;
  readonly shellRunTime: string | undefined;
  readonly shellInactivity: string | undefined;
  readonly name: string | undefined;
}

function items(r: ParsedResponse): XmlElement {
  const response = child(r.body, 'EnumerateResponse');
  if (!response)
    throw new ProtocolError('Expected an EnumerateResponse', {
      code: 'PSRP_WSMAN_INVALID_ENVELOPE',
      element: 'EnumerateResponse',
    });
  return response;
}

/** The shells in an EnumerateResponse of the shell resource. */
export function parseShellEnumeration(r: ParsedResponse): ShellInfo[] {
  return descendants(items(r), 'Shell').map(shellInfo);
}

/**
 * MS-WSMV 3.1.4.1 Get of the shell resource with a ShellId selector: one shell's rsp:Shell, its
 * State included (Connected/Disconnected; how a client checks that a pool is still there,
 * compare the recording test_psrp_is_alive_state_disconnected).
 */
export function shellGetEnvelope(ctx: EnvelopeContext, shellId: string): BuiltEnvelope {
  return buildEnvelope({ ...ctx, resourceUri: SHELL_RESOURCE_URI }, { action: 'Get', shellId, body: '' });
}

/** The rsp:Shell of a GetResponse of the shell resource. */
export function parseShellGet(r: ParsedResponse): ShellInfo {
  const shell = child(r.body, 'Shell');
  if (!shell)
    throw new ProtocolError('Expected an rsp:Shell in the GetResponse', {
      code: 'PSRP_WSMAN_INVALID_ENVELOPE',
      element: 'Shell',
    });
  return shellInfo(shell);
}

function shellInfo(s: XmlElement): ShellInfo {
  const text = (name: string): string | undefined => child(s, name)?.text.trim() || undefined;
  const shellId = text('ShellId');
  if (!shellId)
    throw new ProtocolError('A shell without a ShellId', {
      code: 'PSRP_WSMAN_INVALID_ENVELOPE',
      element: 'ShellId',
    });
  const resourceUri = text('ResourceUri') ?? '';
  return {
    shellId,
    resourceUri,
    configurationName: resourceUri.slice(resourceUri.lastIndexOf('/') + 1),
    owner: text('Owner'),
    clientIp: text('ClientIP'),
    state: text('State'),
    idleTimeout: text('IdleTimeOut'),
    shellRunTime: text('ShellRunTime'),
    shellInactivity: text('ShellInactivity'),
    name: text('Name'),
  };
}

/** The command ids in an EnumerateResponse of a shell's commands. */
export function parseCommandEnumeration(r: ParsedResponse): string[] {
  return descendants(items(r), 'CommandId')
    .map((c) => c.text.trim())
    .filter((id) => id !== '');
}
