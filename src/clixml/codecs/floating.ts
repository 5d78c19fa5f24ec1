// MS-PSRP 2.2.5.1.14 Float (Sg) and 2.2.5.1.15 Double (Db), as XmlConvert.ToSingle/ToDouble read
// them and XmlConvert.ToString writes them.
import { isDecimalText } from '../number-text.js';
import { PSTypedValue } from '../typed-value.js';
import { invalidClixml, literalText } from './primitive-text.js';

/**
 * Reads `<Db>` or `<Sg>` text: INF, -INF, then .NET's float syntax (NaN, ±Infinity too); out of
 * range is ±Infinity, as in .NET Core 3.0 and later. With `preserve`, a Single is a PSTypedValue.
 */
export function parseFloating(text: string, tag: 'Db' | 'Sg', pos: number, preserve: boolean): unknown {
  const t = literalText(text, tag, pos);
  let n =
    t === 'NaN'
      ? NaN
      : t === 'INF' || t === 'Infinity'
        ? Infinity
        : t === '-INF' || t === '-Infinity'
          ? -Infinity
          : isDecimalText(t, true)
            ? Number(t)
            : undefined;
  if (n === undefined) return invalidClixml(`Invalid floating-point number "${t.slice(0, 30)}"`, tag, pos);
  if (tag === 'Sg') {
    // A Single overflows to ±Infinity and underflows to 0 where a Double does not.
    const f = Math.fround(n);
    if (f === 0 || !Number.isFinite(f)) n = f;
    return preserve ? new PSTypedValue('Sg', n) : n;
  }
  return n;
}

/** Writes a Double or Single as .NET does: `NaN`, `INF`, `-INF`, `-0`, exponents as `E+`/`E-`. */
export function formatFloating(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (n === Infinity) return 'INF';
  if (n === -Infinity) return '-INF';
  if (Object.is(n, -0)) return '-0';
  return String(n).replace('e+', 'E+').replace('e-', 'E-');
}
