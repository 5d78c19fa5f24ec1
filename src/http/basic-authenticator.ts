// RFC 7617 The 'Basic' HTTP Authentication Scheme (MS-WSMV 2.2.9.1.1 Basic).
import { InvalidArgumentError } from '../errors.js';
import type { AuthRequest, Authenticator } from './authenticator.js';

/** User name and password for Basic authentication. */
export interface BasicCredentials {
  /** `DOMAIN\user` or a UPN (`user@contoso.com`); Exchange accepts both. */
  readonly username: string;
  readonly password: string;
}

/**
 * Basic authentication, sent pre-emptively on every request: Exchange front ends rewrite a 401 to a
 * 400, so a challenge may never arrive. Credentials are encoded as UTF-8 (RFC 7617 `charset`).
 * The encoded header lives in a `#private` field, so inspecting or serialising the authenticator
 * shows the user name only.
 */
export class BasicAuthenticator implements Authenticator {
  readonly mechanism = 'basic';
  readonly requiresEncryption = true;
  /** The user name (not a secret; useful in diagnostics). */
  readonly username: string;
  readonly #header: string;

  constructor(credentials: BasicCredentials) {
    const { username, password } = credentials;
    if (typeof username !== 'string' || username.length === 0)
      throw new InvalidArgumentError('Basic authentication needs a user name');
    if (typeof password !== 'string')
      throw new InvalidArgumentError('Basic authentication needs a password string');
    // RFC 7617 2: the user-id cannot contain a colon (the password may).
    if (username.includes(':')) throw new InvalidArgumentError('A Basic user name cannot contain ":"');
    this.username = username;
    this.#header = `Basic ${Buffer.from(`${username}:${password}`, 'utf8').toString('base64')}`;
  }

  authorize(_request: AuthRequest): string {
    return this.#header;
  }

  /** Basic credentials were already sent: a 401 means they were refused; retrying cannot help. */
  respond(): undefined {
    return undefined;
  }

  toJSON(): { mechanism: string; username: string } {
    return { mechanism: this.mechanism, username: this.username };
  }
}
