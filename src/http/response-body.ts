// RFC 9110 8.3 Content-Type charset; MS-WSMV 2.2.9 (UTF-8 or UTF-16 bodies).

/**
 * Decodes a body as WinRM sends it: UTF-8 by default, UTF-16 when a byte-order mark or the
 * `charset` of `Content-Type` says so. A UTF-8 byte-order mark is dropped.
 */
export function decodeBody(bytes: Buffer, contentType: string | undefined): string {
  if (bytes.length >= 2 && bytes[0] === 0xff && bytes[1] === 0xfe)
    return bytes.subarray(2).toString('utf16le');
  if (bytes.length >= 2 && bytes[0] === 0xfe && bytes[1] === 0xff)
    return swap16(bytes.subarray(2)).toString('utf16le');
  if (bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf)
    return bytes.subarray(3).toString('utf8');
  const charset = /;\s*charset\s*=\s*"?([\w-]+)/i.exec(contentType ?? '')?.[1]?.toLowerCase();
  if (charset === 'utf-16' || charset === 'utf-16le') return bytes.toString('utf16le');
  if (charset === 'utf-16be') return swap16(bytes).toString('utf16le');
  return bytes.toString('utf8');
}

function swap16(bytes: Buffer): Buffer {
  const copy = Buffer.from(bytes.subarray(0, bytes.length - (bytes.length % 2)));
  return copy.swap16();
}
