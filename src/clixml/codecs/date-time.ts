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
// Only ever sees text of at most MAX_DATE_LITERAL characters, and cannot backtrack more than linearly.
const DT_RE = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?)?(Z|[+-]\d{2}:\d{2})?$/;
/** .NET DateTime.MinValue and MaxValue (to the millisecond) in epoch milliseconds. */
const DATETIME_MIN_MS = -62135596800000;
const DATETIME_MAX_MS = 253402300799999;
const DAYS_IN_MONTH = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/**
 * Reads `<DT>` text: a real calendar date (years 1-9999), time fields in range, fractions beyond
 * 100 ns rounded; offsets are applied as given (PowerShell accepts any two-digit hours and minutes
 * there).
 */
export function parseDateTime(raw: string, pos: number): PSDateTime {
  const text = literalText(raw, 'DT', pos, MAX_DATE_LITERAL);
  const m = DT_RE.exec(text);
  if (!m) return invalidClixml(`Invalid date/time "${text.slice(0, 40)}"`, 'DT', pos);
  const [, y, mo, d, h = '0', mi = '0', s = '0', frac = '', zone] = m;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  if (
    year < 1 ||
    month < 1 ||
    month > 12 ||
    day < 1 ||
    day > DAYS_IN_MONTH[month - 1]! ||
    (month === 2 && day === 29 && !leap) ||
    Number(h) > 23 ||
    Number(mi) > 59 ||
    Number(s) > 59
  ) {
    return invalidClixml(`Invalid date/time "${text.slice(0, 40)}"`, 'DT', pos);
  }
  // 100 ns ticks of the fraction, rounded half up at the eighth digit as .NET does.
  let ticks = Number((frac + '0000000').slice(0, 7));
  if (frac.charCodeAt(7) >= 0x35 /* 5 */) ticks++;
  const ms = Math.floor(ticks / 10_000);
  const sub = ticks % 10_000;
  let epoch = Date.UTC(year, month - 1, day, Number(h), Number(mi), Number(s), ms);
  if (year < 100) {
    // Date.UTC maps years 0-99 to 1900-1999; fix the year explicitly.
    const fix = new Date(Date.UTC(2000, month - 1, day, Number(h), Number(mi), Number(s), ms));
    fix.setUTCFullYear(year);
    epoch = fix.getTime();
  }
  let kind: 'utc' | 'offset' | 'unspecified' = 'unspecified';
  let subTicks = sub;
  if (zone === 'Z') kind = 'utc';
  else if (zone !== undefined) {
    kind = 'offset';
    const sign = zone[0] === '-' ? -1 : 1;
    epoch -= sign * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4, 6))) * 60_000;
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
