// RFC 9110 8.6 Content-Length and 8.3 Content-Type charset; MS-WSMV 2.2.9 (UTF-8 or UTF-16 bodies).
import type { Dispatcher } from 'undici';
import { TransportError } from '../errors.js';

const ignore = (): void => undefined;

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
  // Events rather than `for await`: an async iterator costs a promise and a few objects per chunk,
  // which showed in the CPU profile of a streaming Receive loop (issue 17).
  const body = res.body;
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = (err: unknown, result?: Buffer): void => {
      body.off('data', onData).off('end', onEnd).off('error', onError).off('close', onClose);
      // A body destroyed here still reports its abort as an 'error' event later: not an uncaught one.
      body.on('error', ignore);
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors
      if (result === undefined) reject(err);
      else resolve(result);
    };
    const onData = (chunk: Buffer): void => {
      if (signal.aborted) {
        body.destroy();
        done(signal.reason);
        return;
      }
      size += chunk.length;
      if (size > max) {
        body.destroy();
        done(tooLarge(`The response exceeds the ${max}-byte limit`, res.statusCode));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void =>
      done(undefined, chunks.length === 1 && chunks[0] ? chunks[0] : Buffer.concat(chunks, size));
    const onError = (err: unknown): void => done(err);
    // Destroyed without an error (an abort elsewhere): what `for await` reports as premature close.
    const closedEarly = (): unknown =>
      body.errored ??
      (signal.aborted
        ? signal.reason
        : Object.assign(new Error('Premature close'), { code: 'ERR_STREAM_PREMATURE_CLOSE' }));
    const onClose = (): void => {
      if (!body.readableEnded) done(closedEarly());
    };
    if (body.destroyed) {
      done(closedEarly());
      return;
    }
    body.on('data', onData).once('end', onEnd).once('error', onError).once('close', onClose);
  });
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
