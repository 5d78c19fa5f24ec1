// MS-PSRP 2.2.5.1.16 Decimal (D): a .NET Decimal, read as XmlConvert.ToDecimal reads it and kept as
// its exact text, which is also what is written back.
import { MAX_NUMBER_LITERAL, isDecimalText } from '../number-text.js';
import { invalidClixml, literalText } from './primitive-text.js';

/** `<D>`: a .NET Decimal kept as its exact decimal text. */
export class PSDecimal {
  readonly text: string;
  constructor(text: string | number | bigint) {
    const t = String(text).trim();
    if (t.length > MAX_NUMBER_LITERAL || !isDecimalText(t, true))
      throw new TypeError(`Not a decimal number: ${t.slice(0, 40)}`);
    this.text = t;
  }
  toString(): string {
    return this.text;
  }
  toJSON(): string {
    return this.text;
  }
  valueOf(): number {
    return Number(this.text);
  }
}

/** .NET Decimal.MaxValue: the largest integer part `<D>` may have. */
const DECIMAL_MAX = '79228162514264337593543950335';

/** True when the decimal text (checked by isDecimalText) is within .NET Decimal's range. */
function decimalInRange(t: string): boolean {
  let i = t.charCodeAt(0) === 0x2b || t.charCodeAt(0) === 0x2d ? 1 : 0;
  while (t.charCodeAt(i) === 0x30) i++;
  let end = t.indexOf('.', i);
  if (end < 0) end = t.length;
  const digits = end - i;
  if (digits !== DECIMAL_MAX.length) return digits < DECIMAL_MAX.length;
  return t.slice(i, end) <= DECIMAL_MAX;
}

/** Reads `<D>` text: sign, digits, decimal point; no exponent; at most Decimal.MaxValue. */
export function parseDecimal(text: string, pos: number): PSDecimal {
  const t = literalText(text, 'D', pos);
  if (!isDecimalText(t, false)) return invalidClixml(`Invalid decimal "${t.slice(0, 30)}"`, 'D', pos);
  if (!decimalInRange(t)) return invalidClixml(`Decimal ${t.slice(0, 40)} out of range`, 'D', pos);
  return new PSDecimal(t);
}

/** Writes a PSDecimal: its text, unchanged. */
export function formatDecimal(d: PSDecimal): string {
  return d.text;
}
