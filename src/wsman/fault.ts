// MS-WSMV 2.2.4.43 WSManFault / SOAP 1.2 Fault: parse into WSManFaultError with a stable code.
import { WSManFaultError } from '../errors.js';
import { attr, child, descendants, path, type XmlElement } from '../internal/xml-tree.js';

/** Well-known WSManFault codes (MS-WSMV 2.2.4.43 / Windows error codes). */
export const WSManFaultCode = {
  /** ERROR_WSMAN_OPERATION_TIMEDOUT: a Receive had nothing to return in OperationTimeout. */
  OperationTimeout: 2150858793,
  /** ERROR_WSMAN_INVALID_SELECTORS: the shell or command does not exist (expired, deleted, other back end). */
  InvalidSelectors: 2150858843,
  /** ERROR_WSMAN_RESOURCE_NOT_FOUND: no such resource URI (configuration) at this endpoint. */
  ResourceNotFound: 2150858811,
  /** ERROR_WSMAN_SCHEMA_VALIDATION_ERROR. */
  SchemaValidation: 2150858817,
  /** ERROR_WSMAN_INVALID_HEADER. */
  InvalidHeader: 2150858767,
  /** ERROR_WSMAN_QUOTA_LIMIT (a wsman:QuotaLimit fault, MS-WSMV 3.1.4.5.2.1). */
  QuotaLimit: 2150858815,
  /** ERROR_WSMAN_QUOTA_MAX_SHELLS: shells a user may open (winrs MaxShellsPerUser). */
  QuotaMaxShells: 2150859173,
  /** @deprecated misnamed: 2150859173 is ERROR_WSMAN_QUOTA_MAX_SHELLS; see QuotaMaxShellUsers. */
  QuotaMaxShellsPerUser: 2150859173,
  /** ERROR_WSMAN_QUOTA_MAX_OPERATIONS: concurrent operations per user. */
  QuotaMaxOperations: 2150859174,
  /** ERROR_WSMAN_QUOTA_MAX_SHELLUSERS: users with shells at once (MaxConcurrentUsers). */
  QuotaMaxShellUsers: 2150859179,
  /** ERROR_WSMAN_QUOTA_MAX_COMMANDS_PER_SHELL_PPQ: the plugin's MaxConcurrentCommandsPerShell. */
  QuotaMaxCommandsPerShell: 2150859241,
  AccessDenied: 5,
} as const;

interface Known {
  readonly code: string;
  readonly hint: string;
}

function classify(wsmanCode: number | undefined, subcode: string | undefined, text: string): Known {
  if (wsmanCode === WSManFaultCode.OperationTimeout || subcode?.endsWith('TimedOut')) {
    return { code: 'PSRP_WSMAN_OPERATION_TIMEOUT', hint: 'The operation timed out on the server (for Receive: no data yet).' };
  }
  if (wsmanCode === WSManFaultCode.InvalidSelectors || subcode?.endsWith('InvalidSelectors')) {
    return {
      code: 'PSRP_WSMAN_SHELL_NOT_FOUND',
      hint: 'The shell or command no longer exists on this server: it expired or was deleted, or the request reached another back end because the MS-WSMAN affinity cookie was lost.',
    };
  }
  // Before the per-user quotas: its text also says "exceeded ... quota".
  if (wsmanCode === WSManFaultCode.QuotaMaxCommandsPerShell || /concurrent commands per shell/i.test(text)) {
    return {
      code: 'PSRP_WSMAN_COMMAND_QUOTA_EXCEEDED',
      hint:
        'This shell holds as many commands as its MaxConcurrentCommandsPerShell quota allows (1000 by default on Windows); a command counts until it is released with Signal terminate or the shell is deleted. ' +
        'Open a new runspace pool (ExchangeSessionPool replaces the session), run fewer pipelines at once, or raise the quota on the server.',
    };
  }
  if (/maximum number of connections|concurrent shells|exceeded.*(quota|budget)|QuotaLimit/i.test(text) ||
      wsmanCode === WSManFaultCode.QuotaLimit ||
      (wsmanCode !== undefined && ((wsmanCode >= 2150859172 && wsmanCode <= 2150859180) || (wsmanCode >= 2150859236 && wsmanCode <= 2150859242)))) {
    return {
      code: 'PSRP_WSMAN_QUOTA_EXCEEDED',
      hint: 'A server quota for this user is reached (shells per user, concurrent operations or users; Exchange allows 18 shells per user by default): close unused sessions or retry later.',
    };
  }
  if (wsmanCode === WSManFaultCode.AccessDenied || wsmanCode === 0x80070005 || subcode?.endsWith('AccessDenied')) {
    return { code: 'PSRP_WSMAN_ACCESS_DENIED', hint: 'Access denied: the account may not use this endpoint (RBAC, RemotePowerShellEnabled, session configuration permissions).' };
  }
  if (wsmanCode === WSManFaultCode.ResourceNotFound || subcode?.endsWith('DestinationUnreachable')) {
    return { code: 'PSRP_WSMAN_RESOURCE_NOT_FOUND', hint: 'No such configuration at this URL: Microsoft.Exchange lives at https://<server>/PowerShell/, not /wsman.' };
  }
  return { code: 'PSRP_WSMAN_FAULT', hint: '' };
}

/** True when `root` is a SOAP envelope whose body is a Fault. */
export function faultElement(root: XmlElement): XmlElement | undefined {
  return path(root, 'Body', 'Fault');
}

/** Turns a SOAP Fault into a WSManFaultError (known codes get their own `code`). */
export function faultToError(fault: XmlElement, action?: string): WSManFaultError {
  const faultCode = path(fault, 'Code', 'Value')?.text.trim();
  const subcode = path(fault, 'Code', 'Subcode', 'Value')?.text.trim();
  const reason = path(fault, 'Reason', 'Text')?.text.trim();
  const wf = descendants(fault, 'WSManFault')[0];
  const codeAttr = attr(wf, 'Code');
  const wsmanFaultCode = codeAttr !== undefined && /^\d+$/.test(codeAttr) ? Number(codeAttr) : undefined;
  const machine = attr(wf, 'Machine');
  const msgEl = child(wf, 'Message');
  const wsmanMessage = msgEl ? collectText(msgEl).trim() : undefined;
  const text = `${reason ?? ''} ${wsmanMessage ?? ''}`;
  const known = classify(wsmanFaultCode, subcode, text);
  const main = wsmanMessage || reason || 'WS-Management fault';
  return new WSManFaultError(
    `${main}${wsmanFaultCode !== undefined ? ` (WSManFault ${wsmanFaultCode})` : ''}${known.hint ? `. ${known.hint}` : ''}`,
    {
      code: known.code,
      ...(faultCode !== undefined ? { faultCode } : {}),
      ...(subcode !== undefined ? { subcode } : {}),
      ...(reason !== undefined ? { reason } : {}),
      ...(wsmanFaultCode !== undefined ? { wsmanFaultCode } : {}),
      ...(machine !== undefined ? { machine } : {}),
      ...(wsmanMessage !== undefined ? { wsmanMessage } : {}),
      ...(action !== undefined ? { action } : {}),
    },
  );
}

function collectText(e: XmlElement): string {
  return e.text + e.children.map(collectText).join('');
}
