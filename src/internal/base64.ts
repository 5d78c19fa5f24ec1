// RFC 4648 section 4 (base64), read the way .NET's Convert.FromBase64String reads it (which is what
// PowerShell applies to `<BA>`/`<SS>` and WinRM to rsp:Stream, MS-WSMV 2.2.4.40): whitespace
// (space, tab, CR, LF) may appear anywhere and is ignored; the other characters come in groups of
// four; `=` padding, at most two, only at the end.
/**
 * One pass over the text, no regular expression: hostile input (a letter, 100,000 spaces, then `!`)
 * costs the same as any other input of its length.
 */

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

/** True when `text` is base64 as described above. Linear in its length. */
export function isBase64(text: string): boolean {
  let significant = 0;
  let padding = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (isSpace(c)) continue;
    if (c === 0x3d /* = */) {
      padding++;
      if (padding > 2) return false;
    } else {
      if (padding > 0) return false; // data after padding
      if (!(
        (c >= 0x41 && c <= 0x5a) ||
        (c >= 0x61 && c <= 0x7a) ||
        (c >= 0x30 && c <= 0x39) ||
        c === 0x2b /* + */ ||
        c === 0x2f /* / */
      )) {
        return false;
      }
    }
    significant++;
  }
  return significant % 4 === 0;
}

/**
 * The bytes of base64 `text`, or undefined when it is not base64. Canonical text (what PowerShell
 * and WinRM write) is recognised by encoding the decoded bytes back, which is faster than checking
 * each character; anything else is checked by {@link isBase64}. The result owns its memory (a
 * view of a pooled Buffer is copied, a large one is returned without a copy).
 */
export function decodeBase64(text: string): Uint8Array | undefined {
  const buf = Buffer.from(text, 'base64');
  if (buf.toString('base64') !== text && !isBase64(text)) return undefined;
  if (buf.byteOffset === 0 && buf.buffer.byteLength === buf.length) {
    return new Uint8Array(buf.buffer, 0, buf.length);
  }
  return new Uint8Array(buf);
}
