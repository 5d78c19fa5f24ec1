/**
 * The Exchange Online admin API's answers, read (docs/exchange-online.md): a page is OData JSON
 * (`value`, `@odata.nextLink`, `@adminapi.warnings`); an error is typed by its status and body
 * (401 token refused, 429 throttled, 403 with NUL bytes labelled gzip for an unknown or ungranted
 * cmdlet, OData error bodies with the cmdlet's exception type, anything else PSRP_EXO_HTTP).
 */
import { gunzipSync } from 'node:zlib';
import { ExchangeOnlineError, parseExchangeOnlineErrorBody } from './exchange-online-errors.js';

/** One page of a cmdlet's output. */
export interface ExchangeOnlinePage {
  readonly value: readonly unknown[];
  readonly warnings: readonly string[];
  readonly nextLink: string | undefined;
}

/** A 2xx answer's page. */
export function readExchangeOnlinePage(raw: Buffer, cmdlet: string, status: number): ExchangeOnlinePage {
  let json: unknown;
  try {
    json = JSON.parse(raw.toString('utf8'));
  } catch {
    throw new ExchangeOnlineError(`Exchange Online answered ${cmdlet} with something that is not JSON`, {
      code: 'PSRP_EXO_RESPONSE_INVALID',
      statusCode: status,
      cmdlet,
    });
  }
  const o = (json ?? {}) as Record<string, unknown>;
  const value = Array.isArray(o['value'])
    ? (o['value'] as unknown[])
    : o['value'] === undefined
      ? []
      : [o['value']];
  const w = o['@adminapi.warnings'];
  const warnings = Array.isArray(w) ? w.map(String) : typeof w === 'string' ? [w] : [];
  const next = o['@odata.nextLink'];
  return { value, warnings, nextLink: typeof next === 'string' && next !== '' ? next : undefined };
}

/** The typed error of a non-2xx answer. */
export function exchangeOnlineHttpError(
  status: number,
  raw: Buffer,
  encoding: string | string[] | undefined,
  cmdlet: string,
  requestId: string | undefined,
): ExchangeOnlineError {
  let bytes = raw;
  if (String(encoding ?? '').includes('gzip') && raw[0] === 0x1f && raw[1] === 0x8b) {
    try {
      bytes = gunzipSync(raw);
    } catch {
      bytes = raw;
    }
  }
  if (status === 403 && bytes.every((b) => b === 0)) {
    // An unknown cmdlet (or one the caller's roles do not grant) is a 403 whose body is NUL bytes labelled gzip.
    return new ExchangeOnlineError(
      `Exchange Online refused ${cmdlet} (403 with an empty body): the cmdlet does not exist or the account's roles do not grant it`,
      { code: 'PSRP_EXO_UNKNOWN_CMDLET', statusCode: status, cmdlet, requestId },
    );
  }
  const parsed = parseExchangeOnlineErrorBody(bytes.toString('utf8'));
  const common = {
    statusCode: status,
    cmdlet,
    requestId,
    exceptionType: parsed.exceptionType,
    errorCode: parsed.errorCode,
  };
  if (status === 401)
    return new ExchangeOnlineError(
      `Exchange Online refused the token (401)${parsed.message ? `: ${parsed.message}` : ''}: check the audience, the tenant and the permission (Exchange.ManageAsAppV2 / Exchange.ManageV2)`,
      { ...common, code: 'PSRP_EXO_UNAUTHORIZED' },
    );
  if (status === 429)
    return new ExchangeOnlineError(`Exchange Online kept throttling ${cmdlet} (429)`, {
      ...common,
      code: 'PSRP_EXO_THROTTLED',
    });
  if (parsed.message !== undefined && status >= 400 && status < 500)
    return new ExchangeOnlineError(parsed.message, { ...common, code: 'PSRP_EXO_CMDLET_ERROR' });
  return new ExchangeOnlineError(
    `Exchange Online answered ${cmdlet} with HTTP ${status}${parsed.message ? `: ${parsed.message}` : ''}`,
    { ...common, code: 'PSRP_EXO_HTTP' },
  );
}
