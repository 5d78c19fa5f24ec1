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

/** Turns a GSSAPI failure into an AuthenticationError with a stable code and a hint. */
export function kerberosError(err: unknown, service: string): AuthenticationError {
  const text = err instanceof Error ? err.message : String(err);
  const spn = service.replace('@', '/');
  const host = service.slice(service.indexOf('@') + 1);
  const make = (code: string, message: string, hint: string): AuthenticationError =>
    new AuthenticationError(`${message} (${text.trim()})`, { mechanism: 'kerberos', code, hint, cause: err });
  if (/Server (\S+ )?not found in Kerberos database|unknown server|S_PRINCIPAL_UNKNOWN/i.test(text))
    return make(
      'PSRP_KERBEROS_SPN_NOT_FOUND',
      `The KDC knows no service principal ${spn}`,
      `Kerberos needs the SPN ${spn} registered on the server's account. A load-balancer VIP or DNS alias usually has none: connect to the server's own FQDN, set \`hostname\` to a name that has the SPN, register it (setspn -S ${spn} <account>; for an Exchange load balancer, the Alternate Service Account), or use NTLM/Basic. Host used: ${host}.`,
    );
  if (/Clock skew too great|KRB_AP_ERR_SKEW/i.test(text))
    return make(
      'PSRP_KERBEROS_CLOCK_SKEW',
      'The clocks of this machine and the KDC differ too much',
      'Kerberos allows 5 minutes by default: synchronise this machine with the domain time (chrony/ntpd against a domain controller).',
    );
  if (/Password (has )?expired|KDC_ERR_KEY_EXP/i.test(text))
    return make(
      'PSRP_KERBEROS_PASSWORD_EXPIRED',
      'The password of this user has expired',
      'Change it first (kpasswd user@REALM, or on Windows); psrp does not change passwords.',
    );
  if (/Password incorrect|Preauthentication failed|KDC_ERR_PREAUTH_FAILED/i.test(text))
    return make(
      'PSRP_KERBEROS_BAD_PASSWORD',
      'The KDC rejected the password',
      'Check the password (case-sensitive) and the realm of the principal; repeated failures can lock the account.',
    );
  if (
    /No Kerberos credentials available|No credentials cache|Credentials cache file .* not found|credentials? (were )?not found|Ticket expired|No credentials were supplied/i.test(
      text,
    )
  )
    return make(
      'PSRP_KERBEROS_NO_CREDENTIALS',
      'No usable Kerberos ticket for this process',
      'Get one first: kinit user@REALM (or a keytab: kinit -k -t file.keytab principal), and check KRB5CCNAME and klist. Tickets expire (default 10 h).',
    );
  if (
    /Cannot (find|contact any) KDC|Cannot resolve network address for KDC|unable to reach any KDC/i.test(text)
  )
    return make(
      'PSRP_KERBEROS_KDC_UNREACHABLE',
      'No Kerberos KDC could be reached',
      'Check /etc/krb5.conf (default_realm, [realms] kdc =) or DNS SRV records _kerberos._udp.<realm>, and that TCP/UDP 88 to a domain controller is open.',
    );
  if (/Client (\S+ )?not found in Kerberos database|Client \(\S+\) unknown|C_PRINCIPAL_UNKNOWN/i.test(text))
    return make(
      'PSRP_KERBEROS_UNKNOWN_USER',
      'The KDC does not know this user',
      'Check the principal name and realm (user@REALM, realm in capitals).',
    );
  return make(
    'PSRP_KERBEROS_FAILED',
    'Kerberos authentication failed',
    'Run with DEBUG=psrp and KRB5_TRACE=/dev/stderr to see the GSSAPI conversation; klist shows the tickets in use.',
  );
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

  constructor(options: KerberosAuthenticatorOptions = {}) {
    this.#options = options;
    this.#scheme = options.scheme ?? 'Negotiate';
  }

  get mechanism(): string {
    return this.#scheme === 'Kerberos' ? 'kerberos' : 'negotiate';
  }

  forConnection(): KerberosAuthenticator {
    return new KerberosAuthenticator(this.#options);
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
    const token = challengeToken(challenge.wwwAuthenticate, this.#scheme);
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
    const token = challengeToken(result.wwwAuthenticate, this.#scheme);
    // Mutual authentication: the server's last token proves it holds the service key.
    if (token !== undefined && token !== '') await this.#step(token);
    if (!this.#client?.contextComplete) {
      this.#phase = 'failed';
      throw new AuthenticationError(`The server did not complete ${this.#scheme} mutual authentication`, {
        mechanism: this.mechanism,
        code: 'PSRP_KERBEROS_MUTUAL_AUTH_FAILED',
        hint: 'The answer did not prove the server holds the service key: a proxy may be stripping WWW-Authenticate, or this is not the server you meant.',
      });
    }
    this.#phase = 'established';
  }

  sealer(): MessageSealer | undefined {
    const client = this.#client;
    if (this.#phase !== 'established' || client === undefined) return undefined;
    const service = this.#service;
    this.#sealer ??= {
      protocol:
        this.#scheme === 'Kerberos'
          ? 'application/HTTP-Kerberos-session-encrypted'
          : 'application/HTTP-SPNEGO-session-encrypted',
      seal() {
        // The `kerberos` binding's wrap() cannot seal arbitrary data on Unix (it always takes its
        // SASL branch), so a GSSAPI context cannot encrypt WinRM messages through it.
        throw new AuthenticationError(
          `Kerberos message encryption over http:// is not available (${service}): the kerberos package cannot seal messages`,
          {
            mechanism: 'kerberos',
            code: 'PSRP_KERBEROS_UNSUPPORTED',
            hint: 'Use https:// (TLS protects the messages, no sealing needed), or NTLM over http://.',
          },
        );
      },
      async unseal(header, data) {
        const plain = await client.unwrap(Buffer.concat([header, data]).toString('base64'));
        return Buffer.from(plain, 'base64');
      },
    };
    return this.#sealer;
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
    try {
      this.#client = await gss.initializeClient(this.#service, {
        gssFlag: flags,
        mechOID: this.#scheme === 'Kerberos' ? gss.GSS_MECH_OID_KRB5 : gss.GSS_MECH_OID_SPNEGO,
        ...(o.principal !== undefined ? { principal: o.principal } : {}),
      });
    } catch (err) {
      throw kerberosError(err, this.#service);
    }
    const token = await this.#step('');
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

/** The token of `scheme` in `WWW-Authenticate` values: '' when bare, undefined when not offered. */
function challengeToken(values: readonly string[], scheme: string): string | undefined {
  let found: string | undefined;
  for (const value of values) {
    for (const part of value.split(',')) {
      const m = /^\s*([A-Za-z]+)(?:\s+([A-Za-z0-9+/]+={0,2}))?\s*$/.exec(part);
      if (m?.[1]?.toLowerCase() !== scheme.toLowerCase()) continue;
      if (m[2] !== undefined) return m[2];
      found = '';
    }
  }
  return found;
}
