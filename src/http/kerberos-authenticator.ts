// RFC 4559 (HTTP Negotiate), RFC 4178 (SPNEGO) and RFC 4121 (Kerberos V5 GSS-API) through the
// system GSSAPI library, with MS-WSMV 2.2.9.1 message encryption.
/**
 * Kerberos and Negotiate for WinRM through MIT/Heimdal GSSAPI (or SSPI on Windows), by the optional
 * `kerberos` npm package. The tickets come from the user's credential cache (`kinit`, a keytab,
 * KCM), as with `curl --negotiate` or `ssh -K`; nothing here sees a password.
 *
 * - `Negotiate` (default) uses the SPNEGO mechanism, which picks Kerberos (or NTLM when the
 *   system library has an NTLM mechanism such as gss-ntlmssp); `Kerberos` uses krb5 directly.
 * - The service principal is `HTTP/<host of the URL>`: a VIP or DNS alias without that SPN
 *   fails with `PSRP_KERBEROS_SPN_NOT_FOUND`; set `hostname` (or `spn`) to the name that has it.
 * - The handshake is connection-bound (one GSS context per TCP connection) and the context then
 *   seals every message over http:// (the transport asks `sealer()`).
 * - GSSAPI errors become `AuthenticationError`s with stable codes and hints (no SPN, no ticket,
 *   clock skew, unreachable KDC, unknown principal).
 *
 * The binding cannot pass channel bindings, so Kerberos over https with Extended Protection set to
 * Strict is not possible through it (docs/auth.md).
 */
import { AuthenticationError } from '../errors.js';
import { kerberosError } from './kerberos-errors.js';
import { kinit } from './kinit.js';
import { kerberosSealer } from '../auth/kerberos-sealing.js';
import { parseNegotiateChallenges } from '../auth/negotiate-challenges.js';
import type { Krb5Key } from '../auth/krb5-crypto.js';
import { readServiceTicketKeys } from './kerberos-ccache-file.js';
import { rm } from 'node:fs/promises';
import type {
  AuthChallenge,
  AuthRequest,
  AuthResult,
  Authenticator,
  MessageSealer,
} from './authenticator.js';

/** The part of the `kerberos` package psrp uses (structural, so the package stays optional). */
export interface GssClient {
  step(challenge: string): Promise<string>;
  wrap(challenge: string, options?: { user?: string; protect?: boolean }): Promise<string>;
  unwrap(challenge: string): Promise<string>;
  readonly contextComplete: boolean;
  readonly username?: string;
}
export interface GssModule {
  initializeClient(
    service: string,
    options?: { principal?: string; gssFlag?: number; mechOID?: number },
  ): Promise<GssClient>;
  readonly GSS_C_MUTUAL_FLAG: number;
  readonly GSS_C_SEQUENCE_FLAG: number;
  readonly GSS_C_CONF_FLAG: number;
  readonly GSS_C_INTEG_FLAG: number;
  readonly GSS_C_DELEG_FLAG: number;
  readonly GSS_MECH_OID_KRB5: number;
  readonly GSS_MECH_OID_SPNEGO: number;
}

export interface KerberosAuthenticatorOptions {
  /** `Negotiate` (SPNEGO, default; what WinRM and Exchange offer) or `Kerberos` (krb5 only). */
  readonly scheme?: 'Negotiate' | 'Kerberos';
  /**
   * The host name of the service principal, when the URL names a VIP, load balancer or alias that
   * has no SPN of its own (default: the URL's host).
   */
  readonly hostname?: string | undefined;
  /** The whole service principal, `HTTP/cas01.contoso.com` or `HTTP@cas01.contoso.com` (overrides `hostname`). */
  readonly spn?: string | undefined;
  /** The client principal to use from a credential-cache collection (`alice@CONTOSO.COM`). */
  readonly principal?: string | undefined;
  /** Forward the ticket to the server (delegation, CredSSP-like double hop). Default false. */
  readonly delegate?: boolean | undefined;
  /** Send the first token with the first request instead of waiting for a 401. Default true. */
  readonly preemptive?: boolean | undefined;
  /**
   * A user name and password: psrp gets a ticket with `kinit` into a private credential cache
   * (removed when the transport closes) instead of using the process's cache. `username` is the
   * principal (`alice@CONTOSO.COM`, or `alice` in krb5.conf's default realm).
   */
  readonly credentials?: { readonly username: string; readonly password: string } | undefined;
  /** For tests and other bindings: the GSSAPI module (default: `import('kerberos')`). */
  readonly gssapi?: GssModule | (() => Promise<GssModule>);
}

type Phase = 'idle' | 'sent' | 'established' | 'failed';

/** Loads the optional `kerberos` package, or explains how to get it. */
export async function loadKerberosModule(): Promise<GssModule> {
  const name = 'kerberos';
  try {
    const mod = (await import(name)) as GssModule & { default?: GssModule };
    return typeof mod.initializeClient === 'function' ? mod : (mod.default as GssModule);
  } catch (cause) {
    throw new AuthenticationError(
      'Kerberos and Negotiate need the optional `kerberos` package, which is not installed or did not build',
      {
        mechanism: 'kerberos',
        code: 'PSRP_KERBEROS_UNAVAILABLE',
        hint: 'npm install kerberos (on Linux it compiles against MIT Kerberos: apt-get install libkrb5-dev build-essential, or dnf install krb5-devel gcc-c++). Or use auth: { method: "ntlm" }.',
        cause,
      },
    );
  }
}

/** `HTTP@host` (GSS host-based service name) for a URL host, or from an `HTTP/host` SPN. */
export function gssServiceName(host: string, spn?: string): string {
  if (spn !== undefined) {
    const m = /^([^/@]+)[/@]([^@]+?)(?:@[^@]*)?$/.exec(spn);
    if (!m)
      throw new AuthenticationError(`Invalid SPN ${JSON.stringify(spn)}`, {
        mechanism: 'kerberos',
        code: 'PSRP_KERBEROS_FAILED',
      });
    return `${m[1]}@${m[2]}`;
  }
  return `HTTP@${host.replace(/^\[|\]$/g, '').toLowerCase()}`;
}

/**
 * Negotiate/Kerberos for one connection (connection-bound; HttpTransport makes one per TCP
 * connection with `forConnection()`).
 */
export class KerberosAuthenticator implements Authenticator {
  readonly requiresEncryption = false;
  readonly connectionBound = true;
  readonly sealsMessages = true;
  readonly #options: KerberosAuthenticatorOptions;
  readonly #scheme: 'Negotiate' | 'Kerberos';
  #phase: Phase = 'idle';
  #client: GssClient | undefined;
  #service = '';
  #sealer: MessageSealer | undefined;
  /** The first token (the AP-REQ, in SPNEGO or not), which the sealer opens for the context keys. */
  #initiatorToken = '';
  /** The service ticket's session key(s), read from the credential cache (over http:// only). */
  #keys: Promise<Krb5Key[]> | undefined;

  /** The private credential cache of `credentials`, shared by this transport's connections. */
  readonly #tickets: { cache?: Promise<string> | undefined };

  constructor(
    options: KerberosAuthenticatorOptions = {},
    tickets: { cache?: Promise<string> | undefined } = {},
  ) {
    this.#options = options;
    this.#scheme = options.scheme ?? 'Negotiate';
    this.#tickets = tickets;
  }

  /** Removes the private credential cache (HttpTransport calls this when it closes). */
  async dispose(): Promise<void> {
    const cache = this.#tickets.cache;
    this.#tickets.cache = undefined;
    const name = await cache?.catch(() => undefined);
    if (name?.startsWith('FILE:')) await rm(name.slice(5), { force: true });
  }

  get mechanism(): string {
    return this.#scheme === 'Kerberos' ? 'kerberos' : 'negotiate';
  }

  forConnection(): KerberosAuthenticator {
    return new KerberosAuthenticator(this.#options, this.#tickets);
  }

  /** The user name GSSAPI authenticated as, once established. */
  get principal(): string | undefined {
    return this.#phase === 'established' ? this.#client?.username : undefined;
  }

  async authorize(request: AuthRequest): Promise<string | undefined> {
    if (this.#options.preemptive === false || this.#phase === 'established') return undefined;
    return this.#start(request);
  }

  async respond(challenge: AuthChallenge): Promise<string | undefined> {
    const token = parseNegotiateChallenges(challenge.wwwAuthenticate).get(this.#scheme);
    if (token === undefined) return undefined;
    if (this.#phase === 'sent' && token !== '') {
      const out = await this.#step(token);
      return out === '' ? undefined : `${this.#scheme} ${out}`;
    }
    // A bare challenge after our token: the server refused it (wrong ticket, unknown user).
    if (this.#phase === 'sent') {
      this.#phase = 'failed';
      return undefined;
    }
    return this.#start(challenge);
  }

  async complete(result: AuthResult): Promise<void> {
    if (this.#phase !== 'sent') return;
    const token = parseNegotiateChallenges(result.wwwAuthenticate).get(this.#scheme);
    // Mutual authentication: the server's last token proves it holds the service key.
    let finalToken = '';
    if (token !== undefined && token !== '') finalToken = await this.#step(token);
    if (!this.#client?.contextComplete) {
      this.#phase = 'failed';
      throw new AuthenticationError(`The server did not complete ${this.#scheme} mutual authentication`, {
        mechanism: this.mechanism,
        code: 'PSRP_KERBEROS_MUTUAL_AUTH_FAILED',
        hint: 'The answer did not prove the server holds the service key: a proxy may be stripping WWW-Authenticate, or this is not the server you meant.',
      });
    }
    if (this.#keys !== undefined) {
      // Over http:// every message is sealed: psrp does RFC 4121 itself with the context's keys.
      this.#phase = 'failed';
      this.#sealer = kerberosSealer({
        sessionKey: await this.#keys,
        initiatorToken: this.#initiatorToken,
        ...(token !== undefined && token !== '' ? { acceptorToken: token } : {}),
        ...(finalToken !== '' ? { initiatorFinalToken: finalToken } : {}),
        scheme: this.#scheme,
      });
    }
    this.#phase = 'established';
  }

  /** The context's sealer over http:// (RFC 4121 wrap tokens in Windows' layout), once established. */
  sealer(): MessageSealer | undefined {
    return this.#phase === 'established' ? this.#sealer : undefined;
  }

  async #start(request: AuthRequest): Promise<string> {
    const o = this.#options;
    const gss =
      typeof o.gssapi === 'function' ? await o.gssapi() : (o.gssapi ?? (await loadKerberosModule()));
    this.#service = gssServiceName(o.hostname ?? request.url.hostname, o.spn);
    const flags =
      gss.GSS_C_MUTUAL_FLAG |
      gss.GSS_C_SEQUENCE_FLAG |
      gss.GSS_C_CONF_FLAG |
      gss.GSS_C_INTEG_FLAG |
      (o.delegate ? gss.GSS_C_DELEG_FLAG : 0);
    this.#sealer = undefined;
    this.#phase = 'failed';
    const credentials = o.credentials;
    if (credentials !== undefined) {
      this.#tickets.cache ??= kinit({ principal: credentials.username, password: credentials.password }).then(
        (r) => r.ccache,
      );
    }
    const cache = credentials === undefined ? undefined : await this.#tickets.cache;
    // The first step is where GSSAPI reads the credential cache.
    this.#keys = undefined;
    const token = await withCredentialCache(cache, async () => {
      try {
        this.#client = await gss.initializeClient(this.#service, {
          gssFlag: flags,
          mechOID: this.#scheme === 'Kerberos' ? gss.GSS_MECH_OID_KRB5 : gss.GSS_MECH_OID_SPNEGO,
          ...(o.principal !== undefined ? { principal: o.principal } : {}),
        });
      } catch (err) {
        throw kerberosError(err, this.#service);
      }
      const first = await this.#step('');
      // The first step put the service ticket into the cache: over http:// its session key is what
      // opens the context's keys for sealing. Read it now, while the cache is the one GSSAPI used.
      if (request.url.protocol === 'http:') {
        this.#keys = readServiceTicketKeys(this.#service, {
          KRB5CCNAME: cache ?? process.env['KRB5CCNAME'],
          KRB5_CONFIG: process.env['KRB5_CONFIG'],
        });
        this.#keys.catch(() => undefined);
      }
      return first;
    });
    this.#initiatorToken = token;
    this.#phase = 'sent';
    return `${this.#scheme} ${token}`;
  }

  async #step(token: string): Promise<string> {
    const client = this.#client;
    if (client === undefined) return '';
    try {
      return (await client.step(token)) ?? '';
    } catch (err) {
      this.#phase = 'failed';
      throw kerberosError(err, this.#service);
    }
  }

  toJSON(): { mechanism: string; phase: Phase; service: string } {
    return { mechanism: this.mechanism, phase: this.#phase, service: this.#service };
  }
}

/** Serialises the first GSSAPI steps, so that one can point KRB5CCNAME at a private cache. */
let credentialCacheLock: Promise<unknown> = Promise.resolve();

/**
 * Runs `fn` with KRB5CCNAME set to `cache` (when given), one at a time: the binding reads the
 * credential cache from the process environment, and MIT looks it up when a context starts.
 */
function withCredentialCache<T>(cache: string | undefined, fn: () => Promise<T>): Promise<T> {
  const run = async (): Promise<T> => {
    if (cache === undefined) return fn();
    const saved = process.env['KRB5CCNAME'];
    process.env['KRB5CCNAME'] = cache;
    try {
      return await fn();
    } finally {
      if (saved === undefined) delete process.env['KRB5CCNAME'];
      else process.env['KRB5CCNAME'] = saved;
    }
  };
  const result = credentialCacheLock.then(run, run);
  credentialCacheLock = result.catch(() => undefined);
  return result;
}
