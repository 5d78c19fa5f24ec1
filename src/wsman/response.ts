// MS-WSMV 3.1.4.5 CreateResponse, 3.1.4.11 CommandResponse, 2.2.4.9/2.2.4.40 ReceiveResponse
// (rsp:Stream, rsp:CommandState), and SOAP faults (2.2.4.43).
import { ProtocolError } from '../errors.js';
import { decodeBase64 } from '../internal/base64.js';
import { attr, child, descendants, parseXmlTree, path, type XmlElement } from '../internal/xml-tree.js';
import { faultElement, faultToError } from './fault.js';
import { CommandState } from './namespaces.js';

export interface ParsedResponse {
  readonly root: XmlElement;
  readonly body: XmlElement;
  readonly action: string | undefined;
  readonly relatesTo: string | undefined;
}

/**
 * Parses a response envelope; a SOAP Fault is thrown as WSManFaultError, a RelatesTo that does not
 * match the request's MessageID as ProtocolError `PSRP_WSMAN_RELATES_TO_MISMATCH`.
 */
export function parseResponse(xml: string, request?: { readonly messageId: string; readonly action: string }): ParsedResponse {
  let root: XmlElement;
  try {
    root = parseXmlTree(xml, { maxLength: 64 * 1024 * 1024, maxDepth: 64 });
  } catch (e) {
    const excerpt = xml.slice(0, 120).replace(/\s+/g, ' ');
    throw new ProtocolError(`The server's answer is not a WS-Management envelope: ${(e as Error).message}. It began: ${excerpt}`, {
      code: (e as ProtocolError).code === 'PSRP_XML_FORBIDDEN' ? 'PSRP_XML_FORBIDDEN' : 'PSRP_WSMAN_INVALID_ENVELOPE',
      cause: e,
    });
  }
  if (root.name !== 'Envelope') throw new ProtocolError(`Expected a SOAP Envelope, got <${root.name}>`, { code: 'PSRP_WSMAN_INVALID_ENVELOPE' });
  const body = child(root, 'Body');
  if (!body) throw new ProtocolError('SOAP Envelope without a Body', { code: 'PSRP_WSMAN_INVALID_ENVELOPE' });
  const fault = faultElement(root);
  if (fault) throw faultToError(fault, request?.action);
  const relatesTo = path(root, 'Header', 'RelatesTo')?.text.trim();
  if (request && relatesTo !== undefined && relatesTo.toLowerCase() !== request.messageId.toLowerCase()) {
    throw new ProtocolError(`Response relates to ${relatesTo}, not to request ${request.messageId}`, { code: 'PSRP_WSMAN_RELATES_TO_MISMATCH' });
  }
  return { root, body, action: path(root, 'Header', 'Action')?.text.trim(), relatesTo };
}

export interface CreateShellResult {
  readonly shellId: string;
  /** The server's effective idle timeout text (xs:duration), when given. */
  readonly idleTimeout: string | undefined;
  readonly maxIdleTimeout: string | undefined;
}

export function parseCreateResponse(r: ParsedResponse): CreateShellResult {
  const selector = descendants(r.body, 'Selector').find((s) => attr(s, 'Name') === 'ShellId');
  const shell = child(r.body, 'Shell');
  const shellId = selector?.text.trim() ?? child(shell, 'ShellId')?.text.trim();
  if (!shellId) throw new ProtocolError('CreateResponse without a ShellId', { code: 'PSRP_WSMAN_INVALID_ENVELOPE' });
  return { shellId, idleTimeout: child(shell, 'IdleTimeOut')?.text.trim(), maxIdleTimeout: child(shell, 'MaxIdleTimeOut')?.text.trim() };
}

export function parseCommandResponse(r: ParsedResponse): string {
  const id = path(r.body, 'CommandResponse', 'CommandId')?.text.trim();
  if (!id) throw new ProtocolError('CommandResponse without a CommandId', { code: 'PSRP_WSMAN_INVALID_ENVELOPE' });
  return id;
}

export interface ReceivedStream {
  readonly name: string;
  readonly commandId: string | undefined;
  readonly data: Uint8Array;
}

export interface ReceiveResult {
  readonly streams: readonly ReceivedStream[];
  /** `Done`, `Running` or `Pending` when the server sent a CommandState. */
  readonly commandState: 'Done' | 'Running' | 'Pending' | undefined;
  readonly exitCode: number | undefined;
}

export function parseReceiveResponse(r: ParsedResponse): ReceiveResult {
  const rr = child(r.body, 'ReceiveResponse');
  if (!rr) throw new ProtocolError('Expected a ReceiveResponse', { code: 'PSRP_WSMAN_INVALID_ENVELOPE' });
  const streams: ReceivedStream[] = [];
  for (const s of rr.children) {
    if (s.name !== 'Stream') continue;
    // Re-encoding checks a stream's base64 several times faster than a regular expression (issue 17).
    const data = decodeBase64(s.text, 'reencode');
    if (data === undefined) throw new ProtocolError('rsp:Stream content is not base64', { code: 'PSRP_WSMAN_INVALID_ENVELOPE' });
    streams.push({ name: attr(s, 'Name') ?? 'stdout', commandId: attr(s, 'CommandId'), data });
  }
  const cs = child(rr, 'CommandState');
  const state = attr(cs, 'State');
  const commandState = state === CommandState.Done ? 'Done' : state === CommandState.Running ? 'Running' : state === CommandState.Pending ? 'Pending' : undefined;
  const exit = child(cs, 'ExitCode')?.text.trim();
  return { streams, commandState, exitCode: exit !== undefined && /^-?\d+$/.test(exit) ? Number(exit) : undefined };
}

/** The server's PSRP fragments in a ConnectResponse (connectResponseXml), if any. */
export function parseConnectResponse(r: ParsedResponse): Uint8Array | undefined {
  const x = descendants(r.body, 'connectResponseXml')[0];
  if (!x) return undefined;
  const data = decodeBase64(x.text);
  if (data === undefined) throw new ProtocolError('connectResponseXml is not base64', { code: 'PSRP_WSMAN_INVALID_ENVELOPE' });
  return data;
}
