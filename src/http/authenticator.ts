// RFC 9110 11 HTTP Authentication (WWW-Authenticate / Authorization), as MS-WSMV 2.2.9 uses it.
/**
 * The pluggable, sans-IO authentication step the HTTP transport drives. An authenticator never
 * touches a socket: the transport asks it for the `Authorization` header of a request, hands it the
 * `WWW-Authenticate` challenges of a 401, and tells it about the final response. Basic needs only
 * the first call; NTLM, Negotiate and Kerberos (later) use the 401 round trips and the final
 * response (mutual authentication).
 */

import type { MaybePromise, SealingContext } from '../auth/sealing-context.js';

/** The request an `Authorization` header is wanted for. */
export interface AuthRequest {
  readonly method: string;
  readonly url: URL;
  /**
   * RFC 5929 `tls-server-end-point` channel binding data of the connection the request goes on
   * (https only; see `tlsServerEndPoint`), for schemes that bind to TLS (Extended Protection).
   */
  readonly channelBindings?: Uint8Array | undefined;
}

/** A 401 answer: its `WWW-Authenticate` values (one entry per header line). */
export interface AuthChallenge extends AuthRequest {
  readonly wwwAuthenticate: readonly string[];
  /** How many 401s this request has already received before this one (0 for the first). */
  readonly attempt: number;
}

/** A response that was not a 401 (2xx, or a 500 carrying a SOAP fault, ...). */
export interface AuthResult extends AuthRequest {
  readonly status: number;
  readonly wwwAuthenticate: readonly string[];
}

/**
 * The context that wraps and unwraps WinRM messages: the one `SealingContext` of
 * src/auth/sealing-context.ts, under the name the authenticator API has always used.
 */
export type MessageSealer = SealingContext;
export type { MaybePromise, SealedMessage, SealingContext } from '../auth/sealing-context.js';

/**
 * TLS client-certificate material an authenticator brings (PEM strings or buffers, or PKCS#12).
 * The transport passes it to the TLS handshake of every connection.
 */
export interface ClientTlsCredentials {
  readonly cert?: string | Buffer;
  readonly key?: string | Buffer;
  readonly pfx?: Buffer;
  readonly passphrase?: string;
}

/**
 * One authentication scheme for one transport. Implementations must keep secrets out of every
 * property that `util.inspect` or `JSON.stringify` would show (use `#private` fields).
 */
export interface Authenticator {
  /** Lower-case scheme name used in errors and diagnostics: `basic`, `ntlm`, `negotiate`, ... */
  readonly mechanism: string;
  /**
   * True when the scheme sends a reusable secret that only TLS protects (Basic). The transport then
   * refuses `http://` unless `allowUnencrypted` is set.
   */
  readonly requiresEncryption: boolean;
  /** The header to send with a request before any challenge (pre-emptive), or undefined for none. */
  authorize(request: AuthRequest): MaybePromise<string | undefined>;
  /**
   * The server answered 401. Returns the header to retry the same request with, or undefined to
   * give up (the transport then rejects with `AuthenticationError` `PSRP_AUTH_FAILED`).
   */
  respond(challenge: AuthChallenge): MaybePromise<string | undefined>;
  /**
   * Optional: sees the final non-401 response (for schemes that authenticate the server: a
   * Kerberos mutual-authentication token). Throwing here fails the request.
   */
  complete?(result: AuthResult): MaybePromise<void>;
  /**
   * True for schemes that authenticate a TCP connection rather than a request (NTLM, Negotiate):
   * the transport then keeps the connection for every leg of the handshake and uses one
   * authenticator per connection, made with `forConnection()`.
   */
  readonly connectionBound?: boolean;
  /** A fresh authenticator with the same settings, for another connection. */
  forConnection?(): Authenticator;
  /**
   * True for schemes whose context can seal messages (NTLM, Kerberos, Negotiate). Over `http://`
   * the transport then authenticates with an empty body first and sends every message sealed
   * (MS-WSMV 2.2.9.1), as WinRM requires when AllowUnencrypted is false.
   */
  readonly sealsMessages?: boolean;
  /** The established context for message encryption, or undefined before the handshake completes. */
  sealer?(): MessageSealer | undefined;
  /** Releases what the scheme holds (a private Kerberos credential cache); the transport's `close()` calls it. */
  dispose?(): MaybePromise<void>;
  /**
   * Optional: the endpoint URL as this scheme needs it (a query parameter added, say). The
   * transport calls it once, on the configured URL, when it is constructed. It may throw
   * `InvalidArgumentError` to refuse a URL the scheme cannot work over (a client certificate over
   * `http://`). Not applied to redirect targets.
   */
  prepareUrl?(url: URL): URL;
  /**
   * Optional: TLS client-certificate material for the handshake (certificate authentication). A
   * method rather than a property, so that inspecting the authenticator never shows a key.
   */
  clientCertificate?(): ClientTlsCredentials;
}

/** Scheme names offered by `WWW-Authenticate` values (`Negotiate`, `Basic`, ...), for messages. */
export function offeredSchemes(wwwAuthenticate: readonly string[]): string[] {
  const schemes: string[] = [];
  for (const value of wwwAuthenticate) {
    // A header may list several challenges: `Negotiate, Basic realm="x"`. A scheme is a token that
    // starts the value or follows a comma, and is not itself a `param=` pair.
    for (const m of value.matchAll(/(?:^|,)\s*([A-Za-z0-9!#$%&'*+.^_`|~-]+)(?=\s|,|$)(?!\s*=)/g)) {
      const scheme = m[1];
      if (scheme && !schemes.some((s) => s.toLowerCase() === scheme.toLowerCase())) schemes.push(scheme);
    }
  }
  return schemes;
}
