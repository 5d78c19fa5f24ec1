// RFC 3961 5.1 (n-fold), 5.1/5.3 (DR, DK and the simplified profile: key usage constants
// usage|0x99 Kc, usage|0xAA Ke, usage|0x55 Ki; encrypt = E(Ke, confounder | plaintext) followed by
// the truncated HMAC of confounder | plaintext under Ki), RFC 3962 5-6 (aes128-cts-hmac-sha1-96 = 17,
// aes256-cts-hmac-sha1-96 = 18: AES in CBC mode with ciphertext stealing, zero IV, a 16-byte
// confounder, HMAC-SHA1 truncated to 96 bits, random-to-key = identity).
/**
 * The Kerberos AES-SHA1 encryption types, sans-IO (`node:crypto` only), as much as a GSS context
 * needs: key derivation per key usage, AES-CTS, HMAC-SHA1-96, and the encryption of an
 * EncryptedData (RFC 4120 5.2.9) with a key usage. Keys are plain bytes; callers keep them out of
 * errors and logs.
 */
import { createCipheriv, createDecipheriv, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { AuthenticationError, ProtocolError } from '../errors.js';

/** RFC 3962 encryption type numbers. */
export const EncType = {
  AES128_CTS_HMAC_SHA1_96: 17,
  AES256_CTS_HMAC_SHA1_96: 18,
} as const;

/** A Kerberos key: its encryption type and bytes (RFC 4120 5.2.9 EncryptionKey). */
export interface Krb5Key {
  readonly enctype: number;
  readonly bytes: Uint8Array;
}

/**
 * A {@link Krb5Key} whose `bytes` are non-enumerable, so `util.inspect`, `JSON.stringify` and test
 * diffs of it (or of anything holding it) show the enctype only.
 */
export function krb5Key(enctype: number, bytes: Uint8Array): Krb5Key {
  const key = { enctype } as { enctype: number; bytes: Uint8Array };
  Object.defineProperty(key, 'bytes', { value: bytes, enumerable: false });
  return key;
}

const BLOCK = 16;
/** RFC 3962 6: the checksum (and HMAC) is truncated to 96 bits. */
export const AES_SHA1_HMAC_LENGTH = 12;
const ZERO_IV = Buffer.alloc(BLOCK);

/** The key length of an AES-SHA1 enctype; any other enctype is `PSRP_KERBEROS_UNSUPPORTED`. */
export function aesKeyLength(enctype: number): 16 | 32 {
  if (enctype === EncType.AES128_CTS_HMAC_SHA1_96) return 16;
  if (enctype === EncType.AES256_CTS_HMAC_SHA1_96) return 32;
  throw new AuthenticationError(
    `Kerberos encryption type ${enctype} is not supported for message encryption (only aes128-cts-hmac-sha1-96 (17) and aes256-cts-hmac-sha1-96 (18))`,
    { mechanism: 'kerberos', code: 'PSRP_KERBEROS_UNSUPPORTED' },
  );
}

function checkKey(key: Krb5Key): Buffer {
  const len = aesKeyLength(key.enctype);
  if (key.bytes.length !== len)
    throw new ProtocolError(
      `Kerberos key of enctype ${key.enctype} has ${key.bytes.length} bytes, not ${len}`,
      {
        code: 'PSRP_KERBEROS_MESSAGE_INVALID',
      },
    );
  return Buffer.from(key.bytes.buffer, key.bytes.byteOffset, key.bytes.byteLength);
}

const cipherName = (key: Uint8Array): string => (key.length === 32 ? 'aes-256-cbc' : 'aes-128-cbc');

/** AES-CBC without padding, zero IV (`data` a whole number of blocks). */
function cbcEncrypt(key: Uint8Array, data: Uint8Array): Buffer {
  const c = createCipheriv(cipherName(key), key, ZERO_IV);
  c.setAutoPadding(false);
  return Buffer.concat([c.update(data), c.final()]);
}

function cbcDecrypt(key: Uint8Array, data: Uint8Array): Buffer {
  const d = createDecipheriv(cipherName(key), key, ZERO_IV);
  d.setAutoPadding(false);
  return Buffer.concat([d.update(data), d.final()]);
}

/**
 * RFC 3961 5.1 n-fold: `input` folded to `outBytes` bytes. The input is repeated lcm(in, out)/in
 * times, each copy rotated right by 13 bits more than the previous one, and the out-sized pieces
 * are added with one's-complement (end-around carry) addition.
 */
export function nfold(input: Uint8Array, outBytes: number): Uint8Array {
  const inBytes = input.length;
  if (inBytes === 0 || outBytes <= 0) throw new RangeError('n-fold of nothing');
  const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));
  const lcm = (inBytes * outBytes) / gcd(inBytes, outBytes);
  const inBits = inBytes * 8;
  // The concatenation of the rotated copies, bit by bit: copy i is `input` rotated right by 13*i.
  const bitOf = (bit: number): number => {
    const copy = Math.floor(bit / inBits);
    const within = bit % inBits;
    const src = (((within - 13 * copy) % inBits) + inBits) % inBits;
    return (input[src >> 3]! >> (7 - (src & 7))) & 1;
  };
  const sum = new Array<number>(outBytes).fill(0);
  for (let chunk = 0; chunk < lcm / outBytes; chunk++) {
    let carry = 0;
    for (let i = outBytes - 1; i >= 0; i--) {
      let byte = 0;
      const base = (chunk * outBytes + i) * 8;
      for (let b = 0; b < 8; b++) byte = (byte << 1) | bitOf(base + b);
      const s = sum[i]! + byte + carry;
      sum[i] = s & 0xff;
      carry = s >> 8;
    }
    // end-around carry
    for (let i = outBytes - 1; carry && i >= 0; i--) {
      const s = sum[i]! + carry;
      sum[i] = s & 0xff;
      carry = s >> 8;
    }
  }
  return Uint8Array.from(sum);
}

/**
 * RFC 3961 5.1 DK(key, constant) for AES (RFC 3962: random-to-key is the identity): the constant
 * n-folded to one block, then encrypted repeatedly (each output the next input) until the key
 * length is filled.
 */
export function deriveKey(key: Uint8Array, constant: Uint8Array): Uint8Array {
  let block: Uint8Array = constant.length === BLOCK ? constant : nfold(constant, BLOCK);
  const out = new Uint8Array(key.length);
  for (let filled = 0; filled < key.length; filled += BLOCK) {
    block = cbcEncrypt(key, block);
    out.set(block.subarray(0, Math.min(BLOCK, key.length - filled)), filled);
  }
  return out;
}

/** The RFC 3961 5.3 usage constant: the 32-bit usage, big-endian, then 0x99 / 0xAA / 0x55. */
function usageConstant(usage: number, kind: number): Uint8Array {
  const c = new Uint8Array(5);
  new DataView(c.buffer).setUint32(0, usage >>> 0);
  c[4] = kind;
  return c;
}

/** The derived keys of one key usage: Ke (encryption), Ki (integrity), Kc (checksum). */
export interface UsageKeys {
  readonly ke: Uint8Array;
  readonly ki: Uint8Array;
  readonly kc: Uint8Array;
}

export function usageKeys(key: Krb5Key, usage: number): UsageKeys {
  const k = checkKey(key);
  return {
    kc: deriveKey(k, usageConstant(usage, 0x99)),
    ke: deriveKey(k, usageConstant(usage, 0xaa)),
    ki: deriveKey(k, usageConstant(usage, 0x55)),
  };
}

/**
 * RFC 3962 5 (RFC 2040 CBC-CTS as Kerberos uses it): AES-CBC with a zero IV over the plaintext padded
 * with zeros to whole blocks, the last two blocks swapped and the output cut to the plaintext's
 * length. One block exactly is plain AES; the plaintext must be at least one block.
 */
export function aesCtsEncrypt(key: Uint8Array, plaintext: Uint8Array): Uint8Array {
  const n = plaintext.length;
  if (n < BLOCK) throw new RangeError(`AES-CTS needs at least ${BLOCK} bytes, got ${n}`);
  const padded = new Uint8Array(Math.ceil(n / BLOCK) * BLOCK);
  padded.set(plaintext);
  const c = cbcEncrypt(key, padded);
  if (c.length === BLOCK) return c;
  const last = c.length - BLOCK; // offset of the last CBC block
  const partial = n - (last - BLOCK) - BLOCK; // bytes of the final (possibly partial) block, 1..16
  const out = new Uint8Array(n);
  out.set(c.subarray(0, last - BLOCK), 0);
  out.set(c.subarray(last), last - BLOCK); // the last CBC block moves up
  out.set(c.subarray(last - BLOCK, last - BLOCK + partial), last); // the one before, truncated
  return out;
}

/** The inverse of {@link aesCtsEncrypt}. */
export function aesCtsDecrypt(key: Uint8Array, ciphertext: Uint8Array): Uint8Array {
  const n = ciphertext.length;
  if (n < BLOCK) throw new RangeError(`AES-CTS needs at least ${BLOCK} bytes, got ${n}`);
  if (n === BLOCK) return cbcDecrypt(key, ciphertext);
  const blocks = Math.ceil(n / BLOCK);
  const partial = n - (blocks - 1) * BLOCK; // 1..16
  const swappedAt = (blocks - 2) * BLOCK; // the full block that was the last CBC block
  const lastCbc = ciphertext.subarray(swappedAt, swappedAt + BLOCK);
  const tail = ciphertext.subarray(swappedAt + BLOCK);
  // Decrypting the last CBC block gives (final plaintext block, zero padded) XOR the block before:
  // its bytes past `partial` are that earlier block's stolen bytes.
  const d = createDecipheriv(cipherName(key).replace('cbc', 'ecb'), key, null);
  d.setAutoPadding(false);
  const x = Buffer.concat([d.update(lastCbc), d.final()]);
  const prev = new Uint8Array(BLOCK);
  prev.set(tail, 0);
  prev.set(x.subarray(partial), partial);
  const cbc = new Uint8Array(blocks * BLOCK);
  cbc.set(ciphertext.subarray(0, swappedAt), 0);
  cbc.set(prev, swappedAt);
  cbc.set(lastCbc, swappedAt + BLOCK);
  return cbcDecrypt(key, cbc).subarray(0, n);
}

/** HMAC-SHA1 truncated to 96 bits (RFC 3962 6; RFC 2104). */
export function hmacSha1_96(key: Uint8Array, ...data: Uint8Array[]): Uint8Array {
  const h = createHmac('sha1', key);
  for (const d of data) h.update(d);
  return h.digest().subarray(0, AES_SHA1_HMAC_LENGTH);
}

/**
 * RFC 3961 5.3 encryption of an EncryptedData's cipher with a key usage: AES-CTS under Ke of
 * (confounder | plaintext), then HMAC-SHA1-96 under Ki of the same. `confounder` defaults to 16
 * random bytes (tests give their own).
 */
export function encrypt(
  key: Krb5Key,
  usage: number,
  plaintext: Uint8Array,
  confounder?: Uint8Array,
): Uint8Array {
  const { ke, ki } = usageKeys(key, usage);
  const conf = confounder ?? randomBytes(BLOCK);
  if (conf.length !== BLOCK) throw new RangeError('the confounder is one AES block');
  const basic = new Uint8Array(BLOCK + plaintext.length);
  basic.set(conf, 0);
  basic.set(plaintext, BLOCK);
  const c = aesCtsEncrypt(ke, basic);
  const out = new Uint8Array(c.length + AES_SHA1_HMAC_LENGTH);
  out.set(c, 0);
  out.set(hmacSha1_96(ki, basic), c.length);
  return out;
}

/**
 * The inverse of {@link encrypt}: checks the HMAC (a wrong key or altered bytes throw
 * `ProtocolError` `PSRP_KERBEROS_MESSAGE_INVALID`) and returns the plaintext without the confounder.
 */
export function decrypt(key: Krb5Key, usage: number, ciphertext: Uint8Array): Uint8Array {
  if (ciphertext.length < BLOCK + AES_SHA1_HMAC_LENGTH)
    throw new ProtocolError(`Kerberos EncryptedData of ${ciphertext.length} bytes is too short`, {
      code: 'PSRP_KERBEROS_MESSAGE_INVALID',
    });
  const { ke, ki } = usageKeys(key, usage);
  const c = ciphertext.subarray(0, ciphertext.length - AES_SHA1_HMAC_LENGTH);
  const mac = ciphertext.subarray(ciphertext.length - AES_SHA1_HMAC_LENGTH);
  const basic = aesCtsDecrypt(ke, c);
  if (!timingSafeEqual(hmacSha1_96(ki, basic), mac))
    throw new ProtocolError(
      `Kerberos EncryptedData (key usage ${usage}) failed its integrity check: wrong key or altered data`,
      { code: 'PSRP_KERBEROS_MESSAGE_INVALID' },
    );
  return basic.subarray(BLOCK);
}
