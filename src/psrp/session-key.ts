// MS-PSRP 2.2.2.3 PUBLIC_KEY, 2.2.2.4 ENCRYPTED_SESSION_KEY, 2.2.5.1.24 Secure String,
// 3.1.5.4.5 session key exchange.
/**
 * The client makes an RSA-2048 key pair and sends its public key as a CAPI PUBLICKEYBLOB; the
 * server answers with a 256-bit AES session key encrypted with RSAES-PKCS1-v1_5 as a SIMPLEBLOB
 * (ciphertext byte-reversed). SecureStrings are then AES-256-CBC, zero IV, PKCS#7, over UTF-16LE.
 *
 * Node 20 refuses PKCS#1 v1.5 *decryption* (CVE-2023-46809), so we decrypt with RSA_NO_PADDING
 * and check the v1.5 block ourselves, in constant shape (any malformed block is one error).
 */
import { constants, createCipheriv, createDecipheriv, generateKeyPairSync, privateDecrypt, type KeyObject } from 'node:crypto';
import { ProtocolError } from '../errors.js';
import type { SecureStringCipher } from '../clixml/index.js';

const PUBLICKEYBLOB_HEADER = [0x06, 0x02, 0x00, 0x00, 0x00, 0xa4, 0x00, 0x00, 0x52, 0x53, 0x41, 0x31, 0x00, 0x08, 0x00, 0x00];
const SIMPLEBLOB_HEADER = [0x01, 0x02, 0x00, 0x00, 0x10, 0x66, 0x00, 0x00, 0x00, 0xa4, 0x00, 0x00];

export class SessionKeyExchange {
  private readonly privateKey: KeyObject;
  /** Base64 CAPI PUBLICKEYBLOB to send in PUBLIC_KEY. */
  readonly publicKeyBlob: string;

  constructor() {
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048, publicExponent: 0x10001 });
    this.privateKey = privateKey;
    const jwk = publicKey.export({ format: 'jwk' });
    const n = Buffer.from(jwk.n!, 'base64url');
    const e = Buffer.from(jwk.e!, 'base64url');
    const exp = Buffer.alloc(4);
    exp.writeUInt32LE(e.readUIntBE(0, e.length));
    this.publicKeyBlob = Buffer.concat([Buffer.from(PUBLICKEYBLOB_HEADER), exp, Buffer.from(n).reverse()]).toString('base64');
  }

  /** Decrypts the server's ENCRYPTED_SESSION_KEY (base64 SIMPLEBLOB) and returns a SecureString cipher. */
  accept(encryptedSessionKeyBase64: string): SecureStringCipher {
    const blob = Buffer.from(encryptedSessionKeyBase64, 'base64');
    if (blob.length !== SIMPLEBLOB_HEADER.length + 256 || !SIMPLEBLOB_HEADER.every((b, i) => blob[i] === b)) {
      throw new ProtocolError('EncryptedSessionKey is not an RSA-2048 AES-256 SIMPLEBLOB', { code: 'PSRP_SESSION_KEY_INVALID' });
    }
    const cipherText = Buffer.from(blob.subarray(SIMPLEBLOB_HEADER.length)).reverse();
    const block = privateDecrypt({ key: this.privateKey, padding: constants.RSA_NO_PADDING }, cipherText);
    // PKCS#1 v1.5 type 2: 00 02 PS(>=8 non-zero) 00 M
    const sep = block.indexOf(0, 2);
    if (block[0] !== 0 || block[1] !== 2 || sep < 10 || block.length - sep - 1 !== 32) {
      throw new ProtocolError('EncryptedSessionKey did not decrypt to a 256-bit key', { code: 'PSRP_SESSION_KEY_INVALID' });
    }
    return aesSecureStringCipher(block.subarray(sep + 1));
  }
}

/** The SecureString cipher of MS-PSRP 2.2.5.1.24: AES-256-CBC, zero IV, PKCS#7. */
export function aesSecureStringCipher(key: Uint8Array): SecureStringCipher {
  const k = Buffer.from(key);
  const iv = Buffer.alloc(16);
  return {
    encrypt(plain: Uint8Array): Uint8Array {
      const c = createCipheriv('aes-256-cbc', k, iv);
      return new Uint8Array(Buffer.concat([c.update(plain), c.final()]));
    },
    decrypt(cipher: Uint8Array): Uint8Array {
      try {
        const d = createDecipheriv('aes-256-cbc', k, iv);
        return new Uint8Array(Buffer.concat([d.update(cipher), d.final()]));
      } catch (cause) {
        throw new ProtocolError('SecureString could not be decrypted with the session key', { code: 'PSRP_SESSION_KEY_INVALID', cause });
      }
    },
  };
}
