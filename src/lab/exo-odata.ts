/**
 * The lab admin API's answers as Exchange Online writes them (docs/exchange-online.md): OData JSON
 * (`application/json; odata.metadata=minimal`), error bodies whose detail is
 * `<id>|<ExceptionType>|<text>`, the 403 of NUL bytes labelled gzip, and the JSON form of objects.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { ErrorRecord } from '../psrp/records.js';

/** JSON as the admin API writes it: dates ISO, big integers as numbers, value objects as their text. */
export function plain(v: unknown, depth = 0): unknown {
  if (depth > 12) return null;
  if (v === null || v === undefined) return null;
  if (typeof v === 'bigint') return Number(v);
  if (v instanceof Date) return v.toISOString();
  if (typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map((x) => plain(x, depth + 1));
  if (v instanceof Map) return Object.fromEntries([...v].map(([k, x]) => [String(k), plain(x, depth + 1)]));
  if (Object.getPrototypeOf(v) !== Object.prototype) return String(v);
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) out[k] = plain(x, depth + 1);
  return out;
}

/** The Exchange exception type of an error record (from its FailureCategory, else its exception). */
export function exceptionType(e: ErrorRecord): string {
  const m = /FailureCategory=Cmdlet-(\w+)/.exec(e.fullyQualifiedErrorId ?? '');
  if (m) return `Microsoft.Exchange.Configuration.Tasks.${m[1]!}`;
  return e.exception?.typeNames[0] ?? 'System.Management.Automation.RuntimeException';
}

/** An OData JSON answer. */
export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  res
    .writeHead(status, {
      'content-type': 'application/json; odata.metadata=minimal; charset=utf-8',
      'request-id': randomUUID(),
      ...headers,
    })
    .end(JSON.stringify(body));
}

/** An OData error; with `type`, the message and detail carry `|<ExceptionType>|<text>`. */
export function sendODataError(
  res: ServerResponse,
  status: number,
  code: string,
  text: string,
  type?: string,
): void {
  const id = randomBytes(4).toString('hex').toUpperCase();
  sendJson(res, status, {
    error: {
      code,
      message: type ? `|${type}|${text}` : text,
      details: type ? [{ code: 'Cmdlet', message: `ex${id}|${type}|${text}` }] : [],
    },
  });
}

/** What Exchange Online sends for a cmdlet it does not know: NUL bytes, labelled gzip. */
export function sendNul403(res: ServerResponse): void {
  res
    .writeHead(403, {
      'content-encoding': 'gzip',
      'content-type': 'application/json',
      'content-length': '64',
    })
    .end(Buffer.alloc(64));
}

/** Keep only the `$select`ed properties (case-insensitive) of each object. */
export function selectProperties(items: unknown[], select: string | null): unknown[] {
  if (!select) return items;
  const keep = select.split(',').map((s) => s.trim());
  return items.map((o) =>
    o && typeof o === 'object' && !Array.isArray(o)
      ? Object.fromEntries(
          Object.entries(o).filter(([k]) => keep.some((s) => s.toLowerCase() === k.toLowerCase())),
        )
      : o,
  );
}
