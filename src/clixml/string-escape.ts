// MS-PSRP 2.2.5.3.2 Encoding Strings
/**
 * CLIXML string encoding. Characters that XML cannot carry (control characters, U+FFFE/U+FFFF,
 * and every UTF-16 surrogate, so astral characters travel as two escapes such as
 * `_xD83D__xDE00_`) are written `_xHHHH_` (four hex digits of the UTF-16 code unit). An underscore
 * that starts `_x` is itself escaped (`_x005F_`) so that literal text such as `_x0041_` survives.
 * Decoding turns every `_xHHHH_` back into its code unit (lone surrogates included), so any JS
 * string round-trips exactly. XML's own `&`, `<`, `>` (and `"` in attributes) are escaped as
 * entities on top of that.
 */

function needsEscape(c: number): boolean {
  return c < 0x20 || (c >= 0x7f && c <= 0x9f) || (c >= 0xd800 && c <= 0xdfff) || c === 0xfffe || c === 0xffff;
}

function hex4(c: number): string {
  return c.toString(16).toUpperCase().padStart(4, '0');
}

/** Encodes a string for CLIXML element text (both the `_xHHHH_` layer and XML entities). */
export function encodeClixmlString(s: string, attribute = false): string {
  let out = '';
  let last = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    let rep: string | undefined;
    if (c === 0x26) rep = '&amp;';
    else if (c === 0x3c) rep = '&lt;';
    else if (c === 0x3e) rep = '&gt;';
    else if (c === 0x22 && attribute) rep = '&quot;';
    else if (c === 0x5f) {
      const n = s.charCodeAt(i + 1);
      if (n === 0x78 || n === 0x58) rep = '_x005F_';
    } else if (needsEscape(c)) rep = `_x${hex4(c)}_`;
    if (rep !== undefined) {
      if (i > last) out += s.slice(last, i);
      out += rep;
      last = i + 1;
    }
  }
  return last === 0 ? s : out + s.slice(last);
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}

/** Decodes `_xHHHH_` escapes (the XML entity layer is decoded by the reader). */
export function decodeClixmlString(s: string): string {
  // The first `_x` or `_X` (one scan; most strings have no underscore at all).
  let i = s.indexOf('_');
  while (i >= 0 && s.charCodeAt(i + 1) !== 0x78 && s.charCodeAt(i + 1) !== 0x58) i = s.indexOf('_', i + 1);
  if (i < 0) return s;
  let out = '';
  let last = 0;
  while (i >= 0 && i + 6 < s.length + 0) {
    if (s.charCodeAt(i + 6) === 0x5f && (s.charCodeAt(i + 1) === 0x78 || s.charCodeAt(i + 1) === 0x58)) {
      const a = hexValue(s.charCodeAt(i + 2));
      const b = hexValue(s.charCodeAt(i + 3));
      const c = hexValue(s.charCodeAt(i + 4));
      const d = hexValue(s.charCodeAt(i + 5));
      if ((a | b | c | d) >= 0) {
        out += s.slice(last, i) + String.fromCharCode((a << 12) | (b << 8) | (c << 4) | d);
        last = i + 7;
        i = s.indexOf('_', last);
        continue;
      }
    }
    i = s.indexOf('_', i + 1);
  }
  return out + s.slice(last);
}
