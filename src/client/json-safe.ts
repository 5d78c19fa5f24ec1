/**
 * A JSON-ready copy of a value for `JSON.stringify`: what `InvokeResult.toJSON()` returns. Plain
 * `JSON.stringify` throws on a bigint (PowerShell's Int64/UInt64 beyond ±2^53, Exchange byte
 * counts) and on a cycle (CLIXML references can make one); here a bigint becomes a number when it
 * is a safe integer, else its decimal string, and a repeated ancestor becomes `'[Circular]'`.
 * Values with their own `toJSON()` (dates, PSDuration, SecureString, Exchange sizes) use it.
 */
export function jsonSafe(value: unknown): unknown {
  const ancestors: object[] = [];
  const walk = (v: unknown): unknown => {
    if (typeof v === 'bigint')
      return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER)
        ? Number(v)
        : v.toString();
    if (v === null || typeof v !== 'object') return v;
    if (ancestors.includes(v)) return '[Circular]';
    const toJSON = (v as { toJSON?: unknown }).toJSON;
    if (typeof toJSON === 'function') {
      const j: unknown = toJSON.call(v);
      if (j !== v) {
        ancestors.push(v);
        try {
          return walk(j);
        } finally {
          ancestors.pop();
        }
      }
    }
    ancestors.push(v);
    try {
      if (Array.isArray(v))
        return v.map((x) => (x === undefined || typeof x === 'function' ? null : walk(x)));
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v))
        if (x !== undefined && typeof x !== 'function') out[k] = walk(x);
      return out;
    } finally {
      ancestors.pop();
    }
  };
  return walk(value);
}
