/**
 * Errors of the Exchange Online admin API, typed. The error body is OData's
 * `{"error":{"code","message","details":[{"code","message":"<id>|<ExceptionType>|<text>"}]}}`
 * (undocumented; seen by github.com/terraprovider/go-exoscc, github.com/DrollRobot/azure-auth and
 * michev.info post 7180): the exception type is the second `|` field of the first detail.
 * No error ever carries the bearer token or the Authorization header.
 */
import { PsrpError, type PsrpErrorOptions } from '../index.js';

export interface ExchangeOnlineErrorDetails {
  /** HTTP status of the answer (undefined for errors raised before any request). */
  readonly statusCode?: number | undefined;
  /** The Exchange exception type (`Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException`). */
  readonly exceptionType?: string | undefined;
  /** OData `error.code` (`NotFound`, `BadRequest`…) when the server sent one. */
  readonly errorCode?: string | undefined;
  /** The cmdlet the request ran. */
  readonly cmdlet?: string | undefined;
  /** The server's request id (`request-id` header), for a support case. */
  readonly requestId?: string | undefined;
}

export class ExchangeOnlineError extends PsrpError {
  override name = 'ExchangeOnlineError';
  readonly statusCode: number | undefined;
  readonly exceptionType: string | undefined;
  readonly errorCode: string | undefined;
  readonly cmdlet: string | undefined;
  readonly requestId: string | undefined;

  constructor(message: string, options: PsrpErrorOptions & ExchangeOnlineErrorDetails = {}) {
    super(message, { ...options, code: options.code ?? 'PSRP_EXO_HTTP' });
    this.statusCode = options.statusCode;
    this.exceptionType = options.exceptionType;
    this.errorCode = options.errorCode;
    this.cmdlet = options.cmdlet;
    this.requestId = options.requestId;
  }
}

/** What an OData error body says: the message, OData code and Exchange exception type. */
export interface ExchangeOnlineErrorBody {
  readonly message: string | undefined;
  readonly errorCode: string | undefined;
  readonly exceptionType: string | undefined;
}

/** Reads an OData error body leniently; undefined fields when the body is not one. */
export function parseExchangeOnlineErrorBody(text: string): ExchangeOnlineErrorBody {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { message: undefined, errorCode: undefined, exceptionType: undefined };
  }
  const error = (json as { error?: unknown } | null)?.error;
  if (error === null || typeof error !== 'object')
    return { message: undefined, errorCode: undefined, exceptionType: undefined };
  const e = error as { code?: unknown; message?: unknown; details?: unknown };
  let message = typeof e.message === 'string' ? e.message : undefined;
  let exceptionType: string | undefined;
  const first: unknown = Array.isArray(e.details) ? e.details[0] : undefined;
  const detail =
    first !== null && typeof first === 'object' ? (first as { message?: unknown }).message : undefined;
  if (typeof detail === 'string') {
    // `<id>|<ExceptionType>|<text>`; the text itself may contain `|`.
    const parts = detail.split('|');
    if (parts.length >= 3 && /^[\w.+`]+$/.test(parts[1]!)) {
      exceptionType = parts[1];
      message = parts.slice(2).join('|');
    } else message ??= detail;
  }
  return { message, errorCode: typeof e.code === 'string' ? e.code : undefined, exceptionType };
}
