// MS-PSRP 2.2.5.1.5 Duration (TS): xs:duration, read as XmlConvert.ToTimeSpan reads it and written
// as PowerShell writes a TimeSpan.
import { MAX_DATE_LITERAL } from './date-time.js';
import { invalidClixml, literalText } from './primitive-text.js';

/** `<TS>`: a .NET TimeSpan as exact 100 ns ticks. */
export class PSDuration {
  constructor(readonly ticks: bigint) {}
  static fromMilliseconds(ms: number): PSDuration {
    return new PSDuration(BigInt(Math.round(ms * 10_000)));
  }
  get milliseconds(): number {
    return Number(this.ticks) / 10_000;
  }
  /** xs:duration text as PowerShell writes it, e.g. `PT9.0269026S`, `-P1DT2H`. */
  toString(): string {
    return formatDuration(this.ticks);
  }
  toJSON(): string {
    return this.toString();
  }
}

// Only ever sees text of at most MAX_DATE_LITERAL characters, and cannot backtrack more than linearly.
const DURATION_RE =
  /^(-)?P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)(?:\.(\d+))?S)?)?$/;
/** .NET TimeSpan range in ticks. */
const TIMESPAN_MAX = 2n ** 63n - 1n;
const TIMESPAN_MIN = -(2n ** 63n);

/** Reads `<TS>` text: Y = 365 days, M = 30 days, within TimeSpan's range. */
export function parseDuration(raw: string, pos: number): PSDuration {
  const text = literalText(raw, 'TS', pos, MAX_DATE_LITERAL);
  const m = DURATION_RE.exec(text);
  if (!m || text === 'P' || text === '-P' || text.endsWith('T'))
    return invalidClixml(`Invalid duration "${text.slice(0, 40)}"`, 'TS', pos);
  const [, neg, y, mo, d, h, mi, s, frac] = m;
  const days = BigInt(y ?? 0) * 365n + BigInt(mo ?? 0) * 30n + BigInt(d ?? 0);
  let ticks =
    ((days * 24n + BigInt(h ?? 0)) * 60n + BigInt(mi ?? 0)) * 600_000_000n +
    BigInt(s ?? 0) * 10_000_000n +
    BigInt(((frac ?? '') + '0000000').slice(0, 7));
  if (neg) ticks = -ticks;
  if (ticks > TIMESPAN_MAX || ticks < TIMESPAN_MIN)
    return invalidClixml(`Duration out of range "${text.slice(0, 40)}"`, 'TS', pos);
  return new PSDuration(ticks);
}

/** Writes ticks as xs:duration: days, then the time part, seconds with up to 7 fraction digits. */
export function formatDuration(ticks: bigint): string {
  let t = ticks < 0n ? -ticks : ticks;
  const sign = ticks < 0n ? '-' : '';
  const days = t / 864_000_000_000n;
  t %= 864_000_000_000n;
  const h = t / 36_000_000_000n;
  t %= 36_000_000_000n;
  const m = t / 600_000_000n;
  t %= 600_000_000n;
  const s = t / 10_000_000n;
  const frac = t % 10_000_000n;
  let out = `${sign}P${days > 0n ? `${days}D` : ''}`;
  if (h > 0n || m > 0n || s > 0n || frac > 0n || days === 0n) {
    out += 'T';
    if (h > 0n) out += `${h}H`;
    if (m > 0n) out += `${m}M`;
    if (s > 0n || frac > 0n || (h === 0n && m === 0n)) {
      out += frac > 0n ? `${s}.${frac.toString().padStart(7, '0').replace(/0+$/, '')}S` : `${s}S`;
    }
  }
  return out;
}
