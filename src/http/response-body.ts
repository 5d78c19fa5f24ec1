// RFC 9110 8.6 Content-Length and 8.3 Content-Type charset; MS-WSMV 2.2.9 (UTF-8 or UTF-16 bodies).
import type { Dispatcher } from 'undici';
import { TransportError } from '../errors.js';

function tooLarge(message: string, status: number): TransportError {
  return new TransportError(message, {
    code: 'PSRP_HTTP_RESPONSE_TOO_LARGE',
    statusCode: status,
    hint: 'Raise `maxResponseBytes`, or lower the WS-Man MaxEnvelopeSize so each response stays smaller.',
  });
}

/**
 * Reads a whole response body, refusing one larger than `max` bytes: a `Content-Length` above it is
 * refused before any byte is read, a body that grows past it is cut off. Either way the body stream
 * is destroyed, so undici drops that connection instead of draining it.
 */
export async function readBounded(
  res: Dispatcher.ResponseData,
  max: number,
  signal: AbortSignal,
): Promise<Buffer> {
  const declared = res.headers['content-length'];
  const length = typeof declared === 'string' && /^\d+$/.test(declared) ? Number(declared) : undefined;
  if (length !== undefined && length > max) {
    res.body.destroy();
    throw tooLarge(`The response declares ${length} bytes, more than the ${max}-byte limit`, res.statusCode);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res.body) {
    signal.throwIfAborted();
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > max) {
      res.body.destroy();
      throw tooLarge(`The response exceeds the ${max}-byte limit`, res.statusCode);
    }
    chunks.push(buffer);
  }
  return chunks.length === 1 && chunks[0] ? chunks[0] : Buffer.concat(chunks, size);
}

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
