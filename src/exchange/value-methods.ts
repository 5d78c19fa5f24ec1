/**
 * What the Exchange value objects (sizes, time spans, identities) share so that they behave as
 * ordinary JavaScript values: `${m.ProhibitSendQuota}` is Exchange's text and `JSON.stringify` gives
 * their documented JSON shape (docs/exchange.md "Values as JSON") instead of throwing on a bigint.
 * Each is a small class whose fields are its own and whose `toString`/`toJSON` are on the prototype:
 * the objects still compare and spread as their plain fields.
 */

/** A bigint as JSON: a number when it is a safe integer, else its decimal string. */
export const bigintJson = (v: bigint): number | string =>
  v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString();
