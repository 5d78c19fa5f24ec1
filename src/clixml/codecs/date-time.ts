// MS-PSRP 2.2.5.1.4 Date/Time (DT): xs:dateTime, read as XmlConvert.ToDateTime (RoundtripKind) reads
// it and written as .NET writes a UTC DateTime.
import { InvalidArgumentError } from '../../errors.js';
import { invalidClixml, literalText } from './primitive-text.js';

/**
 * `<DT>`: a Date that also keeps the exact text, because .NET DateTime has 100 ns ticks and a
 * kind/offset that a JS Date loses. Serializing it writes `text` back unchanged unless the Date
 * was mutated.
 */
export class PSDateTime extends Date {
  /** The xs:dateTime text as received, e.g. `2021-09-28T09:53:39.1234567-07:00`. */
  readonly text: string;
  /** 100 ns ticks below the millisecond (0–9999) that the Date cannot hold. */
  readonly subMillisecondTicks: number;
  /** `utc` (Z), `offset` (±hh:mm) or `unspecified` (no zone: read as UTC). */
  readonly kind: 'utc' | 'offset' | 'unspecified';
  /** The epoch milliseconds when read; if the Date is changed later, the text is regenerated. */
  readonly originalTime: number;

  constructor(
    epochMs: number,
    text: string,
    subMillisecondTicks: number,
    kind: 'utc' | 'offset' | 'unspecified',
  ) {
    super(epochMs);
    this.originalTime = epochMs;
    this.text = text;
    this.subMillisecondTicks = subMillisecondTicks;
    this.kind = kind;
  }
}

/** Longest `<DT>`/`<TS>` text accepted after trimming (PowerShell writes at most 33 characters). */
export const MAX_DATE_LITERAL = 256;
/** .NET DateTime.MinValue and MaxValue (to the millisecond) in epoch milliseconds. */
const DATETIME_MIN_MS = -62135596800000;
const DATETIME_MAX_MS = 253402300799999;
const DAYS_IN_MONTH = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** The `n` ASCII digits of `t` at `i` as a number, or -1 when any is not a digit. */
function digitsAt(t: string, i: number, n: number): number {
  let v = 0;
  for (let e = i + n; i < e; i++) {
    const d = t.charCodeAt(i) - 0x30;
    if (!(d >= 0 && d <= 9)) return -1; // past the end d is NaN: -1 too
    v = v * 10 + d;
  }
  return v;
}

/** The fields {@link dateFields} read (one record, reused: a record per date was garbage). */
const FIELDS = { y: 0, mo: 0, d: 0, h: 0, mi: 0, s: 0, ticks: 0, zone: 0 };

/**
 * The fields of `yyyy-mm-dd[Thh:mm:ss[.f+]][Z|(+|-)hh:mm]` (xs:dateTime as .NET writes it), read
 * in one pass without a regular expression into {@link FIELDS}; false when the text has another
 * form.
 */
function dateFields(t: string): boolean {
  const n = t.length;
  const y = digitsAt(t, 0, 4);
  const mo = digitsAt(t, 5, 2);
  const d = digitsAt(t, 8, 2);
  if (n < 10 || y < 0 || mo < 0 || d < 0 || t.charCodeAt(4) !== 0x2d || t.charCodeAt(7) !== 0x2d)
    return false;
  let h = 0;
  let mi = 0;
  let s = 0;
  let ticks = 0;
  let i = 10;
  if (t.charCodeAt(i) === 0x54 /* T */) {
    h = digitsAt(t, 11, 2);
    mi = digitsAt(t, 14, 2);
    s = digitsAt(t, 17, 2);
    if (n < 19 || h < 0 || mi < 0 || s < 0 || t.charCodeAt(13) !== 0x3a || t.charCodeAt(16) !== 0x3a)
      return false;
    i = 19;
    if (t.charCodeAt(i) === 0x2e /* . */) {
      // 100 ns ticks of the fraction, rounded half up at the eighth digit as .NET does.
      const start = ++i;
      for (; i < n; i++) {
        const c = t.charCodeAt(i) - 0x30;
        if (!(c >= 0 && c <= 9)) break;
        if (i - start < 7) ticks = ticks * 10 + c;
        else if (i - start === 7 && c >= 5) ticks++;
      }
      if (i === start) return false;
      for (let k = Math.min(i - start, 7); k < 7; k++) ticks *= 10;
    }
  }
  // zone: 0 none, 1 Z, else the offset in minutes with 2 added to keep it apart (sign kept).
  let zone = 0;
  if (i < n) {
    const c = t.charCodeAt(i);
    if (c === 0x5a /* Z */ && i + 1 === n) zone = 1;
    else if ((c === 0x2b || c === 0x2d) && i + 6 === n && t.charCodeAt(i + 3) === 0x3a) {
      const oh = digitsAt(t, i + 1, 2);
      const om = digitsAt(t, i + 4, 2);
      if (oh < 0 || om < 0) return false;
      zone = c === 0x2d ? -(oh * 60 + om) - 2 : oh * 60 + om + 2;
    } else return false;
  }
  const f = FIELDS;
  f.y = y;
  f.mo = mo;
  f.d = d;
  f.h = h;
  f.mi = mi;
  f.s = s;
  f.ticks = ticks;
  f.zone = zone;
  return true;
}

/**
 * Reads `<DT>` text: a real calendar date (years 1-9999), time fields in range, fractions beyond
 * 100 ns rounded; offsets are applied as given (PowerShell accepts any two-digit hours and minutes
 * there).
 */
export function parseDateTime(raw: string, pos: number): PSDateTime {
  const text = literalText(raw, 'DT', pos, MAX_DATE_LITERAL);
  if (!dateFields(text)) return invalidClixml(`Invalid date/time "${text.slice(0, 40)}"`, 'DT', pos);
  const { y: year, mo: month, d: day, h, mi, s, ticks, zone } = FIELDS;
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  if (
    year < 1 ||
    month < 1 ||
    month > 12 ||
    day < 1 ||
    day > DAYS_IN_MONTH[month - 1]! ||
    (month === 2 && day === 29 && !leap) ||
    h > 23 ||
    mi > 59 ||
    s > 59
  ) {
    return invalidClixml(`Invalid date/time "${text.slice(0, 40)}"`, 'DT', pos);
  }
  const ms = Math.floor(ticks / 10_000);
  const sub = ticks % 10_000;
  let epoch = Date.UTC(year, month - 1, day, h, mi, s, ms);
  if (year < 100) {
    // Date.UTC maps years 0-99 to 1900-1999; fix the year explicitly.
    const fix = new Date(Date.UTC(2000, month - 1, day, h, mi, s, ms));
    fix.setUTCFullYear(year);
    epoch = fix.getTime();
  }
  let kind: 'utc' | 'offset' | 'unspecified' = 'unspecified';
  let subTicks = sub;
  if (zone === 1) kind = 'utc';
  else if (zone !== 0) {
    kind = 'offset';
    epoch -= (zone > 0 ? zone - 2 : zone + 2) * 60_000;
    // Like .NET, an offset that moves the time out of DateTime's range clamps it to the range.
    if (epoch < DATETIME_MIN_MS) {
      epoch = DATETIME_MIN_MS;
      subTicks = 0;
    } else if (epoch > DATETIME_MAX_MS) {
      epoch = DATETIME_MAX_MS;
      subTicks = 9999;
    }
  }
  if (!Number.isFinite(epoch))
    return invalidClixml(`Date/time out of range "${text.slice(0, 40)}"`, 'DT', pos);
  return new PSDateTime(epoch, text, subTicks, kind);
}

/**
 * Writes a Date as xs:dateTime: a PSDateTime not changed since it was read as its original text,
 * any other Date as UTC with 7 fractional digits, as .NET writes it.
 */
export function formatDateTime(d: Date): string {
  if (d instanceof PSDateTime && d.getTime() === d.originalTime) return d.text;
  if (Number.isNaN(d.getTime())) throw new InvalidArgumentError('Cannot serialize an invalid Date');
  return d.toISOString().replace(/\.(\d{3})Z$/, '.$10000Z');
}
