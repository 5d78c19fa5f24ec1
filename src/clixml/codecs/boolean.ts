// MS-PSRP 2.2.5.1.3 Boolean (B), as XmlConvert.ToBoolean reads it and XmlConvert.ToString writes it.
import { invalidClixml, literalText } from './primitive-text.js';

/** Reads `<B>` text: trimmed `true`/`1` or `false`/`0`. */
export function parseBoolean(text: string, pos: number): boolean {
  const t = literalText(text, 'B', pos);
  if (t === 'true' || t === '1') return true;
  if (t === 'false' || t === '0') return false;
  return invalidClixml(`Invalid boolean "${t.slice(0, 20)}"`, 'B', pos);
}

/** Writes a boolean as `true` or `false`. */
export function formatBoolean(b: boolean): string {
  return b ? 'true' : 'false';
}
