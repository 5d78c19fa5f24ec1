// MS-PSRP 2.2.5.1.6-2.2.5.1.13: the integer primitives By (unsigned byte), SB (signed byte), U16,
// I16, U32, I32, U64, I64, as XmlConvert reads and writes them (XML Schema unsignedByte ... long:
// optional sign, decimal digits, XML whitespace trimmed). One range table serves both directions.
import { InvalidArgumentError } from '../../errors.js';
import { isIntegerText } from '../number-text.js';
import { PSTypedValue } from '../typed-value.js';
import { invalidClixml, literalText } from './primitive-text.js';

export type IntegerTag = 'By' | 'SB' | 'U16' | 'I16' | 'U32' | 'I32' | 'U64' | 'I64';

/** The inclusive range of an integer tag, exactly (bigint) and, where exact, as numbers. */
export interface IntegerRange {
  readonly min: bigint;
  readonly max: bigint;
  /** The range fits in ±2^53: values are read as numbers and compared as numbers. */
  readonly small: boolean;
  readonly minNumber: number;
  readonly maxNumber: number;
}

function range(min: bigint, max: bigint): IntegerRange {
  const small = min >= -(2n ** 53n) && max <= 2n ** 53n;
  return { min, max, small, minNumber: Number(min), maxNumber: Number(max) };
}

/** The integer tags and their .NET ranges: reading refuses a value outside, and so does writing. */
export const INTEGER_RANGES: Readonly<Record<IntegerTag, IntegerRange>> = {
  By: range(0n, 255n), // 2.2.5.1.6 System.Byte
  SB: range(-128n, 127n), // 2.2.5.1.7 System.SByte
  U16: range(0n, 65535n), // 2.2.5.1.8 System.UInt16
  I16: range(-32768n, 32767n), // 2.2.5.1.9 System.Int16
  U32: range(0n, 4294967295n), // 2.2.5.1.10 System.UInt32
  I32: range(-2147483648n, 2147483647n), // 2.2.5.1.11 System.Int32
  U64: range(0n, 2n ** 64n - 1n), // 2.2.5.1.12 System.UInt64
  I64: range(-(2n ** 63n), 2n ** 63n - 1n), // 2.2.5.1.13 System.Int64
};

export function isIntegerTag(tag: string): tag is IntegerTag {
  return Object.hasOwn(INTEGER_RANGES, tag);
}

/**
 * Reads an integer element's text. Values within ±2^53 are numbers (never -0), wider ones bigints;
 * with `preserve`, every tag but I32 comes back as a PSTypedValue (bigint for I64/U64).
 */
export function parseInteger(text: string, tag: IntegerTag, pos: number, preserve: boolean): unknown {
  const t = literalText(text, tag, pos);
  if (!isIntegerText(t)) invalidClixml(`Invalid integer "${t.slice(0, 30)}"`, tag, pos);
  const r = INTEGER_RANGES[tag];
  if (r.small) {
    const n = Number(t);
    if (n < r.minNumber || n > r.maxNumber)
      invalidClixml(`Integer ${t.slice(0, 30)} out of range for ${tag}`, tag, pos);
    const v = n === 0 ? 0 : n; // never -0
    return preserve && tag !== 'I32' ? new PSTypedValue(tag, v) : v;
  }
  if (!preserve && t.length <= 15) {
    // At most 15 characters: within ±2^53, exact as a number and in range for both types unless negative.
    const n = Number(t);
    if (r.min < 0n || n >= 0) return n === 0 ? 0 : n; // never -0
  }
  const b = BigInt(t);
  if (b < r.min || b > r.max) invalidClixml(`Integer ${t.slice(0, 30)} out of range for ${tag}`, tag, pos);
  if (preserve) return new PSTypedValue(tag, b);
  return b >= -9007199254740991n && b <= 9007199254740991n ? Number(b) : b;
}

/** Writes an integer of `tag`, refusing a fraction or a value outside the tag's range. */
export function formatInteger(tag: IntegerTag, v: number | bigint): string {
  if (typeof v === 'number' && !Number.isInteger(v))
    throw new InvalidArgumentError(`${tag} needs an integer, got ${v}`);
  const r = INTEGER_RANGES[tag];
  if (r.small ? v < r.minNumber || v > r.maxNumber : v < r.min || v > r.max) {
    throw new InvalidArgumentError(`${v} is out of range for ${tag}`);
  }
  return String(v);
}

/** True when a JS number is written as `<I32>` (an integer in Int32's range, not -0); else `<Db>`. */
export function isInt32(n: number): boolean {
  const r = INTEGER_RANGES.I32;
  return Number.isInteger(n) && n >= r.minNumber && n <= r.maxNumber && !Object.is(n, -0);
}

/** The tag a bigint is written as: I64 when it fits, else U64; beyond both it is refused. */
export function bigintTag(v: bigint): 'I64' | 'U64' {
  if (v >= INTEGER_RANGES.I64.min && v <= INTEGER_RANGES.I64.max) return 'I64';
  if (v >= INTEGER_RANGES.U64.min && v <= INTEGER_RANGES.U64.max) return 'U64';
  throw new InvalidArgumentError(`bigint ${v} does not fit in 64 bits`);
}
