// MS-WSMV 2.2.4.4 and 3.1.4.1.29.2 (the wsman:secprofile/https/mutual security profile, DMTF
// DSP0226 Annex C.3.5): WinRM client-certificate authentication, and 2.2.4.3 CertMappingType (how
// the server maps the certificate to an account).
/**
 * Client-certificate authentication for WinRM over HTTPS. The certificate is presented in the TLS
 * handshake; every request then carries `Authorization:` with the URI of the mutual-TLS security
 * profile (not an RFC 9110 scheme: no credentials, no challenge), which tells WinRM to
 * authenticate the request by that certificate. The server maps the certificate to a local account
 * (`WSMan:\localhost\ClientCertificate`); an unknown, untrusted or missing certificate gets a 401.
 *
 * It refuses `http://` (there is no TLS, so no certificate) whatever `allowUnencrypted` says. The
 * private key and passphrase live in `#private` fields: inspecting or serialising the
 * authenticator shows the certificate's subject and fingerprint only.
 */
import { X509Certificate } from 'node:crypto';
import { createSecureContext } from 'node:tls';
import { InvalidArgumentError } from '../errors.js';
import type { AuthRequest, Authenticator, ClientTlsCredentials } from './authenticator.js';

/** The `Authorization` value of WinRM certificate authentication (DSP0226 C.3.5, MS-WSMV 2.2.4.4). */
export const WSMAN_HTTPS_MUTUAL = 'http://schemas.dmtf.org/wbem/wsman/1/wsman/secprofile/https/mutual';

/** A client certificate with its key as PEM (`cert` + `key`) or as PKCS#12 (`pfx`). */
export type CertificateCredentials =
  | {
      /** The client certificate (PEM), optionally followed by its intermediate CAs. */
      readonly cert: string | Buffer;
      /** Its private key (PEM). */
      readonly key: string | Buffer;
      /** Passphrase of an encrypted `key`. */
      readonly passphrase?: string | undefined;
    }
  | {
      /** Certificate and key as PKCS#12 (`.pfx`/`.p12`), as Windows exports them. */
      readonly pfx: Buffer;
      /** Passphrase of the PKCS#12 file. */
      readonly passphrase?: string | undefined;
    };

function isPem(value: unknown): value is string | Buffer {
  return (typeof value === 'string' && value.length > 0) || (Buffer.isBuffer(value) && value.length > 0);
}

/** WinRM certificate authentication; see the module comment. */
export class CertificateAuthenticator implements Authenticator {
  readonly mechanism = 'certificate';
  /** No reusable secret travels in a header; TLS itself is required (see `prepareUrl`). */
  readonly requiresEncryption = false;
  /** Subject of the certificate (`CN=alice`), or undefined for a PKCS#12 file. Not a secret. */
  readonly subject: string | undefined;
  /** SHA-256 fingerprint of the certificate, or undefined for a PKCS#12 file. Not a secret. */
  readonly fingerprint256: string | undefined;
  readonly #material: ClientTlsCredentials;

  constructor(credentials: CertificateCredentials) {
    const c = (credentials ?? {}) as Partial<{
      cert: unknown;
      key: unknown;
      pfx: unknown;
      passphrase: unknown;
    }>;
    if (c.passphrase !== undefined && typeof c.passphrase !== 'string')
      throw new InvalidArgumentError('The certificate passphrase must be a string');
    const passphrase = c.passphrase === undefined ? {} : { passphrase: c.passphrase };
    if (c.pfx !== undefined) {
      if (c.cert !== undefined || c.key !== undefined)
        throw new InvalidArgumentError(
          'Give the client certificate either as `pfx` or as `cert` and `key`, not both',
        );
      if (!Buffer.isBuffer(c.pfx) || c.pfx.length === 0)
        throw new InvalidArgumentError('`pfx` must be a Buffer with the PKCS#12 file');
      this.#material = { pfx: c.pfx, ...passphrase };
      this.subject = undefined;
      this.fingerprint256 = undefined;
    } else {
      if (!isPem(c.cert) || !isPem(c.key))
        throw new InvalidArgumentError('Certificate authentication needs `cert` and `key` (PEM), or `pfx`');
      let parsed: X509Certificate;
      try {
        parsed = new X509Certificate(c.cert);
      } catch (cause) {
        throw new InvalidArgumentError('`cert` is not a PEM certificate', { cause });
      }
      this.#material = { cert: c.cert, key: c.key, ...passphrase };
      this.subject = parsed.subject.replace(/\n/g, ', ');
      this.fingerprint256 = parsed.fingerprint256;
    }
    try {
      // Loads the key and checks that it belongs to the certificate (and the passphrase), now
      // rather than at the first handshake. OpenSSL's message names the problem, never the key.
      createSecureContext(this.#material);
    } catch (cause) {
      const reason = (cause as Error).message.replace(/^error:[0-9A-Fa-f]+:/, '').slice(0, 120);
      throw new InvalidArgumentError(`The client certificate and key cannot be used (${reason})`, { cause });
    }
  }

  authorize(_request: AuthRequest): string {
    return WSMAN_HTTPS_MUTUAL;
  }

  /** The certificate was presented in the handshake: a 401 means it was not accepted; retrying cannot help. */
  respond(): undefined {
    return undefined;
  }

  /** Certificate authentication exists only over TLS: `http://` is refused. */
  prepareUrl(url: URL): URL {
    if (url.protocol !== 'https:') {
      throw new InvalidArgumentError(
        'Certificate authentication needs https:// (the certificate is presented in the TLS handshake): use the WinRM HTTPS listener, usually https://<host>:5986/wsman',
      );
    }
    return url;
  }

  clientCertificate(): ClientTlsCredentials {
    return this.#material;
  }

  toJSON(): { mechanism: string; subject: string | undefined; fingerprint256: string | undefined } {
    return { mechanism: this.mechanism, subject: this.subject, fingerprint256: this.fingerprint256 };
  }
}
