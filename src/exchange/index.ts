/**
 * psrp/exchange: Exchange Remote PowerShell helpers built only on the public API (`../index.js`).
 */
export { parseCommandLine } from './command-line.js';
export type {
  CommandLineArgument,
  CommandLineValue,
  ParsedCommand,
  ParseCommandLineOptions,
} from './command-line.js';
export {
  formatByteQuantifiedSize,
  isByteQuantifiedSizeText,
  parseByteQuantifiedSize,
  parseUnlimitedSize,
} from './byte-quantified-size.js';
export type { ByteQuantifiedSize, Unlimited } from './byte-quantified-size.js';
export { parseEnhancedTimeSpan } from './enhanced-time-span.js';
export type { EnhancedTimeSpan } from './enhanced-time-span.js';
export { connectExchange, exchangeUri, ExchangeSession } from './exchange-session.js';
export type { ConnectExchangeOptions, ExchangeParameters } from './exchange-session.js';
export { toExchangeValues } from './exchange-values.js';
export type { ADObjectIdValue } from './exchange-values.js';
export { ExchangeSessionPool } from './exchange-session-pool.js';
export type {
  ExchangeSessionPoolCounters,
  ExchangeSessionPoolEvents,
  ExchangeSessionPoolThrottledEvent,
  ExchangeSessionPoolLimits,
  ExchangeSessionPoolOptions,
} from './exchange-session-pool.js';
export type { ExchangeCommandSession } from './exchange-command-session.js';
export {
  APP_ONLY_ANCHOR_MAILBOX,
  connectExchangeOnline,
  ExchangeOnlineSession,
} from './exchange-online-session.js';
export type {
  ConnectExchangeOnlineOptions,
  ExchangeOnlineAccessToken,
  ExchangeOnlineRunOptions,
  ExchangeOnlineThrottleEvent,
  ExchangeOnlineTokenCredential,
  ExchangeOnlineTokenProvider,
} from './exchange-online-session.js';
export {
  canonicalV2Cmdlet,
  EXCHANGE_ONLINE_CLOUDS,
  EXCHANGE_ONLINE_V2_CMDLETS,
  exchangeOnlineEndpoint,
} from './exchange-online-endpoints.js';
export type { ExchangeOnlineCloud, ExchangeOnlineEndpoint } from './exchange-online-endpoints.js';
export { ExchangeOnlineError, parseExchangeOnlineErrorBody } from './exchange-online-errors.js';
export type { ExchangeOnlineErrorBody, ExchangeOnlineErrorDetails } from './exchange-online-errors.js';
export { fromExchangeOnlineJson } from './exchange-online-values.js';
export { backoffDelay, retryAfterMs } from './backoff.js';
export type { BackoffOptions } from './backoff.js';
export {
  COMMON_PARAMETERS,
  getCommandInfo,
  mergeShowCommandInfo,
  parseCommandMetadata,
} from './command-info.js';
export type {
  CommandInfo,
  CommandSource,
  ParameterInfo,
  ParameterSetEntry,
  ParameterSetInfo,
} from './command-info.js';
export {
  camelName,
  generateCommandModule,
  grantedCommands,
  SESSION_COMMANDS,
  tsOutputType,
  tsType,
} from './generate-commands.js';
export type { GenerateCommandsOptions } from './generate-commands.js';
export { diagnose } from './diagnose/index.js';
export type { CheckId, CheckStatus, DiagnoseOptions, Diagnosis, DiagnosisCheck } from './diagnose/index.js';
