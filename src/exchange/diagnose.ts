/**
 * `diagnose()`: walks the path of the Exchange field guide (shared/seed/exchange-rps-over-arr.txt)
 * from the client outwards and says, in plain words, what is wrong and how to fix it:
 *
 *   DNS → TCP → TLS (trusted? name? expiry) → HTTP on the virtual directory (status, offered
 *   WWW-Authenticate schemes, Require SSL 403, reverse proxy 502, redirects) → Kerberos/SPN (when
 *   asked for) → credentials (WS-Man Identify with Basic) → shell creation → what the user's
 *   roles grant (a limited role is named as such).
 *
 * Each step is a {@link DiagnosisCheck}; a failed step stops the steps that depend on it (they are
 * reported as skipped, with the reason). Credentials are sent only over a connection the earlier
 * steps proved safe: a trusted certificate (or an explicit skipCertificateCheck) and https:// (or
 * an explicit allowUnencrypted). Nothing in a check's text carries the password.
 *
 * This sits in the Exchange layer and does its own I/O on purpose: a diagnosis must see what the
 * transport hides (the raw status and headers of an anonymous request, the certificate of a
 * connection that failed verification).
 */
import { promises as dns } from 'node:dns';
import { isIP, connect as tcpConnect } from 'node:net';
import { checkServerIdentity, connect as tlsConnect, rootCertificates, type PeerCertificate } from 'node:tls';
import { Agent, request } from 'undici';
import {
  anonymousIdentifyRequest,
  AuthenticationError,
  identify,
  KerberosAuthenticator,
  offeredSchemes,
  PsrpError,
  TransportError,
  WSManFaultError,
  type IdentifyResult,
  type AuthOption,
} from '../index.js';
import { getCommandInfo } from './command-info.js';
import { connectExchange, exchangeUri } from './exchange-session.js';
import { grantedCommands } from './generate-commands.js';

export type CheckStatus = 'pass' | 'warn' | 'fail' | 'skip';
export type CheckId = 'dns' | 'tcp' | 'tls' | 'http' | 'kerberos' | 'auth' | 'shell' | 'roles';

export interface DiagnosisCheck {
  readonly id: CheckId;
  readonly title: string;
  readonly status: CheckStatus;
  /** What was found, in plain words. */
  readonly detail: string;
  /** What to do about it (for warn and fail). */
  readonly fix?: string | undefined;
  /** The psrp error code behind a failure, when there is one. */
  readonly code?: string | undefined;
}

export interface Diagnosis {
  readonly url: string;
  readonly checks: readonly DiagnosisCheck[];
  /** True when no check failed. */
  readonly ok: boolean;
}

export interface DiagnoseOptions {
  /** A server name (→ `https://<server>/PowerShell/`) or a full URI. */
  readonly server?: string | undefined;
  readonly uri?: string | URL | undefined;
  /** Without it, the steps that need credentials are skipped. */
  readonly credential?: { readonly username: string; readonly password: string } | undefined;
  /**
   * The mechanism to check and use: Basic (default), NTLM, Negotiate (Kerberos with an NTLM
   * fallback when `credential` is given) or Kerberos (the ticket cache; `credential` is not used).
   */
  readonly auth?: 'basic' | 'negotiate' | 'kerberos' | 'ntlm' | undefined;
  readonly ca?: string | Buffer | readonly (string | Buffer)[] | undefined;
  readonly skipCertificateCheck?: boolean | undefined;
  readonly allowRedirection?: boolean | undefined;
  readonly allowUnencrypted?: boolean | undefined;
  /** Milliseconds each network step may take. Default 10000. */
  readonly stepTimeoutMs?: number | undefined;
  /** Called as each check completes (for live output). */
  readonly onCheck?: ((check: DiagnosisCheck) => void) | undefined;
}

const TITLES: Readonly<Record<CheckId, string>> = {
  dns: 'DNS',
  tcp: 'TCP',
  tls: 'TLS certificate',
  http: 'HTTP on the virtual directory',
  kerberos: 'Kerberos / SPN',
  auth: 'Credentials',
  shell: 'Shell',
  roles: 'Roles',
};

const EXCHANGE_WRITE_CMDLETS = [
  'New-Mailbox',
  'Set-Mailbox',
  'Remove-Mailbox',
  'Enable-Mailbox',
  'Set-User',
  'New-DistributionGroup',
];

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(Object.assign(new Error(`${what} did not answer within ${ms} ms`), { code: 'ETIMEDOUT' })),
        ms,
      );
    }),
  ]).finally(() => clearTimeout(timer));
}

const errCode = (e: unknown): string => String((e as { code?: unknown }).code ?? 'ERROR');
const errMessage = (e: unknown): string => (e instanceof Error ? e.message : String(e));

interface TlsFacts {
  readonly authorized: boolean;
  readonly authorizationError: string | undefined;
  readonly cert: PeerCertificate | undefined;
  readonly protocol: string | null;
}

function probeTls(
  host: string,
  address: string,
  port: number,
  ca: readonly (string | Buffer)[],
  timeoutMs: number,
): Promise<TlsFacts> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({
      host: address,
      port,
      ...(isIP(host) ? {} : { servername: host }),
      rejectUnauthorized: false,
      ...(ca.length > 0 ? { ca: [...rootCertificates, ...ca] } : {}),
      timeout: timeoutMs,
    });
    socket.once('secureConnect', () => {
      const cert = socket.getPeerCertificate();
      const err = socket.authorizationError as unknown;
      resolve({
        authorized: socket.authorized,
        authorizationError:
          err === null || err === undefined ? undefined : typeof err === 'string' ? err : errCode(err),
        cert: cert && Object.keys(cert).length > 0 ? cert : undefined,
        protocol: socket.getProtocol(),
      });
      socket.destroy();
    });
    socket.once('timeout', () => {
      socket.destroy();
      reject(Object.assign(new Error('TLS handshake timed out'), { code: 'ETIMEDOUT' }));
    });
    socket.once('error', reject);
  });
}

function probeTcp(address: string, port: number, timeoutMs: number): Promise<number> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const socket = tcpConnect({ host: address, port, timeout: timeoutMs });
    socket.once('connect', () => {
      socket.destroy();
      resolve(Math.round(performance.now() - started));
    });
    socket.once('timeout', () => {
      socket.destroy();
      reject(Object.assign(new Error('connect timed out'), { code: 'ETIMEDOUT' }));
    });
    socket.once('error', reject);
  });
}

export async function diagnose(options: DiagnoseOptions): Promise<Diagnosis> {
  const url = exchangeUri(options);
  const timeoutMs = options.stepTimeoutMs ?? 10_000;
  const auth = options.auth ?? 'basic';
  const https = url.protocol === 'https:';
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const port = Number(url.port || (https ? 443 : 80));
  const ca =
    options.ca === undefined
      ? []
      : Array.isArray(options.ca)
        ? (options.ca as readonly (string | Buffer)[])
        : [options.ca as string | Buffer];
  const checks: DiagnosisCheck[] = [];
  const add = (
    id: CheckId,
    status: CheckStatus,
    detail: string,
    fix?: string,
    code?: string,
  ): DiagnosisCheck => {
    const c: DiagnosisCheck = {
      id,
      title: TITLES[id],
      status,
      detail,
      ...(fix !== undefined ? { fix } : {}),
      ...(code !== undefined ? { code } : {}),
    };
    checks.push(c);
    options.onCheck?.(c);
    return c;
  };
  const skipRest = (from: CheckId, reason: string): Diagnosis => {
    const order: CheckId[] = ['dns', 'tcp', 'tls', 'http', 'kerberos', 'auth', 'shell', 'roles'];
    for (const id of order.slice(order.indexOf(from))) {
      if (id === 'kerberos' && auth === 'basic') continue;
      if (id === 'tls' && !https) continue;
      if (!checks.some((c) => c.id === id)) add(id, 'skip', reason);
    }
    return done();
  };
  const done = (): Diagnosis => ({ url: url.href, checks, ok: !checks.some((c) => c.status === 'fail') });

  // DNS
  let address = host;
  let alias: string | undefined;
  if (isIP(host)) {
    add('dns', 'pass', `${host} is an address; no DNS lookup needed`);
  } else {
    try {
      const found = await withTimeout(dns.lookup(host, { all: true }), timeoutMs, 'DNS');
      address = found[0]!.address;
      if (host !== 'localhost') {
        try {
          const resolver = new dns.Resolver({ timeout: 1500, tries: 1 });
          alias = (await withTimeout(resolver.resolveCname(host), 2000, 'DNS'))[0];
        } catch {
          // No CNAME (or no DNS server answering CNAME queries): the name is not an alias we can see.
        }
      }
      add(
        'dns',
        'pass',
        `${host} → ${found.map((a) => a.address).join(', ')}${alias ? ` (an alias of ${alias})` : ''}`,
      );
    } catch (e) {
      const code = errCode(e);
      add(
        'dns',
        'fail',
        `${host} does not resolve (${code})`,
        code === 'ENOTFOUND'
          ? 'Check the spelling and use the FQDN. From outside, public DNS must point the name at the reverse proxy (ARR); inside, at the CAS. Test with nslookup, or add a hosts-file entry.'
          : 'No DNS server answered: check the DNS settings and the network (VPN).',
      );
      return skipRest('tcp', 'skipped: the name does not resolve');
    }
  }

  // TCP
  try {
    const ms = await probeTcp(address, port, timeoutMs);
    add('tcp', 'pass', `connected to ${address}:${port} in ${ms} ms`);
  } catch (e) {
    const code = errCode(e);
    add(
      'tcp',
      'fail',
      `cannot connect to ${address}:${port} (${code})`,
      code === 'ECONNREFUSED'
        ? `Nothing listens on port ${port}: Exchange answers on 443 (https) and 80 (http); WinRM itself on 5985/5986. Check the URL, IIS and the firewall.`
        : `The host does not answer on port ${port}: check firewalls, routing and VPN.`,
    );
    return skipRest(https ? 'tls' : 'http', 'skipped: no TCP connection');
  }

  // TLS
  let tlsTrusted = !https;
  if (https) {
    try {
      const t = await withTimeout(probeTls(host, address, port, ca, timeoutMs), timeoutMs + 500, 'TLS');
      const cert = t.cert;
      const first = (v: string | string[] | undefined): string | undefined => (Array.isArray(v) ? v[0] : v);
      const names = cert?.subjectaltname?.replace(/DNS:|IP Address:/g, '') ?? first(cert?.subject?.CN) ?? '?';
      const issuer = first(cert?.issuer?.CN) ?? first(cert?.issuer?.O) ?? '?';
      const until = cert ? new Date(cert.valid_to) : undefined;
      const days = until ? Math.floor((until.getTime() - Date.now()) / 86_400_000) : undefined;
      const nameError = cert ? checkServerIdentity(host, cert) : undefined;
      const about = `issued to ${names} by ${issuer}, valid until ${until?.toISOString().slice(0, 10) ?? '?'}`;
      if (t.authorizationError === 'CERT_HAS_EXPIRED' || (days !== undefined && days < 0)) {
        add(
          'tls',
          'fail',
          `the certificate has expired (${about})`,
          'Renew the certificate on the server (Exchange: New-ExchangeCertificate / Enable-ExchangeCertificate -Services IIS), and on the reverse proxy if it terminates TLS. Check both clocks.',
          'PSRP_TLS_EXPIRED',
        );
      } else if (nameError) {
        add(
          'tls',
          'fail',
          `the certificate does not name ${host} (${about})`,
          `Connect with a name the certificate lists, or add ${host} to its subject alternative names (a CNAME or load-balanced VIP name must be on the certificate).`,
          'PSRP_TLS_NAME_MISMATCH',
        );
      } else if (!t.authorized) {
        if (options.skipCertificateCheck === true) {
          add(
            'tls',
            'warn',
            `the certificate is not trusted (${t.authorizationError ?? 'unknown'}; ${about}); verification is off as asked`,
            'Trust the issuing CA instead of turning verification off outside a lab.',
          );
          tlsTrusted = true;
        } else {
          add(
            'tls',
            'fail',
            `the certificate is not trusted (${t.authorizationError ?? 'unknown'}; ${about})`,
            'Trust the issuing CA: pass --ca <file.pem> (or `ca`), or set NODE_EXTRA_CA_CERTS; a self-signed Exchange certificate must be exported and trusted on the client (and on the ARR server). --skip-certificate-check is the -SkipCACheck of a lab.',
            'PSRP_TLS_UNTRUSTED',
          );
        }
      } else {
        tlsTrusted = true;
        add(
          'tls',
          days !== undefined && days < 30 ? 'warn' : 'pass',
          `trusted, ${t.protocol ?? 'TLS'}, ${about}${days !== undefined ? ` (${days} days left)` : ''}`,
          days !== undefined && days < 30
            ? 'The certificate expires soon: renew it before clients start failing.'
            : undefined,
        );
      }
    } catch (e) {
      const code = errCode(e);
      add(
        'tls',
        'fail',
        `no TLS handshake with ${host}:${port} (${code})`,
        /WRONG_VERSION_NUMBER|PACKET_LENGTH/.test(code)
          ? 'This port speaks plain HTTP: use http://, or the https port.'
          : 'The server closed the handshake: check the binding of the certificate in IIS, TLS versions, or a proxy in between.',
        'PSRP_TLS_HANDSHAKE_FAILED',
      );
      return skipRest('http', 'skipped: no TLS connection');
    }
  }

  // HTTP (anonymous; certificate verification off only for this probe, which carries no secret)
  let offered: string[] = [];
  const agent = new Agent({
    connect: {
      rejectUnauthorized: false,
      ...(ca.length > 0 ? { ca: [...rootCertificates, ...ca] } : {}),
      timeout: timeoutMs,
    },
  });
  try {
    const res = await withTimeout(
      request(url, {
        method: 'POST',
        dispatcher: agent,
        ...anonymousIdentifyRequest(),
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
      }),
      timeoutMs + 500,
      'HTTP',
    );
    const body = (await res.body.text()).slice(0, 2000);
    const www = res.headers['www-authenticate'];
    offered = offeredSchemes(www === undefined ? [] : Array.isArray(www) ? www : [www]);
    const status = res.statusCode;
    const path = url.pathname;
    if (status === 401) {
      const basic = offered.some((s) => s.toLowerCase() === 'basic');
      if (auth === 'basic' && !basic) {
        add(
          'http',
          'fail',
          `${path} asks for authentication but offers ${offered.join(', ') || 'no scheme'}, not Basic: Basic authentication is disabled on the virtual directory`,
          'Enable Basic on the PowerShell virtual directory: Set-PowerShellVirtualDirectory -BasicAuthentication $true (or IIS Manager → PowerShell → Authentication → Basic → Enable) on every CAS behind the name; or use Negotiate/Kerberos inside the network.',
          'PSRP_AUTH_FAILED',
        );
      } else {
        add('http', 'pass', `${path} answers and offers ${offered.join(', ') || 'no scheme'}`);
      }
    } else if (status === 200) {
      add('http', 'pass', `${path} answered WS-Man Identify without authentication`);
    } else if (status === 400) {
      const exchange = /FailureCategory|ClientAccessServer|Access is denied/i.test(body);
      add(
        'http',
        'warn',
        exchange
          ? `${path} answered 400 with Exchange's plain-text error: the front end turns 401 into 400, so the offered schemes cannot be seen`
          : `${path} answered 400 to an anonymous request`,
        'Expected from Exchange; the credential check below tells whether Basic is enabled and the password right.',
        'PSRP_HTTP_BAD_REQUEST',
      );
    } else if (status === 403) {
      add(
        'http',
        'fail',
        `${path} answered 403 Forbidden${https ? '' : ' over plain http://'}: "Require SSL" is set on the virtual directory${https ? ', or it requires a client certificate' : ''}`,
        https
          ? 'Set SSL settings of the PowerShell virtual directory to ignore client certificates.'
          : 'Use https:// (Basic needs it anyway), or untick "Require SSL" on the PowerShell virtual directory: the field guide warns that requiring SSL breaks internal Kerberos over http.',
        'PSRP_HTTP_FORBIDDEN',
      );
    } else if (status === 502) {
      add(
        'http',
        'fail',
        `${path} answered 502 Bad Gateway: the reverse proxy (IIS ARR, load balancer) could not talk to the Exchange server behind it`,
        'On the proxy: trust the Exchange certificate (Trusted Root and Intermediate stores of the ARR server), check the server farm health and URL Rewrite rules; on Exchange: set the PowerShell virtual directory to ignore client certificates.',
        'PSRP_HTTP_BAD_GATEWAY',
      );
    } else if (status === 404) {
      add(
        'http',
        'fail',
        `${path} answered 404: no WS-Management endpoint there`,
        'Exchange uses https://<server>/PowerShell/ (a Windows WinRM listener uses /wsman).',
        'PSRP_HTTP_NOT_FOUND',
      );
    } else if (status >= 300 && status < 400) {
      const location = String(res.headers['location'] ?? '');
      if (options.allowRedirection === true)
        add('http', 'pass', `${path} redirects to ${location}; redirection is allowed`);
      else {
        add(
          'http',
          'fail',
          `${path} redirects (HTTP ${status}) to ${location}`,
          "Allow it if you trust that server (--allow-redirection, `allowRedirection: true`, PowerShell's -AllowRedirection): credentials are sent there. Or connect to that URL directly.",
          'PSRP_REDIRECT_NOT_ALLOWED',
        );
      }
    } else {
      add(
        'http',
        'fail',
        `${path} answered HTTP ${status}`,
        status === 503
          ? 'The server or its MSExchangePowerShellAppPool is down or throttling: retry, check IIS.'
          : 'Check the server: IIS logs, the event log, Failed Request Tracing.',
        status >= 500 ? 'PSRP_HTTP_SERVER_ERROR' : 'PSRP_HTTP_STATUS',
      );
    }
  } catch (e) {
    add(
      'http',
      'fail',
      `no HTTP answer from ${url.origin} (${errCode(e)}: ${clip(errMessage(e), 120)})`,
      'Check that the port serves HTTP(S) and that no proxy drops the request.',
      'PSRP_CONNECTION_FAILED',
    );
  } finally {
    await agent.close();
  }
  if (checks.at(-1)?.status === 'fail')
    return skipRest('kerberos', 'skipped: the virtual directory did not answer as expected');

  // Kerberos / SPN (only when the user means to use Windows authentication)
  if (auth !== 'basic') {
    const spn = `HTTP/${alias ?? host}`;
    const scheme = auth === 'kerberos' ? 'kerberos' : auth === 'ntlm' ? '(negotiate|ntlm)' : 'negotiate';
    if (!offered.some((s) => new RegExp(`^${scheme}$`, 'i').test(s))) {
      add(
        'kerberos',
        'fail',
        `the virtual directory offers ${offered.length > 0 ? offered.join(', ') : 'no authentication scheme'}, not ${auth === 'ntlm' ? 'Negotiate or NTLM' : auth === 'kerberos' ? 'Kerberos' : 'Negotiate'}`,
        'Enable Windows authentication on the virtual directory (Set-PowerShellVirtualDirectory -WindowsAuthentication $true), or use Basic over https://.',
        'PSRP_AUTH_FAILED',
      );
      return skipRest('auth', `skipped: the server does not offer ${auth}`);
    }
    if (auth === 'ntlm')
      add('kerberos', 'pass', `NTLM needs no SPN; the server offers ${offered.join(', ')}`);
    else {
      // Ask the KDC for a ticket to the SPN: this is where a VIP or alias without one fails.
      try {
        const probe = new KerberosAuthenticator({
          scheme: auth === 'kerberos' ? 'Kerberos' : 'Negotiate',
          ...(alias ? { hostname: alias } : {}),
        });
        await withTimeout(Promise.resolve(probe.authorize({ method: 'POST', url })), timeoutMs, 'the KDC');
        add(
          'kerberos',
          'pass',
          `a ticket for ${spn} was issued${alias ? ` (${host} is an alias of ${alias})` : ''}`,
        );
      } catch (e) {
        const code = e instanceof PsrpError ? e.code : undefined;
        const fallback =
          auth === 'negotiate' && options.credential !== undefined && code !== 'PSRP_KERBEROS_CLOCK_SKEW';
        add(
          'kerberos',
          fallback ? 'warn' : 'fail',
          `${clip(errMessage(e), 200)}${fallback ? '; Negotiate will fall back to NTLM with the given credentials' : ''}`,
          hintOf(e) ??
            `On a load-balanced or VIP name Kerberos fails unless an alternate service account holds ${spn} (setspn -S ${spn} <ASA account>): connect to a CAS FQDN instead.`,
          code,
        );
        if (!fallback) return skipRest('auth', 'skipped: Kerberos cannot get a ticket');
      }
    }
    if (!https)
      add(
        'kerberos',
        'pass',
        'over http:// every message will be encrypted with the authentication context (MS-WSMV message encryption)',
      );
  }

  // Credentials: an authenticated Identify with the chosen mechanism
  const cred = options.credential;
  const authOption: AuthOption | undefined =
    auth === 'basic'
      ? cred
      : auth === 'ntlm'
        ? cred && { method: 'ntlm', ...cred }
        : auth === 'kerberos'
          ? { method: 'kerberos', ...(alias ? { hostname: alias } : {}) }
          : { method: 'negotiate', ...(alias ? { hostname: alias } : {}), ...(cred ?? {}) };
  const who = cred?.username ?? 'the Kerberos ticket';
  const scheme =
    auth === 'basic' ? 'Basic' : auth === 'ntlm' ? 'NTLM' : auth === 'kerberos' ? 'Kerberos' : 'Negotiate';
  if (!authOption) return skipRest('auth', 'skipped: no credentials given');
  if (!tlsTrusted)
    return skipRest('auth', 'skipped: credentials are not sent to a server whose certificate is not trusted');
  const http = {
    ...(ca.length > 0 ? { ca } : {}),
    ...(options.skipCertificateCheck === true ? { skipCertificateCheck: true } : {}),
    ...(options.allowRedirection === true ? { allowRedirection: true } : {}),
    ...(options.allowUnencrypted === true ? { allowUnencrypted: true } : {}),
    requestTimeoutMs: timeoutMs,
  };
  let identity: IdentifyResult | undefined;
  try {
    identity = await identify({ uri: url, auth: authOption, ...http });
    add(
      'auth',
      'pass',
      `${who} accepted (${scheme}); WS-Man ${identity.productVendor}${identity.productVersion ? ` ${identity.productVersion}` : ''}`,
    );
  } catch (e) {
    if (
      e instanceof WSManFaultError ||
      (e instanceof PsrpError && e.code === 'PSRP_WSMAN_INVALID_ENVELOPE')
    ) {
      add(
        'auth',
        'pass',
        `${who} accepted (${scheme}); the endpoint does not answer WS-Man Identify (${clip(errMessage(e), 100)})`,
      );
    } else {
      const code = e instanceof PsrpError ? e.code : undefined;
      let detail = errMessage(e);
      let fix = hintOf(e);
      if (code === 'PSRP_INSECURE_BASIC') {
        detail =
          'Basic over plain http:// would send the password in clear text; psrp refuses, as PowerShell does';
        fix =
          'Use https:// (the field guide: "Configuration doesn\'t allow you to connect to the PowerShell Endpoint without encryption"); --allow-unencrypted only in a lab.';
      } else if (e instanceof AuthenticationError && code === 'PSRP_AUTH_FAILED') {
        detail = `${who} was refused (HTTP 401, ${scheme})`;
        fix =
          auth === 'basic'
            ? 'Check the user name (DOMAIN\\user or user@domain) and the password, and that Basic is enabled on the virtual directory.'
            : 'Check the user name and password (NTLM) or the ticket (klist), and that the account may use remote PowerShell (Get-User <name> | fl RemotePowerShellEnabled).';
      } else if (e instanceof TransportError && e.statusCode === 400) {
        detail = `${who} was refused: Exchange answered 400 (it rewrites 401 to 400)`;
        fix =
          'Check the user name (DOMAIN\\user or UPN) and the password; check that Basic is enabled on the PowerShell virtual directory (Set-PowerShellVirtualDirectory -BasicAuthentication $true).';
      }
      add('auth', 'fail', detail, fix, code);
      return skipRest('shell', 'skipped: the credentials were not accepted');
    }
  }

  // Shell, then roles
  try {
    await using ex = await connectExchange({
      uri: url,
      auth: authOption,
      ...http,
      requestTimeoutMs: Math.max(timeoutMs, 60_000),
      openTimeoutMs: Math.max(timeoutMs, 60_000),
    });
    add(
      'shell',
      'pass',
      `runspace pool opened (PSRP ${ex.pool.serverProtocolVersion ?? '?'}) and closed again`,
    );
    try {
      const commands = grantedCommands(await getCommandInfo(ex));
      const names = new Set(commands.map((c) => c.name));
      const writes = EXCHANGE_WRITE_CMDLETS.filter((n) => names.has(n));
      if (commands.length === 0) {
        add(
          'roles',
          'fail',
          'your roles grant no Exchange cmdlets',
          'Ask an Exchange administrator for a management role (e.g. View-Only Organization Management or Recipient Management).',
        );
      } else if (writes.length === 0) {
        add(
          'roles',
          'warn',
          `a limited role: ${commands.length} cmdlets, none that change mailboxes${names.has('Get-Mailbox') ? '' : ', and not Get-Mailbox'} (${[...names].slice(0, 8).join(', ')}${names.size > 8 ? ', ...' : ''})`,
          'Exchange builds your session from your RBAC roles: cmdlets (and parameters) outside them do not exist for you, and Get-Mailbox may list only your scope. Ask for the role you need (e.g. Recipient Management, Organization Management).',
        );
      } else {
        add('roles', 'pass', `${commands.length} cmdlets granted, including ${writes.join(', ')}`);
      }
    } catch (e) {
      add('roles', 'warn', `could not list the granted cmdlets: ${clip(errMessage(e), 160)}`);
    }
  } catch (e) {
    const code = e instanceof PsrpError ? e.code : undefined;
    add(
      'shell',
      'fail',
      `no shell: ${clip(errMessage(e), 500)}`,
      hintOf(e) ?? shellFix(errMessage(e)),
      code,
    );
    return skipRest('roles', 'skipped: no shell');
  }
  return done();
}

/** `text` cut to at most about `max` characters at the end of a sentence (or a clause), never mid-sentence without `…`. */
export function clip(text: string, max: number): string {
  if (text.length <= max) return text;
  const head = text.slice(0, max);
  const end = Math.max(head.lastIndexOf('. '), head.lastIndexOf('; '), head.lastIndexOf(').'));
  if (end >= max / 2) return head.slice(0, end + (head[end] === ')' ? 2 : 1));
  return `${head.slice(0, max - 1).trimEnd()}…`;
}

function hintOf(e: unknown): string | undefined {
  return e instanceof TransportError || e instanceof AuthenticationError ? e.hint : undefined;
}

function shellFix(message: string): string | undefined {
  if (
    /maximum number of (concurrent )?(connections|shells)|MaxConcurrency|PowerShellMaxConcurrency/i.test(
      message,
    )
  ) {
    return 'Too many open shells for this user (Exchange allows 18 by default): close the others (scripts that never closed theirs), wait for their idle timeout, or raise PowerShellMaxConcurrency in the throttling policy.';
  }
  return undefined;
}
