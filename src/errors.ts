/**
 * Every error psrp throws. A leaf module: it imports nothing, so every layer can throw without
 * import cycles.
 *
 * The stable contract is `error.code` (documented in docs/errors.md, checked by a test that greps
 * src/ for codes); the classes are a convenience for `instanceof`. Each class carries structured
 * fields rather than facts buried in the message. Secrets (passwords, Authorization headers,
 * session keys) never go into a message or a field.
 */

/**
 * Every error `code` documented in docs/errors.md (a test keeps the two equal). `PsrpError.code` is
 * `PsrpErrorCode | (string & {})`: editors complete the documented codes, and a code added later
 * still type-checks as a string.
 */
export type PsrpErrorCode =
  | 'PSRP_AUTH_FAILED'
  | 'PSRP_CLIXML_INVALID'
  | 'PSRP_CLIXML_TOO_DEEP'
  | 'PSRP_CLIXML_TOO_LARGE'
  | 'PSRP_COMMAND_LINE_NEEDS_LANGUAGE'
  | 'PSRP_COMMAND_LINE_SYNTAX'
  | 'PSRP_CONNECTION_FAILED'
  | 'PSRP_ENCRYPTION_INVALID'
  | 'PSRP_ERROR'
  | 'PSRP_EXO_CMDLET_ERROR'
  | 'PSRP_EXO_COMMAND_LINE_UNSUPPORTED'
  | 'PSRP_EXO_HTTP'
  | 'PSRP_EXO_NOT_ON_V2'
  | 'PSRP_EXO_REDIRECT_REFUSED'
  | 'PSRP_EXO_RESPONSE_INVALID'
  | 'PSRP_EXO_THROTTLED'
  | 'PSRP_EXO_TOKEN'
  | 'PSRP_EXO_UNAUTHORIZED'
  | 'PSRP_EXO_UNKNOWN_CMDLET'
  | 'PSRP_FILE_EXISTS'
  | 'PSRP_FILE_HASH_MISMATCH'
  | 'PSRP_FILE_IS_DIRECTORY'
  | 'PSRP_FILE_NOT_FOUND'
  | 'PSRP_FILE_REMOTE_WARNING'
  | 'PSRP_FILE_TRANSFER_FAILED'
  | 'PSRP_FRAGMENT_INVALID'
  | 'PSRP_FRAGMENT_TRUNCATED'
  | 'PSRP_HTTP_BAD_GATEWAY'
  | 'PSRP_HTTP_BAD_REQUEST'
  | 'PSRP_HTTP_FORBIDDEN'
  | 'PSRP_HTTP_GATEWAY_TIMEOUT'
  | 'PSRP_HTTP_NOT_FOUND'
  | 'PSRP_HTTP_RESPONSE_TOO_LARGE'
  | 'PSRP_HTTP_SERVER_ERROR'
  | 'PSRP_HTTP_STATUS'
  | 'PSRP_HTTP_UNAVAILABLE'
  | 'PSRP_INSECURE_BASIC'
  | 'PSRP_INVALID_ARGUMENT'
  | 'PSRP_INVALID_STATE'
  | 'PSRP_KERBEROS_BAD_PASSWORD'
  | 'PSRP_KERBEROS_CCACHE_INVALID'
  | 'PSRP_KERBEROS_CLOCK_SKEW'
  | 'PSRP_KERBEROS_FAILED'
  | 'PSRP_KERBEROS_KDC_UNREACHABLE'
  | 'PSRP_KERBEROS_MESSAGE_INVALID'
  | 'PSRP_KERBEROS_MUTUAL_AUTH_FAILED'
  | 'PSRP_KERBEROS_NO_CREDENTIALS'
  | 'PSRP_KERBEROS_PASSWORD_EXPIRED'
  | 'PSRP_KERBEROS_SPN_NOT_FOUND'
  | 'PSRP_KERBEROS_TICKET_NOT_FOUND'
  | 'PSRP_KERBEROS_UNAVAILABLE'
  | 'PSRP_KERBEROS_UNKNOWN_USER'
  | 'PSRP_KERBEROS_UNSEAL_FAILED'
  | 'PSRP_KERBEROS_UNSUPPORTED'
  | 'PSRP_KERBEROS_WRAP_INVALID'
  | 'PSRP_LAB_GSS_FAILED'
  | 'PSRP_LAB_OPENSSL_FAILED'
  | 'PSRP_LAB_PROXY_FAILED'
  | 'PSRP_LAB_SSH_FAILED'
  | 'PSRP_MESSAGE_INVALID'
  | 'PSRP_MESSAGE_TOO_LARGE'
  | 'PSRP_MESSAGE_UNEXPECTED'
  | 'PSRP_MESSAGE_UNKNOWN_TYPE'
  | 'PSRP_NOT_SUPPORTED'
  | 'PSRP_NTLM_MESSAGE_INVALID'
  | 'PSRP_NTLM_NEGOTIATION_FAILED'
  | 'PSRP_NTLM_SIGNATURE_INVALID'
  | 'PSRP_OUTOFPROC_INVALID'
  | 'PSRP_OUTOFPROC_TOO_LARGE'
  | 'PSRP_PIPELINE_ENDED_WITHOUT_STATE'
  | 'PSRP_PIPELINE_ERROR_RECORD'
  | 'PSRP_PIPELINE_FAILED'
  | 'PSRP_PIPELINE_STOPPED'
  | 'PSRP_POOL_CLOSED'
  | 'PSRP_PROCESS_EXITED'
  | 'PSRP_PROTOCOL_ERROR'
  | 'PSRP_PROXY_AUTH_REQUIRED'
  | 'PSRP_PROXY_FAILED'
  | 'PSRP_PWSH_NOT_FOUND'
  | 'PSRP_REDIRECT_INSECURE'
  | 'PSRP_REDIRECT_INVALID'
  | 'PSRP_REDIRECT_NOT_ALLOWED'
  | 'PSRP_RUNSPACE_POOL_BROKEN'
  | 'PSRP_SECURE_STRING_NO_KEY'
  | 'PSRP_SESSION_KEY_INVALID'
  | 'PSRP_SPNEGO_INVALID'
  | 'PSRP_SPNEGO_MIC_INVALID'
  | 'PSRP_SPNEGO_REJECTED'
  | 'PSRP_SSH_AUTH_FAILED'
  | 'PSRP_SSH_HOST_KEY_MISMATCH'
  | 'PSRP_SSH_HOST_KEY_UNKNOWN'
  | 'PSRP_SSH_KEY_INVALID'
  | 'PSRP_SSH_SUBSYSTEM_FAILED'
  | 'PSRP_SSH_UNAVAILABLE'
  | 'PSRP_TIMEOUT'
  | 'PSRP_TLS_EXPIRED'
  | 'PSRP_TLS_HANDSHAKE_FAILED'
  | 'PSRP_TLS_NAME_MISMATCH'
  | 'PSRP_TLS_UNTRUSTED'
  | 'PSRP_TOO_MANY_REDIRECTS'
  | 'PSRP_TRANSPORT_CLOSED'
  | 'PSRP_TRANSPORT_ERROR'
  | 'PSRP_WSMAN_ACCESS_DENIED'
  | 'PSRP_WSMAN_COMMAND_QUOTA_EXCEEDED'
  | 'PSRP_WSMAN_FAULT'
  | 'PSRP_WSMAN_INVALID_ENVELOPE'
  | 'PSRP_WSMAN_OPERATION_TIMEOUT'
  | 'PSRP_WSMAN_QUOTA_EXCEEDED'
  | 'PSRP_WSMAN_RELATES_TO_MISMATCH'
  | 'PSRP_WSMAN_RESOURCE_NOT_FOUND'
  | 'PSRP_WSMAN_SHELL_NOT_FOUND'
  | 'PSRP_XML_FORBIDDEN'
  | 'PSRP_XML_MALFORMED'
  | 'PSRP_XML_TOO_DEEP'
  | 'PSRP_XML_TOO_LARGE';

/** Options accepted by every psrp error: the standard `cause` plus the stable `code`. */
export interface PsrpErrorOptions extends ErrorOptions {
  readonly code?: string;
}

/** Base class of every error thrown by psrp. */
export class PsrpError extends Error {
  override name = 'PsrpError';
  /** Stable, documented machine-readable code (SCREAMING_SNAKE, prefix `PSRP_`): see {@link PsrpErrorCode}. */
  readonly code: PsrpErrorCode | (string & {});

  constructor(message: string, options: PsrpErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = options.code ?? 'PSRP_ERROR';
  }
}

/** Bad options or arguments given by the caller; thrown synchronously where they are given. */
export class InvalidArgumentError extends PsrpError {
  override name = 'InvalidArgumentError';
  constructor(message: string, options: PsrpErrorOptions = {}) {
    super(message, { ...options, code: options.code ?? 'PSRP_INVALID_ARGUMENT' });
  }
}

/** Location details of a protocol error: which message/fragment/element was being decoded. */
export interface ProtocolErrorDetails {
  /** MS-PSRP 2.2.1 message type (numeric) when known. */
  readonly messageType?: number;
  readonly objectId?: bigint;
  readonly fragmentId?: bigint;
  /** Byte or character offset in the input when known. */
  readonly offset?: number;
  /** XML element or field name when known. */
  readonly element?: string;
}

/**
 * Malformed, truncated, hostile or unexpected protocol data: XML, CLIXML, PSRP fragments and
 * messages, WS-Man envelopes, out-of-process packets.
 */
export class ProtocolError extends PsrpError {
  override name = 'ProtocolError';
  readonly messageType: number | undefined;
  readonly objectId: bigint | undefined;
  readonly fragmentId: bigint | undefined;
  readonly offset: number | undefined;
  readonly element: string | undefined;

  constructor(message: string, options: PsrpErrorOptions & ProtocolErrorDetails = {}) {
    super(message, { ...options, code: options.code ?? 'PSRP_PROTOCOL_ERROR' });
    this.messageType = options.messageType;
    this.objectId = options.objectId;
    this.fragmentId = options.fragmentId;
    this.offset = options.offset;
    this.element = options.element;
  }
}

/** An operation was attempted in a state that does not allow it (psrpcore `_InvalidState`). */
export class InvalidStateError extends PsrpError {
  override name = 'InvalidStateError';
  readonly action: string;
  readonly currentState: string;
  readonly expectedStates: readonly string[];

  constructor(action: string, currentState: string, expectedStates: readonly string[], options: PsrpErrorOptions = {}) {
    super(
      `Cannot ${action}: state is ${currentState}, expected ${expectedStates.length === 1 ? '' : 'one of '}${expectedStates.join(', ')}`,
      { ...options, code: options.code ?? 'PSRP_INVALID_STATE' },
    );
    this.action = action;
    this.currentState = currentState;
    this.expectedStates = expectedStates;
  }
}

/** HTTP-level failure: connection, TLS, timeout, or an HTTP status that is not a SOAP fault. */
export class TransportError extends PsrpError {
  override name = 'TransportError';
  /** HTTP status when a response was received. */
  readonly statusCode: number | undefined;
  /** A short, secret-free excerpt of the response body (at most a few hundred characters). */
  readonly responseExcerpt: string | undefined;
  /** A plain-words hint for the symptom (for example "Require SSL is set on the /PowerShell vdir"). */
  readonly hint: string | undefined;

  constructor(
    message: string,
    options: PsrpErrorOptions & { statusCode?: number; responseExcerpt?: string; hint?: string } = {},
  ) {
    super(message, { ...options, code: options.code ?? 'PSRP_TRANSPORT_ERROR' });
    this.statusCode = options.statusCode;
    this.responseExcerpt = options.responseExcerpt;
    this.hint = options.hint;
  }
}

/** Where a timeout struck: opening a TCP connection, the TLS handshake, an HTTP request, a Receive long poll, a cleanup request (Signal/Delete), or the caller's whole `open()` / `invoke()` budget. */
export type TimeoutStage = 'connect' | 'tls' | 'request' | 'receive' | 'cleanup' | 'open' | 'invoke';

/** A time limit passed (`code` `PSRP_TIMEOUT`); `stage` and `url` say which one and where. */
export class TimeoutError extends TransportError {
  override name = 'TimeoutError';
  readonly stage: TimeoutStage;
  /** Origin and path of the endpoint (no query, no credentials), when known. */
  readonly url: string | undefined;
  /** The limit that passed, in milliseconds. */
  readonly timeoutMs: number | undefined;

  constructor(
    message: string,
    options: PsrpErrorOptions & { stage: TimeoutStage; url?: string | undefined; timeoutMs?: number; hint?: string },
  ) {
    super(message, { ...options, code: 'PSRP_TIMEOUT' });
    this.stage = options.stage;
    this.url = options.url;
    this.timeoutMs = options.timeoutMs;
  }
}

/** Authentication failed or could not be attempted. */
export class AuthenticationError extends PsrpError {
  override name = 'AuthenticationError';
  /** `basic`, `ntlm`, `negotiate`, `kerberos`, `certificate`, ... */
  readonly mechanism: string;
  readonly statusCode: number | undefined;
  readonly hint: string | undefined;

  constructor(
    message: string,
    options: PsrpErrorOptions & { mechanism: string; statusCode?: number; hint?: string },
  ) {
    super(message, { ...options, code: options.code ?? 'PSRP_AUTH_FAILED' });
    this.mechanism = options.mechanism;
    this.statusCode = options.statusCode;
    this.hint = options.hint;
  }
}

/** Fields of a WS-Management SOAP fault (MS-WSMV 2.2.4.43 WSManFault). */
export interface WSManFaultDetails {
  /** SOAP `s:Code/s:Value`, for example `s:Receiver`. */
  readonly faultCode?: string;
  /** SOAP `s:Subcode/s:Value`, for example `w:TimedOut`. */
  readonly subcode?: string;
  /** SOAP `s:Reason/s:Text`. */
  readonly reason?: string;
  /** `WSManFault/@Code` as a number (for example 2150858793). */
  readonly wsmanFaultCode?: number;
  /** `WSManFault/@Machine`. */
  readonly machine?: string;
  /** `WSManFault/Message` text (including ProviderFault text). */
  readonly wsmanMessage?: string;
  /** The SOAP action of the request that faulted. */
  readonly action?: string;
}

/** The server answered with a SOAP fault. Known fault codes map to specific `code` values. */
export class WSManFaultError extends PsrpError {
  override name = 'WSManFaultError';
  readonly faultCode: string | undefined;
  readonly subcode: string | undefined;
  readonly reason: string | undefined;
  readonly wsmanFaultCode: number | undefined;
  readonly machine: string | undefined;
  readonly wsmanMessage: string | undefined;
  readonly action: string | undefined;

  constructor(message: string, options: PsrpErrorOptions & WSManFaultDetails = {}) {
    super(message, { ...options, code: options.code ?? 'PSRP_WSMAN_FAULT' });
    this.faultCode = options.faultCode;
    this.subcode = options.subcode;
    this.reason = options.reason;
    this.wsmanFaultCode = options.wsmanFaultCode;
    this.machine = options.machine;
    this.wsmanMessage = options.wsmanMessage;
    this.action = options.action;
  }
}

/** Why an error happened, as PowerShell's CategoryInfo (MS-PSRP 2.2.3.15 `ErrorCategory_*`). */
export interface ErrorCategoryInfo {
  /** The ErrorCategory name (MS-PSRP 2.2.3.9), e.g. `ObjectNotFound`. */
  readonly category: string;
  readonly categoryValue: number;
  readonly activity: string | undefined;
  readonly reason: string | undefined;
  readonly targetName: string | undefined;
  readonly targetType: string | undefined;
  /** PowerShell's one-line rendering, e.g. `ObjectNotFound: (x:String) [Get-Item], ItemNotFoundException`. */
  readonly message: string | undefined;
}

/**
 * Where the failing command was invoked: the MS-PSRP 2.2.3.15.1 `InvocationInfo_*` extended
 * properties without their prefix, present when the server sent them (others may appear too).
 */
export interface InvocationInfo {
  /** The name the command was invoked by (an alias if one was used). */
  readonly InvocationName?: string;
  readonly BoundParameters?: unknown;
  readonly UnboundArguments?: unknown;
  readonly CommandOrigin?: unknown;
  readonly ExpectingInput?: boolean;
  /** The script line that contained the invocation. */
  readonly Line?: string;
  readonly OffsetInLine?: number;
  /** `At line:1 char:1` and the line, underlined. */
  readonly PositionMessage?: string;
  readonly ScriptName?: string;
  readonly ScriptLineNumber?: number;
  readonly HistoryId?: number | bigint;
  readonly PipelineLength?: number;
  readonly PipelinePosition?: number;
  readonly PipelineIterationInfo?: unknown;
  readonly [property: string]: unknown;
}

/**
 * A PowerShell ErrorRecord (MS-PSRP 2.2.3.15) as errors carry it (`errorRecord`) and as `ErrorRecord`
 * implements it: what failed, why and where. Declared here so that errors.ts stays a leaf.
 */
export interface ErrorRecordLike {
  /** ErrorDetails' message when the server set one, else the exception's. */
  readonly message: string;
  /** `FullyQualifiedErrorId`, e.g. `PathNotFound,Microsoft.PowerShell.Commands.GetItemCommand`. */
  readonly fullyQualifiedErrorId: string | undefined;
  readonly categoryInfo: ErrorCategoryInfo;
  /** The object the command was working on (`TargetObject`), as deserialized. */
  readonly targetObject: unknown;
  /** The exception: its .NET type names (most specific first) and message. */
  readonly exception: { readonly typeNames: readonly string[]; readonly message: string | undefined } | undefined;
  /** `ErrorDetails.RecommendedAction`. */
  readonly recommendedAction: string | undefined;
  /** The script stack trace (`ErrorDetails_ScriptStackTrace`), when the server sent it. */
  readonly scriptStackTrace: string | undefined;
  readonly invocationInfo: InvocationInfo | undefined;
  /** The command that failed, when known (`Get-Item`). */
  readonly commandName: string | undefined;
  /** The deserialized record as received. */
  readonly raw: unknown;
  /** Like PowerShell's concise view. */
  toString(): string;
}

/** A pipeline ended in the Failed state, or the runspace pool broke, with the server's ErrorRecord. */
export class PipelineFailedError extends PsrpError {
  override name = 'PipelineFailedError';
  readonly errorRecord: ErrorRecordLike | undefined;

  constructor(message: string, options: PsrpErrorOptions & { errorRecord?: ErrorRecordLike } = {}) {
    super(message, { ...options, code: options.code ?? 'PSRP_PIPELINE_FAILED' });
    this.errorRecord = options.errorRecord;
  }
}

/** The runspace pool was broken by the server or could not be opened. */
export class RunspacePoolBrokenError extends PsrpError {
  override name = 'RunspacePoolBrokenError';
  readonly errorRecord: ErrorRecordLike | undefined;

  constructor(message: string, options: PsrpErrorOptions & { errorRecord?: ErrorRecordLike } = {}) {
    super(message, { ...options, code: options.code ?? 'PSRP_RUNSPACE_POOL_BROKEN' });
    this.errorRecord = options.errorRecord;
  }
}

/**
 * A file transfer over PSRP (`RunspacePool.copyTo` / `copyFrom`) failed: `PSRP_FILE_NOT_FOUND`,
 * `PSRP_FILE_IS_DIRECTORY`, `PSRP_FILE_EXISTS`, `PSRP_FILE_HASH_MISMATCH`,
 * `PSRP_FILE_REMOTE_WARNING`, or `PSRP_NOT_SUPPORTED` (the endpoint is not FullLanguage).
 */
export class FileTransferError extends PsrpError {
  override name = 'FileTransferError';
  /** The path concerned, and on which side it is. */
  readonly path: string | undefined;
  readonly side: 'local' | 'remote' | undefined;

  constructor(message: string, options: PsrpErrorOptions & { path?: string; side?: 'local' | 'remote' } = {}) {
    super(message, { ...options, code: options.code ?? 'PSRP_FILE_TRANSFER_FAILED' });
    this.path = options.path;
    this.side = options.side;
  }
}
