// RFC 7617 Basic (MS-WSMV 2.2.9.1.1) carrying an OAuth 2.0 bearer token (RFC 6750) as its
// password: the legacy Exchange Online Remote PowerShell convention, switched on by the
// `BasicAuthToOAuthConversion=true` query parameter of the connection URL.
/**
 * A token through Basic, for hosted endpoints that convert it (Exchange Online's legacy Remote
 * PowerShell, `https://outlook.office365.com/powershell-liveid/`): every request carries
 * `Authorization: Basic base64(<username>:Bearer <token>)`, and the endpoint URL gets the query
 * parameter `BasicAuthToOAuthConversion=true` (added by `prepareUrl` unless already there), which
 * tells the front end to read the password as a token. psrp does not acquire or refresh the token:
 * get an access token for the endpoint's resource (for Exchange Online
 * `https://outlook.office365.com`) from your identity provider and make a new authenticator (and
 * session) when it expires.
 *
 * Like Basic, it is refused over `http://` unless `allowUnencrypted` is set. The token lives in a
 * `#private` field: inspecting or serialising the authenticator shows the user name only.
 */
import { InvalidArgumentError } from '../errors.js';
import type { AuthRequest, Authenticator } from './authenticator.js';
import { BasicAuthenticator } from './basic-authenticator.js';

/** The query parameter that makes the endpoint read the Basic password as a bearer token. */
export const BASIC_AUTH_TO_OAUTH = 'BasicAuthToOAuthConversion';

/** User name and bearer token for {@link TokenAuthenticator}. */
export interface TokenCredentials {
  /** The UPN the token was issued to (`admin@contoso.onmicrosoft.com`). */
  readonly username: string;
  /** The access token (a JWT), with or without a leading `Bearer `. */
  readonly token: string;
}

/** A bearer token sent as the password of Basic; see the module comment. */
export class TokenAuthenticator implements Authenticator {
  readonly mechanism = 'token';
  readonly requiresEncryption = true;
  /** The user name (not a secret; useful in diagnostics). */
  readonly username: string;
  readonly #basic: BasicAuthenticator;

  constructor(credentials: TokenCredentials) {
    const { username, token } = credentials ?? ({} as Partial<TokenCredentials>);
    if (typeof token !== 'string')
      throw new InvalidArgumentError('Token authentication needs a token string');
    const bare = token.replace(/^Bearer\s+/i, '');
    // RFC 6750 2.1 b64token: the characters a token can have; anything else is a pasting mistake.
    if (!/^[A-Za-z0-9\-._~+/]+=*$/.test(bare))
      throw new InvalidArgumentError(
        'The token is empty or has characters a bearer token cannot have (spaces, line breaks, quotes)',
      );
    this.#basic = new BasicAuthenticator({ username, password: `Bearer ${bare}` });
    this.username = this.#basic.username;
  }

  authorize(request: AuthRequest): string {
    return this.#basic.authorize(request);
  }

  /** The token was already sent: a 401 means it was refused (wrong, expired, or for another resource). */
  respond(): undefined {
    return undefined;
  }

  /** Adds `BasicAuthToOAuthConversion=true` to the query unless it is there (other parameters are kept as written). */
  prepareUrl(url: URL): URL {
    const present = [...url.searchParams.keys()].some(
      (k) => k.toLowerCase() === BASIC_AUTH_TO_OAUTH.toLowerCase(),
    );
    if (present) return url;
    const out = new URL(url.href);
    out.search = `${url.search === '' || url.search === '?' ? '?' : `${url.search}&`}${BASIC_AUTH_TO_OAUTH}=true`;
    return out;
  }

  toJSON(): { mechanism: string; username: string } {
    return { mechanism: this.mechanism, username: this.username };
  }
}
