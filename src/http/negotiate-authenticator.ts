// RFC 4559 (HTTP Negotiate) and MS-SPNG 3.1.5.1 (SPNEGO's choice: Kerberos first, NTLM when
// Kerberos cannot be used), as Windows' Negotiate package behaves for a WinRM client.
/**
 * `Negotiate` the way Windows clients do it: Kerberos through the system GSSAPI when the optional
 * `kerberos` package is installed and a ticket for the service can be had, otherwise NTLM with the
 * given user name and password (psrp's own NTLM, so no system library is needed). The choice is
 * made once per transport, on the first connection, and kept for the others: a missing SPN or an
 * empty ticket cache does not cost a failed Kerberos attempt on every connection.
 */
import { NtlmAuthenticator } from './ntlm-authenticator.js';
import type { NtlmCredentials } from '../auth/ntlm-context.js';
import { AuthenticationError } from '../errors.js';
import { log } from '../internal/debug.js';
import type {
  AuthChallenge,
  AuthRequest,
  AuthResult,
  Authenticator,
  MessageSealer,
} from './authenticator.js';
import { KerberosAuthenticator, type KerberosAuthenticatorOptions } from './kerberos-authenticator.js';

/** Kerberos failures after which Windows' Negotiate falls back to NTLM. */
const FALLBACK = new Set([
  'PSRP_KERBEROS_UNAVAILABLE',
  'PSRP_KERBEROS_NO_CREDENTIALS',
  'PSRP_KERBEROS_SPN_NOT_FOUND',
  'PSRP_KERBEROS_KDC_UNREACHABLE',
]);

export interface NegotiateAuthenticatorOptions extends Omit<KerberosAuthenticatorOptions, 'scheme'> {
  /** For the NTLM fallback; without them a Kerberos failure is final. */
  readonly credentials?: NtlmCredentials | undefined;
  /** Never fall back to NTLM (some domains disable it). Default false. */
  readonly kerberosOnly?: boolean;
}

/** What the first connection learnt, shared by every connection of a transport. */
interface Decision {
  use: 'kerberos' | 'ntlm' | undefined;
}

export class NegotiateAuthenticator implements Authenticator {
  readonly requiresEncryption = false;
  readonly connectionBound = true;
  readonly sealsMessages = true;
  readonly #options: NegotiateAuthenticatorOptions;
  readonly #decision: Decision;
  #inner: Authenticator | undefined;

  constructor(options: NegotiateAuthenticatorOptions = {}, decision: Decision = { use: undefined }) {
    this.#options = options;
    this.#decision = decision;
  }

  /** `negotiate`, or `ntlm` once this transport fell back to NTLM. */
  get mechanism(): string {
    return this.#inner instanceof NtlmAuthenticator || this.#decision.use === 'ntlm' ? 'ntlm' : 'negotiate';
  }

  forConnection(): NegotiateAuthenticator {
    return new NegotiateAuthenticator(this.#options, this.#decision);
  }

  async authorize(request: AuthRequest): Promise<string | undefined> {
    return this.#run(request, (a) => a.authorize(request));
  }

  async respond(challenge: AuthChallenge): Promise<string | undefined> {
    return this.#run(challenge, (a) => a.respond(challenge));
  }

  async complete(result: AuthResult): Promise<void> {
    await this.#inner?.complete?.(result);
  }

  sealer(): MessageSealer | undefined {
    return this.#inner?.sealer?.();
  }

  #pick(): Authenticator {
    if (this.#inner) return this.#inner;
    const { credentials, kerberosOnly: _k, ...kerberos } = this.#options;
    this.#inner =
      this.#decision.use === 'ntlm' && credentials
        ? new NtlmAuthenticator({ credentials, scheme: 'Negotiate', preemptive: true })
        : new KerberosAuthenticator({ ...kerberos, scheme: 'Negotiate' });
    return this.#inner;
  }

  /**
   * Runs one step. A Kerberos failure that Negotiate tolerates (no package, no ticket, no SPN, no
   * KDC) switches this transport to NTLM, which then starts on the same request.
   */
  async #run(
    request: AuthRequest,
    step: (a: Authenticator) => string | undefined | Promise<string | undefined>,
  ): Promise<string | undefined> {
    const inner = this.#pick();
    try {
      const out = await step(inner);
      this.#decision.use ??= inner instanceof NtlmAuthenticator ? 'ntlm' : 'kerberos';
      return out;
    } catch (err) {
      const o = this.#options;
      if (
        !(inner instanceof KerberosAuthenticator) ||
        !(err instanceof AuthenticationError) ||
        !FALLBACK.has(err.code) ||
        o.kerberosOnly === true ||
        o.credentials === undefined
      )
        throw err;
      log('negotiate: Kerberos unusable (%s), using NTLM', err.code);
      this.#decision.use = 'ntlm';
      this.#inner = undefined;
      return this.#pick().authorize(request);
    }
  }

  toJSON(): { mechanism: string } {
    return { mechanism: this.mechanism };
  }
}
