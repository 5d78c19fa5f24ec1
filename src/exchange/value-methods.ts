/**
 * `toString()` and `toJSON()` for the Exchange value objects (sizes, time spans, identities), so
 * they behave as ordinary JavaScript values: `${m.ProhibitSendQuota}` is Exchange's text and
 * `JSON.stringify` gives their documented JSON shape (docs/exchange.md "Values as JSON") instead of
 * throwing on a bigint. The methods are non-enumerable: the objects still compare and spread as
 * their plain fields.
 */

/** A bigint as JSON: a number when it is a safe integer, else its decimal string. */
export const bigintJson = (v: bigint): number | string =>
  v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString();

/** Returns `value` with non-enumerable `toString` and `toJSON` methods added. */
export function withValueMethods<T extends object>(
  value: T,
  text: (v: T) => string,
  json: (v: T) => unknown,
): T {
  Object.defineProperties(value, {
    toString: { value: (): string => text(value), enumerable: false, configurable: true, writable: true },
    toJSON: { value: (): unknown => json(value), enumerable: false, configurable: true, writable: true },
  });
  return value;
}
