// MS-PSRP 2.2.5.1.24 Secure String (SS): base64 of the UTF-16LE text encrypted with the session key
// (MS-PSRP 2.2.2.3, 2.2.2.4; the cipher itself is in psrp/session-key.ts).
import { InvalidArgumentError } from '../../errors.js';
import { decodeBase64 } from '../../internal/base64.js';
import { invalidClixml } from './primitive-text.js';

const inspectCustom = Symbol.for('nodejs.util.inspect.custom');

/** Encrypts/decrypts SecureString content (UTF-16LE bytes) with the PSRP session key. */
export interface SecureStringCipher {
  encrypt(plain: Uint8Array): Uint8Array;
  decrypt(cipher: Uint8Array): Uint8Array;
}

/**
 * `<SS>`: a SecureString. Its content never prints: `toString`, `toJSON` and `util.inspect` all
 * say `[SecureString]`. Create one from plain text to send it (the runspace pool encrypts it with
 * the session key); a received one is decrypted when a cipher is available, otherwise it keeps the
 * ciphertext.
 */
export class PSSecureString {
  #plain: string | undefined;
  #cipher: Uint8Array | undefined;
  private constructor(plain: string | undefined, cipher: Uint8Array | undefined) {
    this.#plain = plain;
    this.#cipher = cipher;
  }
  static fromPlainText(text: string): PSSecureString {
    return new PSSecureString(text, undefined);
  }
  static fromCiphertext(cipher: Uint8Array): PSSecureString {
    return new PSSecureString(undefined, cipher);
  }
  /** True when the plain text is known (created locally, or decrypted on receipt). */
  get isDecrypted(): boolean {
    return this.#plain !== undefined;
  }
  /** The plain text. Throws when it was received without a session key to decrypt it. */
  reveal(): string {
    if (this.#plain === undefined)
      throw new TypeError('SecureString was received without a session key and cannot be revealed');
    return this.#plain;
  }
  /** The ciphertext as received, when it was not decrypted. */
  ciphertext(): Uint8Array | undefined {
    return this.#cipher;
  }
  toString(): string {
    return '[SecureString]';
  }
  toJSON(): string {
    return '[SecureString]';
  }
  [inspectCustom](): string {
    return 'PSSecureString [SecureString]';
  }
}

/** Reads `<SS>` text: decrypted with `cipher` when there is one, else kept as ciphertext. */
export function parseSecureString(
  text: string,
  pos: number,
  cipher: SecureStringCipher | undefined,
): PSSecureString {
  const cipherBytes = decodeBase64(text, 'reencode');
  if (cipherBytes === undefined) return invalidClixml('Invalid base64 in SecureString', 'SS', pos);
  if (!cipher) return PSSecureString.fromCiphertext(cipherBytes);
  return PSSecureString.fromPlainText(Buffer.from(cipher.decrypt(cipherBytes)).toString('utf16le'));
}

/**
 * Writes a SecureString: plain text is encrypted with `cipher` (required), a received ciphertext
 * is written back as it came.
 */
export function formatSecureString(v: PSSecureString, cipher: SecureStringCipher | undefined): string {
  let bytes: Uint8Array | undefined;
  if (v.isDecrypted) {
    if (!cipher) {
      throw new InvalidArgumentError(
        'Sending a SecureString needs the session key: open the runspace pool (it exchanges keys on demand) or pass secureStringCipher',
        { code: 'PSRP_SECURE_STRING_NO_KEY' },
      );
    }
    bytes = cipher.encrypt(new Uint8Array(Buffer.from(v.reveal(), 'utf16le')));
  } else {
    bytes = v.ciphertext();
  }
  return Buffer.from(bytes!).toString('base64');
}
