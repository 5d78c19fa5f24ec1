// RFC 4648 section 4 (base64), read the way .NET's Convert.FromBase64String reads it (which is what
// PowerShell applies to `<BA>`/`<SS>` and WinRM to rsp:Stream, MS-WSMV 2.2.4.40): whitespace
// (space, tab, CR, LF) may appear anywhere and is ignored; the other characters come in groups of
// four; `=` padding, at most two, only at the end.
/**
 * One pass over the text, and no regular expression that can backtrack: hostile input (a letter,
 * 100,000 spaces, then `!`) costs the same as any other input of its length.
 */

/** Per character code below 128: 1 base64 alphabet, 2 whitespace, 3 `=`, 0 anything else. */
const CLASS = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  const ch = String.fromCharCode(c);
  if (/[A-Za-z0-9+/]/.test(ch)) CLASS[c] = 1;
}
CLASS[0x20] = CLASS[0x09] = CLASS[0x0a] = CLASS[0x0d] = 2;
CLASS[0x3d] = 3;

/**
 * Base64 without whitespace, the form PowerShell and WinRM write, checked by the regular
 * expression engine (faster than a loop in JavaScript). It cannot backtrack more than linearly:
 * the two parts match disjoint characters and it is anchored at the start.
 */
const CANONICAL = /^[A-Za-z0-9+/]*={0,2}$/;

/** True when `text` is base64 as described above. Linear in its length. */
export function isBase64(text: string): boolean {
  let significant = 0;
  let padding = 0;
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    const k = c < 128 ? CLASS[c]! : 0;
    if (k === 1) {
      if (padding > 0) return false; // data after padding
      significant++;
    } else if (k === 3) {
      if (++padding > 2) return false;
      significant++;
    } else if (k === 0) return false;
  }
  return significant % 4 === 0;
}

/**
 * The bytes of base64 `text`, or undefined when it is not base64. Text in the form PowerShell and
 * WinRM write (no whitespace, padded) is recognised by a native fast path, and anything else by
 * {@link isBase64}. Two fast paths, because which is faster depends on the text: `'reencode'`
 * (decode, encode back, compare: fastest for byte arrays inside CLIXML documents) or `'regex'`
 * (fastest for the long one-byte texts of WS-Man streams). The result owns its memory (a view of a
 * pooled Buffer is copied, a large one is returned without a copy).
 */
export function decodeBase64(text: string, fastPath: 'reencode' | 'regex' = 'regex'): Uint8Array | undefined {
  let buf: Buffer | undefined;
  if (fastPath === 'reencode') {
    buf = Buffer.from(text, 'base64');
    if (buf.toString('base64') !== text && !isBase64(text)) return undefined;
  } else {
    if (!(CANONICAL.test(text) && text.length % 4 === 0) && !isBase64(text)) return undefined;
    buf = Buffer.from(text, 'base64');
  }
  // A Buffer of its own memory (the size estimate may exceed the bytes by two) is returned as is;
  // a small one may be a slice of Node's shared pool, and is copied.
  if (buf.byteOffset === 0 && buf.buffer.byteLength <= buf.length + 2) {
    return new Uint8Array(buf.buffer, 0, buf.length);
  }
  return new Uint8Array(buf);
}
