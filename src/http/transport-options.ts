// MS-WSMV 2.2.9 HTTP/HTTPS transport: the options of HttpTransport and their validation.
import type { ProxyOption } from './proxy.js';
import type { AuthOption } from './auth-options.js';
import { InvalidArgumentError } from '../errors.js';

/** TLS material: PEM strings or buffers. */
export type Pem = string | Buffer;

/** Options of {@link HttpTransport}. Every default is the safe one. */
export interface HttpTransportOptions {
  /** Endpoint URL, e.g. `https://cas.contoso.com/PowerShell/` or `https://host:5986/wsman`. */
  readonly url: string | URL;
  /**
   * Credentials: `{ username, password }` for Basic (sent pre-emptively), `{ method: 'ntlm' |
   * 'negotiate' | 'kerberos', ... }` (docs/auth.md), or any Authenticator. Default: none.
   */
  readonly auth?: AuthOption | undefined;
  /** Allow credentials that need TLS (Basic) over plain `http://`. Default false. */
  readonly allowUnencrypted?: boolean | undefined;
  /** Follow 301/302/303/307/308 and re-send credentials there (PowerShell's -AllowRedirection). Default false. */
  readonly allowRedirection?: boolean | undefined;
  /** Most redirects followed per request when allowed. Default 5. */
  readonly maxRedirects?: number | undefined;
  /** Turn certificate verification off (PowerShell's -SkipCACheck -SkipCNCheck). Default false. */
  readonly skipCertificateCheck?: boolean | undefined;
  /** Extra trusted CA certificates (PEM), added to Node's bundled roots. */
  readonly ca?: Pem | readonly Pem[] | undefined;
  /** Name to verify the server certificate against (and send as SNI) when connecting by another name or address. */
  readonly servername?: string | undefined;
  /**
   * Client certificate (PEM), with `key`; or use `pfx`. These only present a certificate in the TLS
   * handshake; for WinRM certificate authentication use `auth: new CertificateAuthenticator(...)`,
   * which carries the certificate itself and sends the header WinRM needs.
   */
  readonly cert?: Pem | undefined;
  readonly key?: Pem | undefined;
  /** Client certificate and key as PKCS#12. */
  readonly pfx?: Buffer | undefined;
  /** Passphrase of `key` or `pfx`. */
  readonly passphrase?: string | undefined;
  /**
   * Milliseconds one `send` may take, redirects included. Must exceed the WS-Man OperationTimeout of
   * Receive long polls plus a margin (PowerShell uses 180 s). Default
   * `CONNECTION_DEFAULTS.requestTimeoutMs` (240000).
   */
  readonly requestTimeoutMs?: number | undefined;
  /**
   * Milliseconds to open a TCP connection, and again to complete the TLS handshake on it. Default
   * `CONNECTION_DEFAULTS.connectTimeoutMs` (30000).
   */
  readonly connectTimeoutMs?: number | undefined;
  /**
   * Milliseconds the server may stay silent: before the response headers (beyond the OperationTimeout
   * a Receive waits on the server) and between two chunks of the body. Default
   * `CONNECTION_DEFAULTS.readTimeoutMs` (30000).
   */
  readonly readTimeoutMs?: number | undefined;
  /** Largest response body accepted, in bytes. Default 64 MiB. */
  readonly maxResponseBytes?: number | undefined;
  /** Most connections per origin (each running pipeline holds one for its long-poll Receive). Default 8. */
  readonly connections?: number | undefined;
  /** Milliseconds an idle connection is kept open. Default 30000. */
  readonly keepAliveTimeoutMs?: number | undefined;
  /** Extra request headers (e.g. `X-AnchorMailbox`, `User-Agent`); protocol headers cannot be overridden. */
  readonly headers?: Readonly<Record<string, string>> | undefined;
  /**
   * An HTTP(S) proxy: its URL (`http://user:password@proxy:3128`: Basic authentication to the
   * proxy), `'env'` for HTTPS_PROXY/HTTP_PROXY/NO_PROXY, or `false` for none. Default: the variables
   * when NODE_USE_ENV_PROXY=1 (as Node's fetch), else none. Every connection is a CONNECT tunnel.
   */
  readonly proxy?: ProxyOption | undefined;
}

/** What `channels.httpExchange` receives for each HTTP request (no header values that carry secrets). */
export interface HttpExchangeEvent {
  readonly method: 'POST';
  readonly origin: string;
  readonly path: string;
  /** HTTP status, or undefined when no response arrived. */
  readonly status: number | undefined;
  /** Request body bytes. */
  readonly requestBytes: number;
  /** Response body bytes read (0 when none). */
  readonly bytes: number;
  readonly durationMs: number;
  /** Request headers with Authorization and Cookie values replaced by `[redacted]`. */
  readonly requestHeaders: Readonly<Record<string, string>>;
  /** The error code when the exchange failed before a response. */
  readonly error?: string;
}

/**
 * The one source of truth for the defaults of every numeric connection option: HttpTransport's
 * and RunspacePool's (docs/api.md and docs/http.md name this constant; a test checks their numbers
 * against it).
 */
export const CONNECTION_DEFAULTS = Object.freeze({
  maxRedirects: 5,
  /** The whole of one HTTP request. */
  requestTimeoutMs: 240_000,
  /** TCP connect, and again the TLS handshake. */
  connectTimeoutMs: 30_000,
  /** Silence allowed before the headers (beyond a Receive's OperationTimeout) and within the body. */
  readTimeoutMs: 30_000,
  maxResponseBytes: 64 * 1024 * 1024,
  connections: 8,
  keepAliveTimeoutMs: 30_000,
  /** RunspacePool.open end to end, the Delete after a failed open included. */
  openTimeoutMs: 60_000,
  /** Each cleanup request (Signal after an abort, Delete after a failed open). */
  cleanupTimeoutMs: 5_000,
  /** WS-Man OperationTimeout of a Receive long poll, in seconds. */
  operationTimeoutSeconds: 20,
} as const);

/** @internal The short name used inside the transport. */
export const DEFAULTS = CONNECTION_DEFAULTS;

/** Headers the transport owns; `headers` cannot set them. */
const RESERVED = new Set([
  'authorization',
  'proxy-authorization',
  'cookie',
  'content-length',
  'content-type',
  'host',
  'transfer-encoding',
  'connection',
  'keep-alive',
  'upgrade',
  'expect',
  'te',
  'trailer',
  'accept-encoding',
]);

/** An integer option within [0, max], or the fallback when absent. */
export function positive(
  name: string,
  value: number | undefined,
  fallback: number,
  max = Number.MAX_SAFE_INTEGER,
): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 0 || value > max)
    throw new InvalidArgumentError(`${name} must be an integer from 0 to ${max}`);
  return value;
}

/** Parses and checks the endpoint URL (http/https, no credentials, no fragment). */
export function parseUrl(input: string | URL): URL {
  let url: URL;
  try {
    url = new URL(input);
  } catch (cause) {
    throw new InvalidArgumentError(
      `Invalid URL: ${JSON.stringify(
        String(input)
          .replace(/\/\/[^@/]*@/, '//')
          .slice(0, 100),
      )}`,
      { cause },
    );
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    throw new InvalidArgumentError(`Unsupported URL scheme ${url.protocol} (use https:// or http://)`);
  if (url.username || url.password)
    throw new InvalidArgumentError('Put credentials in `auth`, not in the URL');
  url.hash = '';
  return url;
}

/** Validates extra headers: token names, no CR/LF, none of the protocol headers. */
export function extraHeaders(headers: Readonly<Record<string, string>> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    const lower = name.toLowerCase();
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name))
      throw new InvalidArgumentError(`Invalid header name ${JSON.stringify(name.slice(0, 60))}`);
    if (RESERVED.has(lower))
      throw new InvalidArgumentError(`The ${name} header is set by the transport and cannot be overridden`);
    if (typeof value !== 'string' || /[\r\n\0]/.test(value))
      throw new InvalidArgumentError(`Invalid value for header ${name}`);
    out[lower] = value;
  }
  return out;
}

/** The numeric and boolean options of a transport, checked, with their defaults. */
export interface TransportLimits {
  readonly allowRedirection: boolean;
  readonly allowUnencrypted: boolean;
  readonly maxRedirects: number;
  readonly requestTimeoutMs: number;
  readonly connectTimeoutMs: number;
  readonly readTimeoutMs: number;
  readonly maxResponseBytes: number;
  readonly connections: number;
  readonly keepAliveTimeoutMs: number;
}

/** {@link TransportLimits} from the options (an InvalidArgumentError for one out of range). */
export function transportLimits(options: HttpTransportOptions): TransportLimits {
  return {
    allowRedirection: options.allowRedirection === true,
    allowUnencrypted: options.allowUnencrypted === true,
    maxRedirects: positive('maxRedirects', options.maxRedirects, DEFAULTS.maxRedirects, 20),
    requestTimeoutMs:
      positive('requestTimeoutMs', options.requestTimeoutMs, DEFAULTS.requestTimeoutMs, 2_147_483_647) ||
      DEFAULTS.requestTimeoutMs,
    connectTimeoutMs:
      positive('connectTimeoutMs', options.connectTimeoutMs, DEFAULTS.connectTimeoutMs, 2_147_483_647) ||
      DEFAULTS.connectTimeoutMs,
    readTimeoutMs:
      positive('readTimeoutMs', options.readTimeoutMs, DEFAULTS.readTimeoutMs, 2_147_483_647) ||
      DEFAULTS.readTimeoutMs,
    maxResponseBytes:
      positive('maxResponseBytes', options.maxResponseBytes, DEFAULTS.maxResponseBytes, 2 ** 31 - 1) ||
      DEFAULTS.maxResponseBytes,
    connections: positive('connections', options.connections, DEFAULTS.connections, 256) || 1,
    keepAliveTimeoutMs:
      positive('keepAliveTimeoutMs', options.keepAliveTimeoutMs, DEFAULTS.keepAliveTimeoutMs, 600_000) || 1,
  };
}
