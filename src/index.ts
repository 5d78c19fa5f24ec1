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
  AuthenticationError,
  WSManFaultError,
  PipelineFailedError,
  RunspacePoolBrokenError,
} from './errors.js';
export type { PsrpErrorOptions, ProtocolErrorDetails, WSManFaultDetails, ErrorRecordLike } from './errors.js';
