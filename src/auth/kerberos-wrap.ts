// RFC 4121 4.2.6.2 (the Wrap token: TOK_ID 05 04, Flags, Filler FF, EC, RRC, SND_SEQ), 4.2.4
// (sealed layout: {confounder | plaintext | EC filler | token header} encrypted, then the checksum),
// 4.2.5 (RRC: the token body rotated right by RRC bytes); MS-WSMV 2.2.9.1.1.2.2 (the encrypted
// data part: header = the wrap token's header with the rotated trailer, then the encrypted data),
// MS-KILE 3.4.5.4.1 (Windows' GSS_WrapEx/EncryptMessage: trailer in the header buffer, RRC set).
/**
 * Conversion between a plain `gss_wrap` Kerberos token (what a GSSAPI binding without IOV gives:
 * RRC 0, the trailer after the data) and Windows' two-buffer layout for WinRM message encryption
 * (the trailer rotated into the header, RRC = 16 + EC + checksum length, 28 for AES-SHA1), sans-IO.
 *
 * Windows layout of one sealed message, AES-SHA1 (enctypes 17, 18), EC 0:
 *
 *   header (60 bytes) = token header (16, RRC = 28) | E(header copy) (16) | HMAC (12) | E(confounder) (16)
 *   data   (n bytes)  = E(plaintext)
 */
import { InvalidArgumentError } from '../errors.js';

/** RFC 4121 4.2.6.2 Flags. */
export const WrapFlags = {
  SENT_BY_ACCEPTOR: 0x01,
  SEALED: 0x02,
  ACCEPTOR_SUBKEY: 0x04,
} as const;

/** The length of the checksum of aes128/aes256-cts-hmac-sha1-96 (RFC 3962): 12 bytes. */
export const AES_SHA1_CHECKSUM_LENGTH = 12;

export interface WrapTokenHeader {
  readonly flags: number;
  readonly ec: number;
  readonly rrc: number;
  readonly sequenceNumber: bigint;
}

const bad = (message: string): InvalidArgumentError =>
  new InvalidArgumentError(`Kerberos wrap token: ${message}`, { code: 'PSRP_KERBEROS_WRAP_INVALID' });

/** Reads the 16-byte header of an RFC 4121 Wrap token (4.2.6.2). */
export function parseWrapTokenHeader(token: Uint8Array): WrapTokenHeader {
  if (token.length < 16) throw bad(`${token.length} bytes, a header has 16`);
  if (token[0] !== 0x05 || token[1] !== 0x04) throw bad('TOK_ID is not 05 04 (not a CFX Wrap token)');
  if (token[3] !== 0xff) throw bad('Filler is not FF');
  const v = new DataView(token.buffer, token.byteOffset, token.byteLength);
  return {
    flags: token[2]!,
    ec: v.getUint16(4),
    rrc: v.getUint16(6),
    sequenceNumber: v.getBigUint64(8),
  };
}

/** Rotates `bytes` right by `n` (RFC 4121 4.2.5); a negative `n` rotates left. */
function rotateRight(bytes: Uint8Array, n: number): Uint8Array {
  const len = bytes.length;
  if (len === 0) return new Uint8Array(0);
  const k = ((n % len) + len) % len;
  const out = new Uint8Array(len);
  out.set(bytes.subarray(len - k), 0);
  out.set(bytes.subarray(0, len - k), k);
  return out;
}

/**
 * Splits a sealed `gss_wrap` token of `plaintextLength` bytes of plaintext into Windows' header and
 * data: RRC is set to 16 + EC + `checksumLength` and the token body rotated accordingly (any RRC the
 * token had is undone first), so the header ends with the encrypted confounder and the data is the
 * encrypted plaintext, of the plaintext's length. Throws for an unsealed token or a wrong length.
 */
export function toWindowsWrapLayout(
  token: Uint8Array,
  plaintextLength: number,
  checksumLength: number = AES_SHA1_CHECKSUM_LENGTH,
): { header: Uint8Array; data: Uint8Array } {
  const h = parseWrapTokenHeader(token);
  if (!(h.flags & WrapFlags.SEALED)) throw bad('not sealed (confidentiality was not applied)');
  const body = token.subarray(16);
  const trailer = 16 + h.ec + checksumLength;
  // confounder (one 16-byte AES block) + plaintext + EC filler + header copy + checksum
  if (body.length !== 16 + plaintextLength + trailer)
    throw bad(`body of ${body.length} bytes does not fit ${plaintextLength} bytes of plaintext`);
  const unrotated = rotateRight(body, -h.rrc);
  const rotated = rotateRight(unrotated, trailer);
  const out = new Uint8Array(token.length);
  out.set(token.subarray(0, 16), 0);
  new DataView(out.buffer).setUint16(6, trailer);
  out.set(rotated, 16);
  const split = out.length - plaintextLength;
  return { header: out.subarray(0, split), data: out.subarray(split) };
}

/**
 * Joins Windows' header and data back into one Wrap token (RRC as the header says) for
 * `gss_unwrap`, which undoes the rotation itself (RFC 4121 4.2.5; MIT and Heimdal do).
 */
export function fromWindowsWrapLayout(header: Uint8Array, data: Uint8Array): Uint8Array {
  parseWrapTokenHeader(header);
  const out = new Uint8Array(header.length + data.length);
  out.set(header, 0);
  out.set(data, header.length);
  return out;
}

/** The same token with RRC 0 (the body rotated back), for a peer that does not honour RRC. */
export function unrotateWrapToken(token: Uint8Array): Uint8Array {
  const h = parseWrapTokenHeader(token);
  const out = new Uint8Array(token.length);
  out.set(token.subarray(0, 16), 0);
  new DataView(out.buffer).setUint16(6, 0);
  out.set(rotateRight(token.subarray(16), -h.rrc), 16);
  return out;
}
