/**
 * psrp public surface: explicit named re-exports only (no `export *`), so that every exported
 * symbol is a deliberate part of the API.
 */
export {
  PsrpError,
  InvalidArgumentError,
  ProtocolError,
  InvalidStateError,
  TransportError,
  TimeoutError,
  AuthenticationError,
  WSManFaultError,
  PipelineFailedError,
  RunspacePoolBrokenError,
  FileTransferError,
} from './errors.js';
export type {
  PsrpErrorCode,
  PsrpErrorOptions,
  ProtocolErrorDetails,
  WSManFaultDetails,
  ErrorRecordLike,
  TimeoutStage,
} from './errors.js';

// CLIXML (MS-PSRP 2.2.5)
export {
  deserializeClixml,
  deserializeObject,
  serializeClixml,
  serializeObject,
  createPSObject,
  psEnum,
  psList,
  psMeta,
  PS_META,
  PSDateTime,
  PSDecimal,
  PSDuration,
  PSEnumValue,
  PSSecureString,
  PSTypedValue,
  ps,
} from './clixml/index.js';
export type {
  DeserializeOptions,
  SerializeOptions,
  PSObjectMeta,
  ContainerKind,
  CreatePSObjectOptions,
  PrimitiveTag,
  SecureStringCipher,
} from './clixml/index.js';

// Client
export { RunspacePool } from './client/runspace-pool.js';
export { anonymousIdentifyRequest, identify } from './client/identify.js';
export { offeredSchemes } from './http/authenticator.js';
export type { IdentifyOptions, IdentifyResult } from './client/identify.js';
export type { RunspacePoolOptions } from './client/runspace-pool.js';
export type { ShellInfo } from './client/runspace-pool.js';
export { PowerShell } from './client/powershell.js';
export type { InvokeResult, PipelineRecord, RunOptions } from './client/powershell.js';
export { jsonSafe } from './client/json-safe.js';
export { traceTo, type TraceOptions } from './client/trace.js';
export type { TracedPsrpMessage, WSManMessageEvent } from './client/trace-messages.js';
export type { PSHost, PSHostChoice, PSHostCredential } from './client/host.js';
export { WSManConnection } from './client/wsman-connection.js';
export { WinRSShell, WinRSProcess } from './client/winrs-shell.js';
export { executePs, executeCmd } from './client/one-shot.js';
export type { ExecutePsOptions, ExecutePsResult, ExecuteCmdResult } from './client/one-shot.js';
export type { FileTransferOptions, FileTransferProgress, FileTransferResult } from './client/file-transfer.js';
export type {
  WinRSShellOptions,
  WinRSStartOptions,
  WinRSRunOptions,
  WinRSResult,
  WinRSOutputChunk,
  WinRSReceived,
  WinRSSignal,
} from './client/winrs-shell.js';
export type { WinRSShellCreateOptions } from './client/winrs-shell.js';
export { quoteWindowsArgument, joinWindowsArguments, splitWindowsCommandLine } from './client/winrs-shell.js';
export { OutOfProcConnection, findPwsh } from './client/outofproc-connection.js';
export type { OutOfProcOptions, OutOfProcStreamOptions } from './client/outofproc-connection.js';
export { SshConnection, sshFingerprint } from './client/ssh-connection.js';
export type { SshOptions, SshPrompt } from './client/ssh-connection.js';
export type { WSManConnectionOptions } from './client/wsman-connection.js';
export type {
  PsrpConnection,
  PsrpStream,
  ReceivedChunk,
  ConnectionOperationOptions,
} from './client/psrp-connection.js';
export { HttpTransport } from './http/http-transport.js';
export type { HttpTransportOptions, BasicCredentials } from './http/http-transport.js';
export { CONNECTION_DEFAULTS } from './http/transport-options.js';
export { caList } from './http/ca-list.js';
export { BasicAuthenticator } from './http/basic-authenticator.js';
export { CertificateAuthenticator, WSMAN_HTTPS_MUTUAL } from './http/certificate-authenticator.js';
export type { CertificateCredentials } from './http/certificate-authenticator.js';
export { TokenAuthenticator, BASIC_AUTH_TO_OAUTH } from './http/token-authenticator.js';
export type { TokenCredentials } from './http/token-authenticator.js';
export type {
  Authenticator,
  AuthRequest,
  AuthChallenge,
  AuthResult,
  ClientTlsCredentials,
} from './http/authenticator.js';
export type { WSManTransport, WsmanTransport } from './http/wsman-transport.js';

// Authentication (docs/auth.md)
export type { AuthOption, KerberosTarget } from './http/auth-options.js';
export type { MaybePromise, MessageSealer, SealedMessage, SealingContext } from './http/authenticator.js';
export { NtlmAuthenticator } from './http/ntlm-authenticator.js';
export type { NtlmAuthenticatorOptions } from './http/ntlm-authenticator.js';
export { KerberosAuthenticator } from './http/kerberos-authenticator.js';
export type { KerberosAuthenticatorOptions, GssClient, GssModule } from './http/kerberos-authenticator.js';
export { kinit } from './http/kinit.js';
export type { KinitOptions, KinitResult } from './http/kinit.js';
export { NegotiateAuthenticator } from './http/negotiate-authenticator.js';
export type { NegotiateAuthenticatorOptions } from './http/negotiate-authenticator.js';
export { tlsServerEndPoint } from './auth/channel-bindings.js';
export { ErrorRecord } from './psrp/records.js';
export type {
  ErrorCategoryInfo,
  InvocationInfo,
  InformationalRecord,
  InformationRecord,
  ProgressRecord,
} from './psrp/records.js';
export type { RunspacePoolState, PipelineState } from './psrp/runspace-pool-core.js';
export type { CommandMetadataFilter, CommandTypeName } from './psrp/messages.js';
export { randomIds, sequentialIds } from './internal/ids.js';
export type { IdSource } from './internal/ids.js';
