/**
 * Exchange Online admin API output as the same JavaScript values as Remote PowerShell's CLIXML.
 *
 * How the API renders arbitrary cmdlet output as JSON is not documented. What is known from the
 * sources in docs/exchange-online.md: objects are JSON objects in `value`, sizes come as
 * ByteQuantifiedSize text (`49.5 GB (53,150,220,288 bytes)`), unlimited quotas as `"Unlimited"`,
 * multi-valued properties as arrays, dates as ISO 8601 text. So decoding is lenient: those shapes
 * become what `toExchangeValues` makes of CLIXML (`{ bytes, text }`, `'Unlimited'`, time spans,
 * arrays, `Date`), OData annotations (`@odata.*` keys) are dropped, and everything else is kept as
 * it came. A string property that merely looks like a date or a size is converted too.
 */
import { toExchangeValues } from './exchange-values.js';

const ISO_DATE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,7})?(Z|[+-]\d{2}:\d{2})$/;

function decode(v: unknown, depth: number): unknown {
  if (depth > 20) return v;
  if (typeof v === 'string') {
    if (ISO_DATE.test(v)) {
      const d = new Date(v);
      if (!Number.isNaN(d.getTime())) return d;
    }
    return toExchangeValues(v);
  }
  if (Array.isArray(v)) return v.map((x) => decode(x, depth + 1));
  if (v === null || typeof v !== 'object') return v;
  const out: Record<string, unknown> = {};
  for (const [k, val] of Object.entries(v as Record<string, unknown>)) {
    if (k.startsWith('@odata.') || k.includes('@odata.')) continue;
    Object.defineProperty(out, k, {
      value: decode(val, depth + 1),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return out;
}

/** One `value[]` item of an admin API answer as Exchange values (see the module comment). */
export function fromExchangeOnlineJson<T = unknown>(value: unknown): T {
  return decode(value, 0) as T;
}
