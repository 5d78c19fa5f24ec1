// RFC 9110 15 Status Codes; MS-WSMV 3.1.4 (faults travel as HTTP 500 with a SOAP body).
/**
 * Maps what can go wrong under WS-Man — HTTP statuses, TLS verification, sockets, timeouts — to
 * typed errors with stable codes and a plain-words hint for the symptoms Exchange administrators
 * meet (shared/research/exchange-protocol.md A8/A9). Nothing here sees request headers: messages
 * name the origin and path, and response excerpts are scrubbed of anything that looks like a
 * credential.
 */
import { AuthenticationError, TimeoutError, TransportError, type TimeoutStage } from '../errors.js';

/** Most characters of a response body kept in `responseExcerpt`. */
export const EXCERPT_CHARS = 300;

/** True when `body` is (or starts like) a SOAP envelope: the WS-Man layer can parse it. */
export function isSoapEnvelope(body: string): boolean {
  return /^\s*(<\?xml[^>]*\?>\s*)?(<!--[\s\S]*?-->\s*)*<([A-Za-z_][\w.-]*:)?Envelope[\s>/]/.test(
    body.slice(0, 4096),
  );
}

/** `origin + path` of a URL, the only part of it put in messages. */
export function where(url: URL): string {
  return `${url.origin}${url.pathname}`;
}

/**
 * A short, single-line excerpt of a response body with credentials scrubbed: header-like lines
 * (`Authorization: ...`, `Cookie: ...`), `Basic`/`Negotiate`/`Bearer` tokens, and each exact
 * secret the transport knows (its Authorization and Cookie values) become `[redacted]`.
 */
export function excerpt(body: string, secrets: readonly string[] | Redactor = []): string {
  let text = body.slice(0, 16_384);
  if (Array.isArray(secrets)) {
    for (const secret of secrets as readonly string[])
      if (secret.length >= 4) text = text.split(secret).join('[redacted]');
  } else text = (secrets as Redactor).redact(text);
  text = text
    .replace(/\b((?:proxy-)?authorization|cookie|set-cookie)\s*[:=]\s*[^\r\n<]*/gi, '$1: [redacted]')
    .replace(/\b(Basic|Bearer|Negotiate|NTLM|Kerberos)\s+[A-Za-z0-9+/=._~-]{8,}/g, '$1 [redacted]')
    .replace(/\s+/g, ' ')
    .trim();
  return text.length > EXCERPT_CHARS ? `${text.slice(0, EXCERPT_CHARS)}…` : text;
}

/** Anything that redacts known secrets from text (the transport's SecretRedactor). */
export interface Redactor {
  redact(text: string): string;
}

/** The text of a SOAP fault reason, if `body` carries one (for messages of non-500 faults). */
function faultReason(body: string): string | undefined {
  const m =
    /<(?:[\w.-]+:)?Text[^>]*>([^<]{1,300})</.exec(body) ??
    /<(?:[\w.-]+:)?Message[^>]*>([^<]{1,300})</.exec(body);
  return m?.[1]?.trim();
}

interface StatusInfo {
  readonly code: string;
  readonly hint: string;
}

/** The code and hint for an HTTP status that is neither 2xx, a redirect, 401 nor a SOAP 500. */
export function statusInfo(status: number, soap: boolean): StatusInfo {
  switch (status) {
    case 400:
      return soap
        ? {
            code: 'PSRP_HTTP_BAD_REQUEST',
            hint: 'The WS-Management service rejected the request (see the fault text).',
          }
        : {
            code: 'PSRP_HTTP_BAD_REQUEST',
            hint: 'Exchange front ends turn 401 and 404 into 400 with a plain-text body: check the user name and password, that the authentication method (Basic) is enabled on the /PowerShell virtual directory, and the path (https://<server>/PowerShell/).',
          };
    case 403:
      return {
        code: 'PSRP_HTTP_FORBIDDEN',
        hint: '"Require SSL" is set on the virtual directory while connecting over http://, or the virtual directory requires a client certificate: use https://, or set SSL settings to not require one.',
      };
    case 404:
      return {
        code: 'PSRP_HTTP_NOT_FOUND',
        hint: 'No WS-Management endpoint at this path: Exchange uses https://<server>/PowerShell/, a Windows WinRM listener uses /wsman.',
      };
    case 405:
    case 415:
      return {
        code: 'PSRP_HTTP_STATUS',
        hint: 'This URL is not a WS-Management endpoint (it refused a SOAP POST): check the path.',
      };
    case 413:
      return {
        code: 'PSRP_HTTP_STATUS',
        hint: 'The request is larger than the server accepts: lower the maximum envelope size.',
      };
    case 502:
      return {
        code: 'PSRP_HTTP_BAD_GATEWAY',
        hint: 'The reverse proxy (IIS ARR, load balancer) cannot reach the Exchange server, or does not trust its certificate.',
      };
    case 503:
      return {
        code: 'PSRP_HTTP_UNAVAILABLE',
        hint: 'The server, its application pool (MSExchangePowerShellAppPool) or the WinRM service is not available, or it is throttling: retry later.',
      };
    case 504:
      return {
        code: 'PSRP_HTTP_GATEWAY_TIMEOUT',
        hint: 'The reverse proxy timed out: its timeout must exceed the WS-Man OperationTimeout of the Receive long polls; raise the proxy timeout or lower operationTimeoutSeconds.',
      };
    default:
      if (status >= 500) {
        return {
          code: 'PSRP_HTTP_SERVER_ERROR',
          hint: 'The server failed without a WS-Management fault (Exchange also rewrites 503 to 500): check the server event log and IIS logs.',
        };
      }
      return { code: 'PSRP_HTTP_STATUS', hint: '' };
  }
}

/** The typed error for an unexpected HTTP status with its (already read) body. */
export function statusError(
  status: number,
  body: string,
  url: URL,
  secrets: readonly string[] | Redactor,
): TransportError {
  // Built from redacted text only: a server that echoes the request must not put a credential
  // into the message, the excerpt or the stack.
  body = Array.isArray(secrets) ? body : (secrets as Redactor).redact(body);
  const soap = isSoapEnvelope(body);
  const { code, hint } = statusInfo(status, soap);
  const reason = soap
    ? faultReason(body)?.replace(
        /\b(Basic|Bearer|Negotiate|NTLM|Kerberos)\s+[A-Za-z0-9+/=._~-]{8,}/g,
        '$1 [redacted]',
      )
    : undefined;
  return new TransportError(
    `HTTP ${status} from ${where(url)}${reason ? `: ${reason}` : ''}${hint ? `. ${hint}` : ''}`,
    {
      code,
      statusCode: status,
      responseExcerpt: excerpt(body, secrets),
      hint,
    },
  );
}

/** The error for a 401 the authenticator could not answer. */
export function authError(
  mechanism: string | undefined,
  offered: readonly string[],
  url: URL,
): AuthenticationError {
  const offers = offered.length > 0 ? `; the server offers: ${offered.join(', ')}` : '';
  const hint =
    mechanism === 'certificate'
      ? 'The server did not accept the client certificate: it was missing, not trusted by the server (its issuing CA must be in the Trusted Root store), or mapped to no account (WSMan:\\localhost\\ClientCertificate), or Certificate authentication is off (winrm set winrm/config/service/auth @{Certificate="true"}). Exchange\'s /PowerShell endpoint does not do certificate authentication.'
      : mechanism === 'token'
        ? 'The server refused the token: it is wrong or expired, was issued for another resource or user, or the endpoint does not convert Basic to OAuth (the URL needs BasicAuthToOAuthConversion=true). Get a new token and connect again.'
        : mechanism
          ? `The server refused the ${mechanism} credentials: check the user name (DOMAIN\\user or user@domain) and password, and that ${mechanism === 'basic' ? 'Basic' : mechanism} authentication is enabled on the virtual directory (Exchange: Set-PowerShellVirtualDirectory -BasicAuthentication $true).`
          : 'The server requires authentication: pass credentials (`auth`).';
  return new AuthenticationError(`Authentication failed (HTTP 401) at ${where(url)}${offers}. ${hint}`, {
    mechanism: mechanism ?? 'none',
    statusCode: 401,
    hint,
  });
}

type ErrorLike = { code?: unknown; message?: unknown; cause?: unknown; errors?: unknown };

/** Every error code found on `err`, its `cause` chain and AggregateError members. */
function codesOf(err: unknown, depth = 0): string[] {
  if (typeof err !== 'object' || err === null || depth > 4) return [];
  const e = err as ErrorLike;
  const out = typeof e.code === 'string' ? [e.code] : [];
  out.push(...codesOf(e.cause, depth + 1));
  if (Array.isArray(e.errors)) for (const inner of e.errors) out.push(...codesOf(inner, depth + 1));
  return out;
}

function messageOf(err: unknown): string {
  return typeof err === 'object' && err !== null && typeof (err as ErrorLike).message === 'string'
    ? ((err as ErrorLike).message as string)
    : String(err);
}

const UNTRUSTED = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_UNTRUSTED',
  'CERT_SIGNATURE_FAILURE',
  'CERT_REJECTED',
  'INVALID_CA',
  'CERT_REVOKED',
]);

/** A TLS verification or handshake failure as a typed error, or undefined when `err` is not one. */
export function tlsError(err: unknown, url: URL): TransportError | undefined {
  const codes = codesOf(err);
  const at = `${url.hostname}:${url.port || (url.protocol === 'https:' ? 443 : 80)}`;
  const has = (...c: string[]): string | undefined => codes.find((x) => c.includes(x));
  let code: string | undefined;
  if ((code = has('CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID'))) {
    return new TransportError(
      `The TLS certificate of ${at} ${code === 'CERT_HAS_EXPIRED' ? 'has expired' : 'is not valid yet'} (${code})`,
      {
        code: 'PSRP_TLS_EXPIRED',
        cause: err,
        hint: 'Renew the server certificate (Exchange: Get-ExchangeCertificate / IIS binding), or check the clocks of both machines.',
      },
    );
  }
  if ((code = has('ERR_TLS_CERT_ALTNAME_INVALID'))) {
    return new TransportError(`The TLS certificate of ${at} is not issued to the name used (${code})`, {
      code: 'PSRP_TLS_NAME_MISMATCH',
      cause: err,
      hint: 'Connect with a name the certificate lists (usually the FQDN, e.g. https://mail.contoso.com/PowerShell/), or set `servername` to that name when connecting by address.',
    });
  }
  if ((code = codes.find((c) => UNTRUSTED.has(c)))) {
    return new TransportError(`The TLS certificate of ${at} is not trusted (${code})`, {
      code: 'PSRP_TLS_UNTRUSTED',
      cause: err,
      hint: 'Pass the issuing CA certificate (PEM) with `ca`, or install it as NODE_EXTRA_CA_CERTS; `skipCertificateCheck: true` turns verification off (labs only, like -SkipCACheck -SkipCNCheck).',
    });
  }
  if (
    (code = codes.find((c) =>
      /CERTIFICATE_REQUIRED|BAD_CERTIFICATE|UNKNOWN_CA|CERTIFICATE_UNKNOWN|HANDSHAKE_FAILURE/.test(c),
    ))
  ) {
    return new TransportError(`The TLS handshake with ${at} failed (${code})`, {
      code: 'PSRP_TLS_HANDSHAKE_FAILED',
      cause: err,
      hint: 'The server requires or rejected a client certificate, or no TLS version/cipher is common to both sides: pass `cert`/`key` (or `pfx`) trusted by the server.',
    });
  }
  if ((code = codes.find((c) => c.startsWith('ERR_SSL_') || c.startsWith('ERR_TLS_')))) {
    const plain = /WRONG_VERSION_NUMBER|PACKET_LENGTH_TOO_LONG|HTTP_REQUEST/.test(code);
    return new TransportError(`The TLS handshake with ${at} failed (${code})`, {
      code: 'PSRP_TLS_HANDSHAKE_FAILED',
      cause: err,
      hint: plain
        ? 'The port speaks plain HTTP, not TLS: use http:// (WinRM: 5985 is HTTP, 5986 is HTTPS).'
        : 'No TLS version or cipher is common to both sides, or the server closed the handshake.',
    });
  }
  return undefined;
}

const CONNECTION_HINTS: Readonly<Record<string, string>> = {
  ECONNREFUSED:
    'Nothing listens on that port: check the port (Exchange 443, WinRM 5985/5986), the firewall, and that the WinRM or IIS service runs.',
  ENOTFOUND: 'The host name is not in DNS: check the spelling and the DNS suffix (use the FQDN).',
  EAI_AGAIN: 'DNS did not answer: check the DNS server and the network.',
  ECONNRESET:
    'The server or a proxy closed the connection: a TLS-inspecting proxy, an idle timeout, or a server that does not speak this protocol.',
  UND_ERR_SOCKET: 'The server or a proxy closed the connection before answering.',
  EHOSTUNREACH: 'The host is unreachable: check routing, VPN and firewalls.',
  ENETUNREACH: 'The network is unreachable: check routing, VPN and firewalls.',
  ETIMEDOUT: 'The host did not answer: check the firewall and the port.',
  EPIPE: 'The server closed the connection while the request was sent.',
};

/** What {@link connectionError} names in a timeout: the request's stage and the limits in force. */
export interface TimeoutContext {
  readonly stage?: TimeoutStage;
  readonly readTimeoutMs?: number;
  readonly connectTimeoutMs?: number;
}

/** Any other failure to exchange a request: TLS, timeouts, sockets. Keeps the cause. */
export function connectionError(err: unknown, url: URL, context: TimeoutContext = {}): TransportError {
  if (err instanceof TransportError) return err;
  const tls = tlsError(err, url);
  if (tls) return tls;
  const codes = codesOf(err);
  const timeout = codes.find(
    (c) => c === 'UND_ERR_CONNECT_TIMEOUT' || c === 'UND_ERR_HEADERS_TIMEOUT' || c === 'UND_ERR_BODY_TIMEOUT',
  );
  if (timeout) {
    const connecting = timeout === 'UND_ERR_CONNECT_TIMEOUT';
    const limit = connecting ? context.connectTimeoutMs : context.readTimeoutMs;
    const option = connecting ? 'connectTimeoutMs' : 'readTimeoutMs';
    const what = connecting
      ? 'connecting to'
      : timeout === 'UND_ERR_HEADERS_TIMEOUT'
        ? 'waiting for the response headers from'
        : 'waiting for more of the response body from';
    return new TimeoutError(
      `Timed out ${what} ${where(url)}${limit !== undefined ? ` (${option} ${limit} ms)` : ''} (${timeout})`,
      {
        stage: connecting ? 'connect' : (context.stage ?? 'request'),
        url: where(url),
        ...(limit !== undefined ? { timeoutMs: limit } : {}),
        cause: err,
        hint: connecting
          ? 'The host did not accept a connection in time: check the firewall and the port.'
          : 'The server went silent: raise `readTimeoutMs`, or check the server and the proxy between.',
      },
    );
  }
  const known = codes.find((c) => c in CONNECTION_HINTS);
  const code = known ?? codes[0];
  return new TransportError(
    `Connection to ${url.origin} failed${code ? ` (${code})` : ''}: ${messageOf(err).slice(0, 200)}`,
    {
      code: 'PSRP_CONNECTION_FAILED',
      cause: err,
      hint: `${(known && CONNECTION_HINTS[known]) ?? 'Check the URL, the network and the server.'}${
        url.protocol === 'https:' && (known === 'UND_ERR_SOCKET' || known === 'ECONNRESET')
          ? ' Over https:// this is also how a server that requires a client certificate answers a client without one (`cert`/`key` or `pfx`).'
          : ''
      }`,
    },
  );
}
