/**
 * Observability: diagnostics_channel channels and a debuglog switch (`NODE_DEBUG=psrp`).
 * Payloads published here never include passwords, Authorization headers or session keys:
 * callers pass already-redacted data, and `redactHeaders` is the one place headers are cleaned.
 */
import diagnosticsChannel from 'node:diagnostics_channel';
import { debuglog, type DebugLogger } from 'node:util';

export const channels = {
  /** A WS-Man request is about to be sent: `{ id, action, uri, bytes, shellId, commandId }`. */
  wsmanRequest: diagnosticsChannel.channel('psrp:wsman:request'),
  /** A WS-Man response arrived: `{ id, action, status, durationMs, shellId, commandId }`. */
  wsmanResponse: diagnosticsChannel.channel('psrp:wsman:response'),
  /** An HTTP request/response pair (after auth and redirects): `{ method, origin, path, status }`. */
  httpExchange: diagnosticsChannel.channel('psrp:http:exchange'),
  /**
   * A WS-Man envelope sent or received, with the PSRP messages in it (types, sizes, pipeline) and,
   * for the full-message dump, the envelope and each message's CLIXML with every credential
   * redacted (`WSManMessageEvent`). Decoded only while something subscribes.
   */
  wsmanMessage: diagnosticsChannel.channel('psrp:wsman:message'),
  /** A runspace pool or pipeline changed state: `{ kind, id, from, to }`. */
  stateChange: diagnosticsChannel.channel('psrp:state'),
} as const;

/** `log.enabled` tells whether NODE_DEBUG=psrp is on, so that costly arguments can be skipped. */
export const log: DebugLogger = debuglog('psrp');

const SECRET_HEADERS = new Set(['authorization', 'proxy-authorization', 'cookie', 'set-cookie']);

/** A copy of `headers` with secret-bearing values replaced by `[redacted]`. */
export function redactHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) {
    if (v === undefined) continue;
    out[k] = SECRET_HEADERS.has(k.toLowerCase()) ? '[redacted]' : Array.isArray(v) ? v.join(', ') : v;
  }
  return out;
}
