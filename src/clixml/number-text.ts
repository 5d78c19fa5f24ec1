// MS-PSRP 2.2.5.1.6-2.2.5.1.16 (integers, Sg, Db, D): number literals as PowerShell's deserializer
// reads them (System.Xml.XmlConvert: XML whitespace trimmed, invariant culture, no thousands
// separators). Each check is one pass over the characters, never a regular expression, and the
// text is length-checked before anything else looks at it: a hostile literal (100 KB of digits
// ending in `x`) costs no more than a valid one.

/** Longest number literal accepted, after trimming whitespace (PowerShell writes at most ~40 characters). */
export const MAX_NUMBER_LITERAL = 1024;

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/** `text` without leading and trailing XML whitespace (space, tab, CR, LF). */
export function trimXmlSpace(text: string): string {
  let a = 0;
  let b = text.length;
  while (a < b && isSpace(text.charCodeAt(a))) a++;
  while (b > a && isSpace(text.charCodeAt(b - 1))) b--;
  return a === 0 && b === text.length ? text : text.slice(a, b);
}

/** `[+-]?digits`. */
export function isIntegerText(t: string): boolean {
  let i = 0;
  const c0 = t.charCodeAt(0);
  if (c0 === 0x2b || c0 === 0x2d) i = 1;
  if (i >= t.length) return false;
  for (; i < t.length; i++) if (!isDigit(t.charCodeAt(i))) return false;
  return true;
}

/**
 * `[+-]? (digits [. digits?] | . digits) ([eE] [+-]? digits)?` (no exponent when `exponent` is
 * false): .NET's NumberStyles.Float without white space, which XmlConvert has trimmed.
 */
export function isDecimalText(t: string, exponent: boolean): boolean {
  const n = t.length;
  let i = 0;
  let c = t.charCodeAt(0);
  if (c === 0x2b || c === 0x2d) c = t.charCodeAt(++i);
  let digits = 0;
  while (i < n && isDigit(t.charCodeAt(i))) {
    i++;
    digits++;
  }
  if (i < n && t.charCodeAt(i) === 0x2e /* . */) {
    i++;
    while (i < n && isDigit(t.charCodeAt(i))) {
      i++;
      digits++;
    }
  }
  if (digits === 0) return false;
  if (i < n && exponent && (t.charCodeAt(i) | 0x20) === 0x65 /* e */) {
    i++;
    c = t.charCodeAt(i);
    if (c === 0x2b || c === 0x2d) i++;
    const start = i;
    while (i < n && isDigit(t.charCodeAt(i))) i++;
    if (i === start) return false;
  }
  return i === n;
}
