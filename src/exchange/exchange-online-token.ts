/**
 * The Exchange Online bearer token cache: tokens come from the caller's provider (a function, or an
 * `@azure/identity` TokenCredential), are kept until five minutes before they expire (their
 * `expiresOnTimestamp`, else the JWT's `exp`), and one refresh at a time is shared by all callers.
 * The token never appears in an error, a message or an event.
 */
import { ExchangeOnlineError } from './exchange-online-errors.js';

/** An access token with its expiry (the shape of `@azure/identity`'s AccessToken). */
export interface ExchangeOnlineAccessToken {
  readonly token: string;
  /** Expiry, ms since the epoch. */
  readonly expiresOnTimestamp: number;
}

/** Anything with `getToken(scopes)`: ClientCertificateCredential, ManagedIdentityCredential… */
export interface ExchangeOnlineTokenCredential {
  getToken(scopes: string | string[], options?: object): Promise<ExchangeOnlineAccessToken | null>;
}

/** A function returning a bearer token (or a token with its expiry), or a TokenCredential. */
export type ExchangeOnlineTokenProvider =
  | ((
      scopes: readonly string[],
    ) => string | ExchangeOnlineAccessToken | Promise<string | ExchangeOnlineAccessToken>)
  | ExchangeOnlineTokenCredential;

/** The mailbox the beta API anchors app-only requests on (what ExchangeOnlineManagement sends). */

const REFRESH_BEFORE_MS = 5 * 60_000;

/** The `exp` claim of a JWT in ms, or undefined (the token is never logged or kept elsewhere). */
function jwtExpiry(token: string): number | undefined {
  const part = token.split('.')[1];
  if (!part) return undefined;
  try {
    const exp = (JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as { exp?: unknown }).exp;
    return typeof exp === 'number' ? exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}

/** The cached token of one session. */
export class ExchangeOnlineTokenCache {
  readonly #provider: ExchangeOnlineTokenProvider;
  readonly #scope: string;
  #cached: { token: string; expiresAt: number } | undefined;
  #refreshing: Promise<string> | undefined;

  constructor(provider: ExchangeOnlineTokenProvider, scope: string) {
    this.#provider = provider;
    this.#scope = scope;
  }

  /** A bearer token, from the cache while it has more than five minutes left. */
  async bearer(
    options: { readonly force?: boolean; readonly signal?: AbortSignal | undefined } = {},
  ): Promise<string> {
    if (!options.force && this.#cached && this.#cached.expiresAt - REFRESH_BEFORE_MS > Date.now())
      return this.#cached.token;
    this.#refreshing ??= this.#fetch(options.signal).finally(() => (this.#refreshing = undefined));
    return this.#refreshing;
  }

  /** Forget the cached token (a 401 answered it, or the session closed). */
  forget(): void {
    this.#cached = undefined;
  }

  async #fetch(signal: AbortSignal | undefined): Promise<string> {
    const provider = this.#provider;
    let got: string | ExchangeOnlineAccessToken | null;
    try {
      got =
        typeof provider === 'function'
          ? await provider([this.#scope])
          : await provider.getToken([this.#scope], signal ? { abortSignal: signal } : {});
    } catch (e) {
      throw new ExchangeOnlineError(`The token provider failed: ${(e as Error)?.message ?? String(e)}`, {
        code: 'PSRP_EXO_TOKEN',
        cause: e,
      });
    }
    const token = typeof got === 'string' ? got : got?.token;
    if (typeof token !== 'string' || token === '' || /[\s\0]/.test(token))
      throw new ExchangeOnlineError(
        'The token provider returned no usable token (empty, or with whitespace)',
        {
          code: 'PSRP_EXO_TOKEN',
        },
      );
    const expiresAt =
      typeof got === 'object' && got !== null && Number.isFinite(got.expiresOnTimestamp)
        ? got.expiresOnTimestamp
        : (jwtExpiry(token) ?? 0);
    this.#cached = { token, expiresAt };
    return token;
  }
}
