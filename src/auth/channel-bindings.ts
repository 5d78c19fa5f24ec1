// RFC 5929 4 The 'tls-server-end-point' Channel Binding Type (4.1: hash the server certificate with
// the hash of its signature algorithm, SHA-256 when that is MD5 or SHA-1); RFC 2744 3.11
// gss_channel_bindings_struct; MS-NLMP 2.2.2.1 MsvAvChannelBindings (the MD5 hash of that struct)
// and 3.1.5.1.2; RFC 5280 4.1.1.2 (Certificate.signatureAlgorithm); X.690 DER (definite lengths).
import { createHash } from 'node:crypto';
import { InvalidArgumentError } from '../errors.js';

/** Signature algorithm OIDs (RFC 3279, 4055, 5758, 8410) and the hash RFC 5929 4.1 picks for them. */
const SIGNATURE_HASH: Readonly<Record<string, string>> = {
  '1.2.840.113549.1.1.4': 'sha256', // md5WithRSAEncryption → SHA-256
  '1.2.840.113549.1.1.5': 'sha256', // sha1WithRSAEncryption → SHA-256
  '1.2.840.113549.1.1.14': 'sha224',
  '1.2.840.113549.1.1.11': 'sha256',
  '1.2.840.113549.1.1.12': 'sha384',
  '1.2.840.113549.1.1.13': 'sha512',
  '1.2.840.10045.4.1': 'sha256', // ecdsa-with-SHA1 → SHA-256
  '1.2.840.10045.4.3.1': 'sha224',
  '1.2.840.10045.4.3.2': 'sha256',
  '1.2.840.10045.4.3.3': 'sha384',
  '1.2.840.10045.4.3.4': 'sha512',
  '1.2.840.10040.4.3': 'sha256', // dsa-with-sha1 → SHA-256
  '2.16.840.1.101.3.4.3.1': 'sha224',
  '2.16.840.1.101.3.4.3.2': 'sha256',
};
/** RFC 4055 hash OIDs, for RSASSA-PSS parameters. */
const HASH_OIDS: Readonly<Record<string, string>> = {
  '1.3.14.3.2.26': 'sha256', // SHA-1 → SHA-256
  '2.16.840.1.101.3.4.2.4': 'sha224',
  '2.16.840.1.101.3.4.2.1': 'sha256',
  '2.16.840.1.101.3.4.2.2': 'sha384',
  '2.16.840.1.101.3.4.2.3': 'sha512',
};
const RSASSA_PSS = '1.2.840.113549.1.1.10';

interface Tlv {
  readonly tag: number;
  /** Offset of the value. */
  readonly start: number;
  /** Offset just past the value. */
  readonly end: number;
}

function bad(message: string): InvalidArgumentError {
  return new InvalidArgumentError(`Not a DER X.509 certificate: ${message}`);
}

/** Reads one DER TLV at `offset`, bounds-checked against `limit`. */
function readTlv(der: Buffer, offset: number, limit: number): Tlv {
  if (offset + 2 > limit) throw bad('truncated');
  const tag = der[offset] ?? 0;
  let length = der[offset + 1] ?? 0;
  let start = offset + 2;
  if (length & 0x80) {
    const n = length & 0x7f;
    if (n === 0 || n > 4 || start + n > limit) throw bad('bad length');
    length = 0;
    for (let i = 0; i < n; i++) length = length * 256 + (der[start + i] ?? 0);
    start += n;
  }
  if (start + length > limit) throw bad('truncated');
  return { tag, start, end: start + length };
}

function decodeOid(der: Buffer, tlv: Tlv): string {
  if (tlv.tag !== 0x06 || tlv.end === tlv.start) throw bad('expected an OBJECT IDENTIFIER');
  const arcs: number[] = [];
  let value = 0;
  for (let i = tlv.start; i < tlv.end; i++) {
    const byte = der[i] ?? 0;
    value = value * 128 + (byte & 0x7f);
    if (!(byte & 0x80)) {
      arcs.push(value);
      value = 0;
    }
  }
  const first = arcs.shift() ?? 0;
  const head = first < 40 ? [0, first] : first < 80 ? [1, first - 40] : [2, first - 80];
  return [...head, ...arcs].join('.');
}

/**
 * The hash RFC 5929 4.1 prescribes for a certificate: the one of its signature algorithm, SHA-256
 * for MD5 and SHA-1. Algorithms without a hash of their own (Ed25519, Ed448) are not covered by
 * RFC 5929; we use SHA-256 for them.
 */
export function certificateHashAlgorithm(certificateDer: Uint8Array): string {
  const der = Buffer.from(certificateDer.buffer, certificateDer.byteOffset, certificateDer.byteLength);
  // Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm AlgorithmIdentifier, signature }
  const cert = readTlv(der, 0, der.length);
  if (cert.tag !== 0x30) throw bad('expected a SEQUENCE');
  const tbs = readTlv(der, cert.start, cert.end);
  const algorithm = readTlv(der, tbs.end, cert.end);
  if (algorithm.tag !== 0x30) throw bad('expected the signatureAlgorithm SEQUENCE');
  const oidTlv = readTlv(der, algorithm.start, algorithm.end);
  const oid = decodeOid(der, oidTlv);
  if (oid === RSASSA_PSS) {
    // RSASSA-PSS-params ::= SEQUENCE { hashAlgorithm [0] HashAlgorithm DEFAULT sha1, ... }
    if (oidTlv.end >= algorithm.end) return 'sha256';
    const params = readTlv(der, oidTlv.end, algorithm.end);
    if (params.tag !== 0x30 || params.start === params.end) return 'sha256';
    const first = readTlv(der, params.start, params.end);
    if (first.tag !== 0xa0) return 'sha256';
    const hashAlgorithm = readTlv(der, first.start, first.end);
    return HASH_OIDS[decodeOid(der, readTlv(der, hashAlgorithm.start, hashAlgorithm.end))] ?? 'sha256';
  }
  return SIGNATURE_HASH[oid] ?? 'sha256';
}

/**
 * RFC 5929 `tls-server-end-point` channel binding data for a server certificate (DER):
 * `"tls-server-end-point:" || hash(certificate)`. This is the `application_data` of the
 * gss_channel_bindings_struct that Windows (Extended Protection for Authentication) checks.
 */
export function tlsServerEndPoint(certificateDer: Uint8Array): Buffer {
  const hash = createHash(certificateHashAlgorithm(certificateDer)).update(certificateDer).digest();
  return Buffer.concat([Buffer.from('tls-server-end-point:', 'latin1'), hash]);
}

/**
 * RFC 2744 3.11 gss_channel_bindings_struct, flattened the way MS-NLMP hashes it: initiator
 * address type and address, acceptor address type and address (all empty for TLS bindings), then
 * the application data, each length a 32-bit little-endian integer.
 */
export function gssChannelBindings(applicationData: Uint8Array): Buffer {
  const head = Buffer.alloc(20);
  head.writeUInt32LE(applicationData.length, 16);
  return Buffer.concat([head, applicationData]);
}

/** MS-NLMP 2.2.2.1 MsvAvChannelBindings value: MD5(gss_channel_bindings_struct). */
export function channelBindingsHash(applicationData: Uint8Array): Buffer {
  return createHash('md5').update(gssChannelBindings(applicationData)).digest();
}
