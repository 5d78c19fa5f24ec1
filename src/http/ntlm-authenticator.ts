// RFC 4559 2 (HTTP `Negotiate` and `NTLM` schemes: `WWW-Authenticate`/`Authorization` carrying a
// base64 token; 5: the final `WWW-Authenticate: Negotiate` of the 200 completes the context),
// MS-WSMV 2.2.9.1 (Negotiate encrypted messages use the context established here), MS-NLMP
// 3.1.5.1 (the client side of the three-message exchange) and RFC 4178 / MS-SPNG (under
// `Negotiate` the NTLM messages are wrapped in SPNEGO by default, see spnego-ntlm-context.ts).
// Under `NTLM` the tokens are always raw NTLMSSP.
import { InvalidArgumentError } from '../errors.js';
import { parseNegotiateChallenges } from '../auth/negotiate-challenges.js';
import type { AuthChallenge, AuthRequest, AuthResult, Authenticator } from './authenticator.js';
import {
  NtlmClientContext,
  ntlmTargetName,
  type NtlmClientOptions,
  type NtlmCredentials,
} from '../auth/ntlm-context.js';
import { ntlmSealingContext, type NtlmSealingContext } from '../auth/ntlm-sealing.js';
import { SpnegoNtlmClientContext } from '../auth/spnego-ntlm-context.js';

export interface NtlmAuthenticatorOptions {
  readonly credentials: NtlmCredentials;
  /**
   * Which scheme to answer when the server offers both (default `Negotiate`, which WinRM and
   * Exchange enable by default). A server offering only one gets that one.
   */
  readonly scheme?: 'Negotiate' | 'NTLM';
  /**
   * Under `Negotiate`, wrap the NTLM messages in SPNEGO (RFC 4178) with a mechListMIC (default
   * true). Windows accepts both forms; MIT's SPNEGO acceptor (Linux servers) accepts raw NTLM only
   * when its credential is not limited to SPNEGO, so SPNEGO is the form that works with both.
   * `false` sends raw NTLMSSP tokens under `Negotiate`, as pywinrm and older clients do. Tokens
   * under `NTLM` are always raw.
   */
  readonly spnego?: boolean;
  /** Send the NEGOTIATE token with the first request instead of waiting for a 401 (saves a round trip). */
  readonly preemptive?: boolean;
  /**
   * RFC 5929 channel binding data for https (see `tlsServerEndPoint`). Default: what the transport
   * reads off the connection's server certificate (`AuthRequest.channelBindings`).
   */
  readonly channelBindings?: Uint8Array;
  /** MsvAvTargetName; default `HTTP/<host of the request URL>`. */
  readonly targetName?: string;
  /** Extra context options (test hooks: client challenge, timestamp, session key). */
  readonly context?: Pick<
    NtlmClientOptions,
    'workstation' | 'clientChallenge' | 'timestamp' | 'exportedSessionKey'
  >;
}

type Phase = 'idle' | 'negotiate-sent' | 'authenticate-sent' | 'established' | 'failed';

/**
 * NTLM over HTTP for one authenticated connection: answers `Negotiate` 401s with SPNEGO-wrapped
 * NTLM (or raw NTLM with `spnego: false`) and `NTLM` 401s with raw NTLM, and keeps the established
 * context for WinRM message encryption. `requiresEncryption` is false: NTLM never sends a reusable
 * password. A malformed CHALLENGE makes `respond` throw `ProtocolError` `PSRP_NTLM_MESSAGE_INVALID`
 * (`PSRP_SPNEGO_INVALID` for a malformed SPNEGO token); with SPNEGO, `complete` checks the server's
 * mechListMIC in the final `WWW-Authenticate` and throws `AuthenticationError`
 * `PSRP_SPNEGO_MIC_INVALID` when it is missing or wrong.
 *
 * NTLM authenticates a TCP connection, not a request: this authenticator holds one context, and
 * HttpTransport (seeing `connectionBound`) keeps one per connection through `forConnection()`.
 */
export class NtlmAuthenticator implements Authenticator {
  readonly requiresEncryption = false;
  /** NTLM authenticates the connection: HttpTransport keeps one authenticator per connection. */
  readonly connectionBound = true;
  /** Over http:// every message is sealed with the established context (MS-WSMV 2.2.9.1). */
  readonly sealsMessages = true;
  #sealer: NtlmSealingContext | undefined;
  readonly #options: NtlmAuthenticatorOptions;
  #scheme: 'Negotiate' | 'NTLM';
  #phase: Phase = 'idle';
  #context: NtlmClientContext | SpnegoNtlmClientContext | undefined;

  constructor(options: NtlmAuthenticatorOptions) {
    const { username, password } = options.credentials;
    if (typeof username !== 'string' || username.length === 0)
      throw new InvalidArgumentError('NTLM needs a user name');
    if (typeof password !== 'string') throw new InvalidArgumentError('NTLM needs a password string');
    this.#options = options;
    this.#scheme = options.scheme ?? 'Negotiate';
  }

  /** The same settings for another connection (each TCP connection has its own NTLM context). */
  forConnection(): NtlmAuthenticator {
    return new NtlmAuthenticator(this.#options);
  }

  /** `negotiate` or `ntlm`, after the scheme answered (for errors and diagnostics). */
  get mechanism(): string {
    return this.#scheme.toLowerCase();
  }

  /**
   * The established context (for `seal`/`unseal`: an `NtlmClientContext`, or a
   * `SpnegoNtlmClientContext` when SPNEGO was used), or undefined before authentication completes.
   */
  get context(): NtlmClientContext | SpnegoNtlmClientContext | undefined {
    return this.#phase === 'established' ? this.#context : undefined;
  }

  /** The established context as a WinRM message sealer, or undefined before authentication completes. */
  sealer(): NtlmSealingContext | undefined {
    const context = this.context;
    if (context === undefined) return undefined;
    this.#sealer ??= ntlmSealingContext(context);
    return this.#sealer;
  }

  authorize(request: AuthRequest): string | undefined {
    if (!this.#options.preemptive || this.#phase === 'established') return undefined;
    return this.#start(request);
  }

  respond(challenge: AuthChallenge): string | undefined {
    const offered = parseNegotiateChallenges(challenge.wwwAuthenticate);
    const token = offered.get(this.#scheme);
    if (this.#phase === 'negotiate-sent' && token) {
      const context = this.#context;
      if (!context) return undefined;
      this.#phase = 'failed';
      const input = Buffer.from(token, 'base64');
      // The TLS connection exists by now: its certificate is the channel binding (https only).
      const bindings = this.#options.channelBindings ?? challenge.channelBindings;
      const next =
        context instanceof SpnegoNtlmClientContext
          ? context.step(input, bindings)
          : context.authenticate(input, bindings);
      if (next === undefined) return undefined;
      this.#phase = 'authenticate-sent';
      return `${this.#scheme} ${next.toString('base64')}`;
    }
    // A bare challenge starts (or restarts, e.g. on a new connection) the exchange, unless we just
    // sent AUTHENTICATE: then the server refused the credentials.
    if (this.#phase === 'authenticate-sent' || this.#phase === 'negotiate-sent') {
      this.#phase = 'failed';
      this.#context = undefined;
      return undefined;
    }
    if (!offered.has(this.#scheme)) {
      const other = this.#scheme === 'Negotiate' ? 'NTLM' : 'Negotiate';
      if (!offered.has(other)) return undefined;
      this.#scheme = other;
    }
    return this.#start(challenge);
  }

  /**
   * The request after AUTHENTICATE succeeded. With SPNEGO the response's `WWW-Authenticate:
   * Negotiate <token>` carries the accept-completed NegTokenResp and the server's mechListMIC,
   * which must verify before the context is used (RFC 4559 5, RFC 4178 5).
   */
  complete(result: AuthResult): void {
    if (this.#phase !== 'authenticate-sent') return;
    const context = this.#context;
    if (context instanceof SpnegoNtlmClientContext) {
      this.#phase = 'failed';
      const token = parseNegotiateChallenges(result.wwwAuthenticate).get('Negotiate');
      context.step(token ? Buffer.from(token, 'base64') : undefined);
    }
    this.#phase = 'established';
  }

  #start(request: AuthRequest): string {
    const o = this.#options;
    this.#sealer = undefined;
    const options: NtlmClientOptions = {
      ...o.context,
      credentials: o.credentials,
      targetName: o.targetName ?? ntlmTargetName(request.url.hostname),
    };
    let first: Buffer;
    if (this.#scheme === 'Negotiate' && o.spnego !== false) {
      const context = new SpnegoNtlmClientContext(options);
      first = context.initialToken();
      this.#context = context;
    } else {
      const context = new NtlmClientContext(options);
      first = context.negotiate();
      this.#context = context;
    }
    this.#phase = 'negotiate-sent';
    return `${this.#scheme} ${first.toString('base64')}`;
  }

  toJSON(): { mechanism: string; username: string; phase: Phase } {
    return { mechanism: this.mechanism, username: this.#options.credentials.username, phase: this.#phase };
  }
}
