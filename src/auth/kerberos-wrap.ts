// RFC 4121 4.2.6.2 (Wrap tokens: TOK_ID 05 04, Flags, EC, RRC, SND_SEQ) and 4.2.5 (Right Rotation
// Count), MS-WSMV 2.2.9.1.1.2.2 (the encrypted data part: header length, header, encrypted bytes),
// MS-NLMP 2.2.2.9.1 (an NTLM signature, when SPNEGO chose NTLM).
/**
 * The WinRM layout of a GSS wrap token, sans-IO. Windows SSPI wraps a WinRM message with the IOV
 * API: the encrypted bytes stay where the plaintext was, and everything else (the token header,
 * the confounder, the encrypted header copy and the checksum) goes into the "header" that the
 * multipart body puts before them. A plain `gss_wrap` (which is all the `kerberos` npm binding
 * offers) returns one token with RRC 0: `header | E(confounder | data | filler | header) | checksum`.
 * Rotating the ciphertext right by `EC + 28` bytes and writing that count into RRC gives the very
 * byte string the IOV call produces, so the header is the first `16 + RRC + 16` bytes and the rest
 * is exactly as long as the plaintext. Receivers rotate back by RRC (RFC 4121 4.2.5), so the
 * opposite direction needs no conversion: `header ‖ data` is a valid wrap token.
 *
 * A token of SPNEGO-negotiated NTLM (gss-ntlmssp) is already `signature(16) ‖ sealed`. Anything
 * else (RFC 4757 RC4-HMAC tokens, which start with the 0x60 framing) is refused.
 */
import { AuthenticationError } from '../errors.js';

/** TOK_ID of an RFC 4121 Wrap token. */
const CFX_WRAP = 0x0504;
const HEADER = 16;
/** AES confounder (the cipher's block size). */
const CONFOUNDER = 16;
/** The HMAC-SHA1-96 checksum of the AES enctypes (RFC 3962). */
const CHECKSUM = 12;
const NTLM_SIGNATURE = 16;

export interface WinrmWrapped {
  readonly header: Buffer;
  readonly data: Buffer;
}

const unsupported = (what: string): AuthenticationError =>
  new AuthenticationError(`Cannot encrypt WinRM messages with this security context: ${what}`, {
    mechanism: 'kerberos',
    code: 'PSRP_KERBEROS_UNSUPPORTED',
    hint: 'psrp encrypts with AES Kerberos (RFC 4121) or NTLM; make sure the account and the server allow AES (msDS-SupportedEncryptionTypes), or use https://.',
  });

/**
 * Splits a `gss_wrap` token of a `plaintextLength`-byte message into WinRM's header and
 * encrypted data, rotating an RFC 4121 token into the layout Windows produces.
 */
export function winrmWrapLayout(token: Uint8Array, plaintextLength: number): WinrmWrapped {
  const t = Buffer.from(token.buffer, token.byteOffset, token.byteLength);
  if (t.length >= HEADER && t.readUInt16BE(0) === CFX_WRAP) {
    const flags = t[2]!;
    if ((flags & 0x02) === 0)
      throw unsupported('the wrap token is not sealed (confidentiality was not negotiated)');
    const ec = t.readUInt16BE(4);
    const rrc = t.readUInt16BE(6);
    const body = t.subarray(HEADER);
    if (body.length !== CONFOUNDER + plaintextLength + ec + HEADER + CHECKSUM)
      throw unsupported(`a ${body.length}-byte wrap token for ${plaintextLength} bytes (not AES)`);
    // Undo any rotation the library applied, then rotate right by the trailer length.
    const plain = rotateLeft(body, rrc % body.length);
    const trailer = ec + HEADER + CHECKSUM;
    const rotated = rotateLeft(plain, plain.length - trailer);
    const out = Buffer.concat([t.subarray(0, HEADER), rotated]);
    out.writeUInt16BE(trailer, 6);
    const headerLength = HEADER + trailer + CONFOUNDER;
    return { header: out.subarray(0, headerLength), data: out.subarray(headerLength) };
  }
  if (t.length === NTLM_SIGNATURE + plaintextLength && t.readUInt32LE(0) === 1) {
    return { header: t.subarray(0, NTLM_SIGNATURE), data: t.subarray(NTLM_SIGNATURE) };
  }
  throw unsupported(
    t[0] === 0x60
      ? 'an RFC 4757 (RC4-HMAC) token'
      : `an unknown token (starts ${t.subarray(0, 2).toString('hex')})`,
  );
}

/** The wrap token a WinRM header and data part form, for `gss_unwrap`. */
export function gssTokenFromWinrm(header: Uint8Array, data: Uint8Array): Buffer {
  return Buffer.concat([header, data]);
}

function rotateLeft(bytes: Buffer, n: number): Buffer {
  if (n === 0) return Buffer.from(bytes);
  return Buffer.concat([bytes.subarray(n), bytes.subarray(0, n)]);
}
