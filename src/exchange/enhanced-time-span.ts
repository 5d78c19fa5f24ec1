/**
 * Exchange's EnhancedTimeSpan display text (`[-][d.]hh:mm:ss[.fffffff]`, .NET TimeSpan "c" format),
 * as Exchange Remote PowerShell sends it at the Partial serialization level (research B3), e.g.
 * `10.00:00:00` for RetainDeletedItemsFor. Parsed to exact 100 ns ticks (bigint) and milliseconds.
 */
import { bigintJson } from './value-methods.js';

export interface EnhancedTimeSpan {
  /** 100-nanosecond ticks, exact. */
  readonly ticks: bigint;
  /** Milliseconds as a number (exact up to about 285,000 years). */
  readonly milliseconds: number;
  /** The text as Exchange displayed it. */
  readonly text: string;
  /** The text (`10.00:00:00`). */
  toString(): string;
  /** `{ ticks: number | string, milliseconds, text }` (`ticks` a string above 2^53 − 1). */
  toJSON(): { readonly ticks: number | string; readonly milliseconds: number; readonly text: string };
}

const TIMESPAN_RE = /^\s*(-)?(?:(\d+)\.)?(\d{1,2}):(\d{2}):(\d{2})(?:\.(\d{1,7}))?\s*$/;

/** Parses `1.02:03:04.5` → ticks/milliseconds; returns undefined when the text is not a TimeSpan. */
export function parseEnhancedTimeSpan(text: string): EnhancedTimeSpan | undefined {
  const m = TIMESPAN_RE.exec(text);
  if (!m) return undefined;
  const [, neg, d, h, min, s, frac] = m;
  const hours = Number(h);
  const minutes = Number(min);
  const seconds = Number(s);
  if (hours > 23 || minutes > 59 || seconds > 59) return undefined;
  // Whole seconds as a double while exact (under a billion days: 8.6e13 s < 2^53), then one bigint
  // step, rather than eight bigint operations per value; a longer day count stays all bigint.
  const days = d ?? '0';
  const rest = (hours * 60 + minutes) * 60 + seconds;
  const wholeSeconds =
    days.length <= 9 ? BigInt(Number(days) * 86_400 + rest) : BigInt(days) * 86_400n + BigInt(rest);
  let ticks = wholeSeconds * 10_000_000n + BigInt((frac ?? '').padEnd(7, '0') || '0');
  if (neg) ticks = -ticks;
  return new TimeSpanValue(ticks, text.trim());
}

/** The object behind {@link EnhancedTimeSpan}: own fields, methods on the prototype (see ByteSize). */
class TimeSpanValue implements EnhancedTimeSpan {
  readonly milliseconds: number;
  constructor(
    readonly ticks: bigint,
    readonly text: string,
  ) {
    this.milliseconds = Number(ticks) / 10_000;
  }
  toString(): string {
    return this.text;
  }
  toJSON(): { readonly ticks: number | string; readonly milliseconds: number; readonly text: string } {
    return { ticks: bigintJson(this.ticks), milliseconds: this.milliseconds, text: this.text };
  }
}
