/**
 * Exchange's ByteQuantifiedSize and Unlimited<T> as JavaScript values.
 *
 * At the default (Partial) serialization level Exchange Remote PowerShell sends sizes as display
 * strings such as `49.5 GB (53,150,220,288 bytes)` (research B2/B3), and `Unlimited<T>` either as
 * the text `Unlimited` or as the wrapped value. The exact byte count is the parenthesised integer;
 * its thousands separator depends on the server's culture (`,` `.` `'` space or no-break space),
 * so every non-digit is dropped from it. Byte counts are bigints: a 64-bit size may exceed 2^53.
 */
import { bigintJson } from './value-methods.js';

/**
 * A parsed ByteQuantifiedSize: the exact byte count and the server's display text. `String(size)`
 * is the text; `JSON.stringify(size)` is `{"bytes":53150220288,"text":"49.5 GB (53,150,220,288 bytes)"}`
 * (`bytes` a string above 2^53 − 1).
 */
export interface ByteQuantifiedSize {
  readonly bytes: bigint;
  /** The text as Exchange displayed it, e.g. `49.5 GB (53,150,220,288 bytes)`. */
  readonly text: string;
  /** The text, as Exchange displays it. */
  toString(): string;
  /** `{ bytes: number | string, text }`. */
  toJSON(): { readonly bytes: number | string; readonly text: string };
}

/** A ByteQuantifiedSize value from an exact byte count and its display text (default: en-US, as Exchange formats it). */
export function byteQuantifiedSize(
  bytes: bigint,
  text: string = formatByteQuantifiedSize(bytes),
): ByteQuantifiedSize {
  return new ByteSize(bytes, text);
}

/**
 * The object behind {@link ByteQuantifiedSize}: its two fields are its own (they spread and compare
 * as `{ bytes, text }`), its methods are on the prototype (not enumerable, and no closures per value:
 * a mailbox carries several sizes, issue 17).
 */
class ByteSize implements ByteQuantifiedSize {
  constructor(
    readonly bytes: bigint,
    readonly text: string,
  ) {}
  toString(): string {
    return this.text;
  }
  toJSON(): { readonly bytes: number | string; readonly text: string } {
    return { bytes: bigintJson(this.bytes), text: this.text };
  }
}

/** Exchange's `Unlimited<T>`: the string `'Unlimited'` or a value. */
export type Unlimited<T> = 'Unlimited' | T;

const BQS_RE =
  /^\s*-?[\d.,'\u00a0\u202f ]+\s*(?:B|KB|MB|GB|TB|PB|EB)\s*\(([\d.,'\u00a0\u202f ]+)\s*bytes?\)\s*$/i;

/** True when `text` has the shape of a ByteQuantifiedSize display string. */
export function isByteQuantifiedSizeText(text: string): boolean {
  return BQS_RE.test(text);
}

/**
 * Parses `'49.5 GB (53,150,220,288 bytes)'` → `{ bytes: 53150220288n, text }`; returns undefined
 * when `text` is not a ByteQuantifiedSize display string.
 */
export function parseByteQuantifiedSize(text: string): ByteQuantifiedSize | undefined {
  const m = BQS_RE.exec(text);
  if (!m) return undefined;
  const digits = m[1]!.replace(/\D/g, '');
  if (digits === '') return undefined;
  return byteQuantifiedSize(BigInt(digits), text.trim());
}

/**
 * Parses an `Unlimited<ByteQuantifiedSize>` display string: `'Unlimited'` stays `'Unlimited'`, a
 * size becomes a ByteQuantifiedSize, anything else is undefined.
 */
export function parseUnlimitedSize(text: string): Unlimited<ByteQuantifiedSize> | undefined {
  if (text.trim().toLowerCase() === 'unlimited') return 'Unlimited';
  return parseByteQuantifiedSize(text);
}

const UNITS: readonly [string, bigint][] = [
  ['PB', 1n << 50n],
  ['TB', 1n << 40n],
  ['GB', 1n << 30n],
  ['MB', 1n << 20n],
  ['KB', 1n << 10n],
];

/** Formats a byte count the way Exchange displays it (en-US): `1.5 GB (1,610,612,736 bytes)`. */
export function formatByteQuantifiedSize(bytes: bigint): string {
  const grouped = bytes.toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  for (const [unit, size] of UNITS) {
    if (bytes >= size) {
      // One decimal, rounded: real output shows 115,101,696 bytes as `109.8 MB` (109.77 MB).
      const tenths = (bytes * 10n + size / 2n) / size;
      const whole = tenths / 10n;
      const frac = tenths % 10n;
      return `${whole}${frac === 0n ? '' : `.${frac}`} ${unit} (${grouped} bytes)`;
    }
  }
  return `${bytes} B (${grouped} bytes)`;
}
