// MS-WSMV 2.2.9.1 Encrypted Message Types: 2.2.9.1.1 (SPNEGO/Kerberos encrypted message),
// 2.2.9.1.1.1 (the multipart/encrypted layout), 2.2.9.1.1.2.1 (encryption parameters part),
// 2.2.9.1.1.2.2 (encrypted data: Length-Field, header, data); 2.2.9.1.2 (multipart/x-multi-encrypted).
/**
 * WinRM message encryption over plain HTTP, sans-IO: a SOAP envelope in, the HTTP body and
 * Content-Type of a `multipart/encrypted` message out, and back. The security context (NTLM or
 * Kerberos, set up by SPNEGO) is behind {@link SealingContext}; this file only frames.
 *
 * Layout of one part pair (CRLF line ends, tab-indented headers):
 *
 *   --Encrypted Boundary
 *   	Content-Type: application/HTTP-SPNEGO-session-encrypted
 *   	OriginalContent: type=application/soap+xml;charset=UTF-8;Length=<plaintext bytes>
 *   --Encrypted Boundary
 *   	Content-Type: application/octet-stream
 *   <uint32 LE header length><header (NTLM signature / Kerberos wrap token)><sealed bytes>--Encrypted Boundary--
 *
 * Parsing takes the boundary from the Content-Type parameter rather than assuming the usual
 * `Encrypted Boundary`, accepts LF or CRLF, any protocol name (SPNEGO, Kerberos, CredSSP) and
 * several part pairs (`multipart/x-multi-encrypted`), Exchange's boundary lines with white space
 * after the dashes (`-- Encrypted Boundary`), and checks the announced plaintext length. Messages
 * are not split when sent: Windows splits into 16 KiB parts only for CredSSP, which psrp does not
 * speak.
 */
import { ProtocolError } from '../errors.js';
import type { SealingContext } from '../auth/sealing-context.js';

export type { SealedMessage, SealingContext } from '../auth/sealing-context.js';


export const SPNEGO_ENCRYPTED = 'application/HTTP-SPNEGO-session-encrypted';
export const KERBEROS_ENCRYPTED = 'application/HTTP-Kerberos-session-encrypted';
const BOUNDARY = 'Encrypted Boundary';
const ORIGINAL_TYPE = 'application/soap+xml;charset=UTF-8';

export interface EncryptedBody {
  readonly body: Buffer;
  readonly contentType: string;
}

/** Wraps one SOAP envelope into a `multipart/encrypted` body. */
export async function encryptMessage(
  context: SealingContext,
  envelope: string | Uint8Array,
): Promise<EncryptedBody> {
  const plain =
    typeof envelope === 'string'
      ? Buffer.from(envelope, 'utf8')
      : Buffer.from(envelope.buffer, envelope.byteOffset, envelope.byteLength);
  const { header, data } = await context.seal(plain);
  const length = Buffer.alloc(4);
  length.writeUInt32LE(header.length, 0);
  const head =
    `--${BOUNDARY}\r\n\tContent-Type: ${context.protocol}\r\n\tOriginalContent: type=${ORIGINAL_TYPE};Length=${plain.length}\r\n` +
    `--${BOUNDARY}\r\n\tContent-Type: application/octet-stream\r\n`;
  return {
    body: Buffer.concat([
      Buffer.from(head, 'latin1'),
      length,
      header,
      data,
      Buffer.from(`--${BOUNDARY}--\r\n`, 'latin1'),
    ]),
    contentType: `multipart/encrypted;protocol="${context.protocol}";boundary="${BOUNDARY}"`,
  };
}

const bad = (message: string): ProtocolError =>
  new ProtocolError(`Encrypted WinRM message: ${message}`, { code: 'PSRP_ENCRYPTION_INVALID' });

/** The boundary named by a `multipart/encrypted` Content-Type, or undefined for another type. */
export function encryptedBoundary(contentType: string | undefined): string | undefined {
  if (!contentType || !/^\s*multipart\/(x-multi-)?encrypted\s*(;|$)/i.test(contentType)) return undefined;
  const m = /;\s*boundary\s*=\s*(?:"([^"]*)"|([^;\s]+))/i.exec(contentType);
  return m ? (m[1] ?? m[2]) : BOUNDARY;
}

/**
 * Unwraps a `multipart/encrypted` (or `multipart/x-multi-encrypted`) body into the SOAP envelope.
 * Malformed framing, a length that does not match, or a failing unseal throw ProtocolError
 * `PSRP_ENCRYPTION_INVALID` (the unseal's own error is the cause).
 */
export async function decryptMessage(
  context: SealingContext,
  body: Uint8Array,
  contentType: string,
): Promise<string> {
  const boundary = encryptedBoundary(contentType);
  if (boundary === undefined)
    throw bad(`expected multipart/encrypted, got ${JSON.stringify(contentType.slice(0, 80))}`);
  const buf = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  const find = boundaryFinder(buf, boundary);
  const out: Buffer[] = [];
  let pos = 0;
  for (;;) {
    const first = find(pos);
    if (first === undefined) break;
    // The first part: headers naming the original length.
    const headersStart = first.end;
    if (buf.subarray(headersStart, headersStart + 2).toString('latin1') === '--') break; // closing boundary
    const second = find(headersStart);
    if (second === undefined) throw bad('the encryption parameters part is not followed by the data part');
    const params = buf.subarray(headersStart, second.start).toString('latin1');
    const lengthMatch = /Length\s*=\s*(\d+)/i.exec(params);
    if (!/OriginalContent\s*:/i.test(params) || !lengthMatch) throw bad('no OriginalContent length');
    const expected = Number(lengthMatch[1]);
    // The second part: a Content-Type line, then the binary payload up to the next boundary.
    let p = second.end;
    const lineEnd = buf.indexOf(0x0a, buf.indexOf(0x0a, p) + 1);
    if (lineEnd < 0) throw bad('truncated data part');
    const dataHeaders = buf.subarray(p, lineEnd).toString('latin1');
    if (!/Content-Type\s*:\s*application\/octet-stream/i.test(dataHeaders))
      throw bad('the data part is not application/octet-stream');
    p = lineEnd + 1;
    if (p + 4 > buf.length) throw bad('truncated length field');
    const headerLength = buf.readUInt32LE(p);
    p += 4;
    // Stream ciphers (NTLM) keep the length: look there first, so sealed bytes that happen to
    // contain the boundary text cannot cut the message short.
    const exact = p + headerLength + expected;
    const end = find(exact)?.start === exact ? exact : (find(p)?.start ?? -1);
    if (end < 0) throw bad('no boundary after the encrypted data');
    if (headerLength > end - p) throw bad(`the signature length ${headerLength} exceeds the data`);
    const header = buf.subarray(p, p + headerLength);
    const sealed = buf.subarray(p + headerLength, end);
    let plain: Uint8Array;
    try {
      plain = await context.unseal(header, sealed);
    } catch (cause) {
      throw new ProtocolError(
        'Encrypted WinRM message: the message could not be unsealed (wrong key, tampered or out of sequence)',
        {
          code: 'PSRP_ENCRYPTION_INVALID',
          cause,
        },
      );
    }
    if (plain.length !== expected)
      throw bad(`the plaintext has ${plain.length} bytes, OriginalContent says ${expected}`);
    out.push(Buffer.from(plain.buffer, plain.byteOffset, plain.byteLength));
    pos = end;
  }
  if (out.length === 0) throw bad('no encrypted part found');
  return Buffer.concat(out).toString('utf8');
}

/**
 * Finds boundary lines `--<boundary>`, also in the form Exchange sends, with white space between the
 * dashes and the boundary (`-- Encrypted Boundary`). Returns where the line starts and where the
 * boundary text ends.
 */
function boundaryFinder(
  buf: Buffer,
  boundary: string,
): (from: number) => { readonly start: number; readonly end: number } | undefined {
  const text = Buffer.from(boundary, 'latin1');
  return (from) => {
    for (let i = buf.indexOf(text, from); i >= 0; i = buf.indexOf(text, i + 1)) {
      let j = i - 1;
      while (j >= from && (buf[j] === 0x20 || buf[j] === 0x09)) j--;
      if (j - 1 >= from && buf[j] === 0x2d && buf[j - 1] === 0x2d)
        return { start: j - 1, end: i + text.length };
    }
    return undefined;
  };
}
