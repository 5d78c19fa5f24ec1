// MS-PSRP 2.2.5.1.1 String (S) and 2.2.5.1.2 Character (C). Strings carry the `_xHHHH_` escapes of
// MS-PSRP 2.2.5.3.2 (string-escape.ts); a character is its UTF-16 code unit as a decimal number.
import { InvalidArgumentError } from '../../errors.js';
import { isIntegerText } from '../number-text.js';
import { decodeClixmlString, encodeClixmlString } from '../string-escape.js';
import { PSTypedValue } from '../typed-value.js';
import { invalidClixml, literalText } from './primitive-text.js';

/** Reads `<S>` text (entity-decoded by the reader): its `_xHHHH_` escapes decoded. */
export function parseString(text: string): string {
  return decodeClixmlString(text);
}

/** Writes a string for element text: `_xHHHH_` escapes and XML entities. */
export function formatString(s: string): string {
  return encodeClixmlString(s);
}

/** Reads `<C>` text as XmlConvert.ToUInt16 does (digits only, no sign, at most 0xFFFF). */
export function parseChar(text: string, pos: number, preserve: boolean): unknown {
  const t = literalText(text, 'C', pos);
  if (!isIntegerText(t) || t.charCodeAt(0) < 0x30)
    invalidClixml(`Invalid char "${t.slice(0, 20)}"`, 'C', pos);
  const code = Number(t);
  if (code > 0xffff) invalidClixml(`Char ${t.slice(0, 20)} out of range`, 'C', pos);
  const ch = String.fromCharCode(code);
  return preserve ? new PSTypedValue('C', ch) : ch;
}

/** Writes a one-code-unit string as its code. */
export function formatChar(s: string): string {
  if (s.length !== 1) throw new InvalidArgumentError('A char must be exactly one UTF-16 code unit');
  return String(s.charCodeAt(0));
}
