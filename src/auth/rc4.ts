// RC4 (ARCFOUR) stream cipher: key scheduling and keystream generation, as used by MS-NLMP
// 3.1.5.1 ("RC4 then continues to generate key stream in order over all messages of the session,
// without rekeying"), 3.4.3 (sealing) and 3.4.4.2 (the encrypted checksum). Test vectors: RFC 6229.
// Node 20's OpenSSL 3 has RC4 only in the legacy provider, so createCipheriv('rc4') throws. RC4 is
// broken as a general cipher: use it only where NTLM requires it.
import { InvalidArgumentError } from '../errors.js';

/**
 * A stateful RC4 handle (MS-NLMP's `RC4(handle, message)`): every call continues the keystream
 * where the previous call stopped, so one handle serves every message of a session direction.
 */
export class Rc4 {
  readonly #s = new Uint8Array(256);
  #i = 0;
  #j = 0;

  constructor(key: Uint8Array) {
    if (key.length === 0 || key.length > 256)
      throw new InvalidArgumentError('An RC4 key must be 1 to 256 bytes');
    const s = this.#s;
    for (let i = 0; i < 256; i++) s[i] = i;
    let j = 0;
    for (let i = 0; i < 256; i++) {
      const si = s[i] ?? 0;
      j = (j + si + (key[i % key.length] ?? 0)) & 0xff;
      s[i] = s[j] ?? 0;
      s[j] = si;
    }
  }

  /** XORs `data` with the next `data.length` keystream bytes (encrypts and decrypts alike). */
  update(data: Uint8Array): Buffer {
    const s = this.#s;
    const out = Buffer.alloc(data.length);
    let i = this.#i;
    let j = this.#j;
    for (let n = 0; n < data.length; n++) {
      i = (i + 1) & 0xff;
      const si = s[i] ?? 0;
      j = (j + si) & 0xff;
      const sj = s[j] ?? 0;
      s[i] = sj;
      s[j] = si;
      out[n] = (data[n] ?? 0) ^ (s[(si + sj) & 0xff] ?? 0);
    }
    this.#i = i;
    this.#j = j;
    return out;
  }

  /**
   * An independent copy of the handle at its current keystream position (MS-SPNG 3.3.5.1 saves the
   * NTLM handle before the mechListMIC and restores it afterwards).
   */
  clone(): Rc4 {
    const copy = new Rc4(ONE_BYTE_KEY);
    copy.#s.set(this.#s);
    copy.#i = this.#i;
    copy.#j = this.#j;
    return copy;
  }
}

const ONE_BYTE_KEY = new Uint8Array(1);

/** MS-NLMP 6 `RC4K(key, message)`: a one-time RC4 instance. */
export function rc4k(key: Uint8Array, data: Uint8Array): Buffer {
  return new Rc4(key).update(data);
}
