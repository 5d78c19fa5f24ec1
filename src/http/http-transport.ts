/**
 * WS-Man over HTTP(S) with undici: one connection pool per origin with keep-alive, Basic
 * authentication, TLS verification on by default, a cookie jar per transport, redirects only when
 * allowed, and HTTP failures mapped to typed errors with plain-words hints for the symptoms Exchange
 * administrators meet (shared/seed/exchange-rps-over-arr.txt). Security defaults match PowerShell's.
 */
import { Pool, errors as undiciErrors } from 'undici';
import type { Dispatcher } from 'undici';
import { AuthenticationError, InvalidArgumentError, TransportError } from '../errors.js';
import { channels, log } from '../internal/debug.js';
import { CookieJar } from './cookie-jar.js';
import type { WsmanTransport } from './wsman-transport.js';

export interface BasicCredentials {
  readonly username: string;
  readonly password: string;
}

export interface HttpTransportOptions {
  /** Endpoint URL, e.g. `https://cas.contoso.com/PowerShell/` or `https://host:5986/wsman`. */
  readonly url: string | URL;
  /** Basic credentials (the only scheme built in so far). Sent pre-emptively. */
  readonly auth?: BasicCredentials | undefined;
  /** Allow Basic over plain http:// (the password travels in clear text). Default false. */
  readonly allowUnencrypted?: boolean | undefined;
  /** Follow 301/302/303/307/308 (PowerShell's -AllowRedirection). Default false. */
  readonly allowRedirection?: boolean | undefined;
  /** Turn off certificate verification (PowerShell's -SkipCACheck -SkipCNCheck). Default false. */
  readonly skipCertificateCheck?: boolean | undefined;
  /** Trusted CA certificates (PEM); like Node's `ca`, they replace the default trust store. */
  readonly ca?: string | Buffer | readonly (string | Buffer)[] | undefined;
  /** TLS server name to verify (SNI), when connecting by another name or address. */
  readonly servername?: string | undefined;
  /** Client certificate and key (PEM) or PFX. */
  readonly cert?: string | Buffer | undefined;
  readonly key?: string | Buffer | undefined;
  readonly pfx?: Buffer | undefined;
  readonly passphrase?: string | undefined;
  /** Milliseconds to wait for a whole response. Must exceed the WS-Man OperationTimeout. Default 120000. */
  readonly requestTimeoutMs?: number | undefined;
  /** Milliseconds to establish a connection. Default 30000. */
  readonly connectTimeoutMs?: number | undefined;
  /** Largest response body accepted. Default 64 MiB. */
  readonly maxResponseBytes?: number | undefined;
  /** Connections per origin (each running pipeline holds one for its long-poll Receive). Default 8. */
  readonly connections?: number | undefined;
  /** Extra request headers (e.g. `X-AnchorMailbox`). */
  readonly headers?: Readonly<Record<string, string>> | undefined;
}

const VERSION = '0.1.0';
const USER_AGENT = `psrp/${VERSION} (Node.js ${process.versions.node})`;
const MAX_REDIRECTS = 5;

function hintFor(status: number, body: string): { code: string; hint: string } {
  const soap = /<(\w+:)?Envelope[\s>]/.test(body);
  switch (status) {
    case 400:
      return {
        code: 'PSRP_HTTP_BAD_REQUEST',
        hint: soap
          ? 'The server rejected the request.'
          : 'Exchange front ends turn 401 and 404 into 400: check the user name and password, that the authentication method is enabled on the /PowerShell virtual directory, and the path (https://<server>/PowerShell/).',
      };
    case 403:
      return { code: 'PSRP_HTTP_FORBIDDEN', hint: '"Require SSL" is set on the PowerShell virtual directory, or it requires a client certificate: uncheck Require SSL and set client certificates to Ignore.' };
    case 404:
      return { code: 'PSRP_HTTP_NOT_FOUND', hint: 'No WS-Management endpoint at this path: Exchange uses https://<server>/PowerShell/, Windows uses /wsman.' };
    case 502:
      return { code: 'PSRP_HTTP_BAD_GATEWAY', hint: 'The reverse proxy (IIS ARR, load balancer) could not reach the server or does not trust its certificate.' };
    case 503:
      return { code: 'PSRP_HTTP_UNAVAILABLE', hint: 'The server or its application pool is unavailable.' };
    case 504:
      return { code: 'PSRP_HTTP_GATEWAY_TIMEOUT', hint: "The reverse proxy's timeout is shorter than the WS-Man OperationTimeout: raise the proxy timeout." };
    default:
      return status >= 500
        ? { code: 'PSRP_HTTP_SERVER_ERROR', hint: 'The server failed without a WS-Management fault.' }
        : { code: 'PSRP_HTTP_STATUS', hint: '' };
  }
}

function excerpt(body: string): string {
  return body.replace(/\s+/g, ' ').trim().slice(0, 300);
}

function tlsError(err: unknown, url: URL): TransportError | undefined {
  const code = (err as { code?: string }).code ?? '';
  const message = (err as Error).message ?? '';
  const at = `${url.hostname}:${url.port || 443}`;
  if (/CERT_HAS_EXPIRED|CERT_NOT_YET_VALID/.test(code)) {
    return new TransportError(`The certificate of ${at} has expired or is not yet valid`, { code: 'PSRP_TLS_EXPIRED', cause: err, hint: 'Renew the server certificate, or check the clock.' });
  }
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID' || /Hostname\/IP does not match/.test(message)) {
    return new TransportError(`The certificate of ${at} does not name ${url.hostname}`, { code: 'PSRP_TLS_NAME_MISMATCH', cause: err, hint: 'Connect with a name the certificate lists (its FQDN), or set `servername`.' });
  }
  if (/SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER|CERT_UNTRUSTED|CERT_SIGNATURE_FAILURE/.test(code)) {
    return new TransportError(`The certificate of ${at} is not trusted (${code})`, { code: 'PSRP_TLS_UNTRUSTED', cause: err, hint: 'Pass the issuing CA with `ca`; `skipCertificateCheck: true` turns verification off (lab only).' });
  }
  return undefined;
}

/** WS-Man over HTTP(S). */
export class HttpTransport implements WsmanTransport {
  private current: URL;
  private readonly pools = new Map<string, Pool>();
  private readonly jar = new CookieJar();
  private readonly options: HttpTransportOptions;
  private readonly authHeader: string | undefined;
  private closed = false;

  constructor(options: HttpTransportOptions) {
    this.options = options;
    let url: URL;
    try {
      url = new URL(options.url);
    } catch (cause) {
      throw new InvalidArgumentError(`Invalid URL: ${String(options.url).slice(0, 100)}`, { cause });
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new InvalidArgumentError(`Unsupported URL scheme ${url.protocol}`);
    if (url.username || url.password) throw new InvalidArgumentError('Put credentials in `auth`, not in the URL');
    if (options.auth && url.protocol === 'http:' && !options.allowUnencrypted) {
      throw new InvalidArgumentError(
        `Basic authentication over ${url.protocol}// would send the password in clear text: use https://, or set allowUnencrypted: true for a lab`,
        { code: 'PSRP_INSECURE_BASIC' },
      );
    }
    this.current = url;
    this.authHeader = options.auth
      ? `Basic ${Buffer.from(`${options.auth.username}:${options.auth.password}`, 'utf8').toString('base64')}`
      : undefined;
  }

  get url(): string {
    return this.current.href;
  }

  /** Names of the cookies this session holds (for diagnostics; values are never exposed). */
  cookieNames(): string[] {
    return this.jar.names();
  }

  private pool(url: URL): Pool {
    let p = this.pools.get(url.origin);
    if (!p) {
      const o = this.options;
      p = new Pool(url.origin, {
        connections: o.connections ?? 8,
        keepAliveTimeout: 30_000,
        headersTimeout: o.requestTimeoutMs ?? 120_000,
        bodyTimeout: o.requestTimeoutMs ?? 120_000,
        connect: {
          timeout: o.connectTimeoutMs ?? 30_000,
          rejectUnauthorized: !o.skipCertificateCheck,
          ...(o.ca !== undefined ? { ca: o.ca as string | Buffer | (string | Buffer)[] } : {}),
          ...(o.servername !== undefined ? { servername: o.servername } : {}),
          ...(o.cert !== undefined ? { cert: o.cert } : {}),
          ...(o.key !== undefined ? { key: o.key } : {}),
          ...(o.pfx !== undefined ? { pfx: o.pfx } : {}),
          ...(o.passphrase !== undefined ? { passphrase: o.passphrase } : {}),
        },
      });
      this.pools.set(url.origin, p);
    }
    return p;
  }

  async send(envelope: string, options: { readonly signal?: AbortSignal | undefined } = {}): Promise<string> {
    if (this.closed) throw new TransportError('The transport is closed', { code: 'PSRP_TRANSPORT_CLOSED' });
    const signal = options.signal;
    signal?.throwIfAborted();
    let url = this.current;
    const body = Buffer.from(envelope, 'utf8');
    for (let hop = 0; ; hop++) {
      const started = Date.now();
      const headers: Record<string, string> = {
        'content-type': 'application/soap+xml;charset=UTF-8',
        'accept-encoding': 'identity',
        'user-agent': USER_AGENT,
        ...this.options.headers,
      };
      if (this.authHeader) headers['authorization'] = this.authHeader;
      const cookie = this.jar.header(url);
      if (cookie) headers['cookie'] = cookie;
      let res: Dispatcher.ResponseData;
      try {
        res = await this.pool(url).request({
          path: url.pathname + url.search,
          method: 'POST',
          headers,
          body,
          ...(signal ? { signal } : {}),
        });
      } catch (err) {
        if (signal?.aborted) throw signal.reason;
        throw this.connectionError(err, url);
      }
      const setCookie = res.headers['set-cookie'];
      if (setCookie) this.jar.store(url, Array.isArray(setCookie) ? setCookie : [setCookie]);
      const text = await this.readBody(res, url, signal);
      if (channels.httpExchange.hasSubscribers) {
        channels.httpExchange.publish({ method: 'POST', origin: url.origin, path: url.pathname, status: res.statusCode, bytes: text.length, durationMs: Date.now() - started });
      }
      log('POST %s%s -> %d (%d bytes)', url.origin, url.pathname, res.statusCode, text.length);
      const status = res.statusCode;
      if (status === 200 || (status === 500 && /<(\w+:)?Envelope[\s>]/.test(text))) return text;
      if ([301, 302, 303, 307, 308].includes(status)) {
        const location = res.headers['location'];
        const loc = Array.isArray(location) ? location[0] : location;
        if (!loc) throw new TransportError(`HTTP ${status} without a Location`, { code: 'PSRP_HTTP_STATUS', statusCode: status });
        const next = new URL(loc, url);
        if (!this.options.allowRedirection) {
          throw new TransportError(`The server redirected to ${next.origin}${next.pathname}; set allowRedirection: true to follow it`, {
            code: 'PSRP_REDIRECT_NOT_ALLOWED',
            statusCode: status,
            hint: 'PowerShell needs -AllowRedirection for the same reason: credentials are re-sent to the new location.',
          });
        }
        if (url.protocol === 'https:' && next.protocol !== 'https:') {
          throw new TransportError(`Refusing to follow a redirect from https to ${next.protocol}//`, { code: 'PSRP_REDIRECT_INSECURE', statusCode: status });
        }
        if (hop + 1 >= MAX_REDIRECTS) throw new TransportError(`More than ${MAX_REDIRECTS} redirects`, { code: 'PSRP_REDIRECT_LOOP', statusCode: status });
        url = next;
        this.current = next;
        continue;
      }
      if (status === 401) {
        const www = res.headers['www-authenticate'];
        // Scheme names are the first word of each comma-separated part that is not an auth-param.
        const offered = (Array.isArray(www) ? www : www ? [www] : [])
          .flatMap((w) => w.split(','))
          .map((part) => part.trim().split(/\s+/)[0] ?? '')
          .filter((word) => word !== '' && !word.includes('='))
          .join(', ');
        throw new AuthenticationError(
          `Authentication failed (HTTP 401)${offered ? `; the server offers: ${offered}` : ''}`,
          {
            mechanism: this.authHeader ? 'basic' : 'none',
            statusCode: 401,
            hint: 'Check the user name (DOMAIN\\user or UPN) and password, and that Basic authentication is enabled on the virtual directory.',
          },
        );
      }
      const { code, hint } = hintFor(status, text);
      throw new TransportError(`HTTP ${status} from ${url.origin}${url.pathname}${hint ? `: ${hint}` : ''}`, {
        code,
        statusCode: status,
        responseExcerpt: excerpt(text),
        hint,
      });
    }
  }

  private async readBody(res: Dispatcher.ResponseData, url: URL, signal: AbortSignal | undefined): Promise<string> {
    const max = this.options.maxResponseBytes ?? 64 * 1024 * 1024;
    const len = Number(res.headers['content-length'] ?? NaN);
    if (len > max) {
      res.body.destroy();
      throw new TransportError(`Response of ${len} bytes exceeds the ${max}-byte limit`, { code: 'PSRP_HTTP_RESPONSE_TOO_LARGE', statusCode: res.statusCode });
    }
    const chunks: Buffer[] = [];
    let size = 0;
    try {
      for await (const chunk of res.body) {
        size += (chunk as Buffer).length;
        if (size > max) {
          res.body.destroy();
          throw new TransportError(`Response exceeds the ${max}-byte limit`, { code: 'PSRP_HTTP_RESPONSE_TOO_LARGE', statusCode: res.statusCode });
        }
        chunks.push(chunk as Buffer);
      }
    } catch (err) {
      if (err instanceof TransportError) throw err;
      if (signal?.aborted) throw signal.reason;
      throw this.connectionError(err, url);
    }
    return Buffer.concat(chunks).toString('utf8');
  }

  private connectionError(err: unknown, url: URL): Error {
    const tls = tlsError(err, url);
    if (tls) return tls;
    if (err instanceof undiciErrors.HeadersTimeoutError || err instanceof undiciErrors.BodyTimeoutError || err instanceof undiciErrors.ConnectTimeoutError) {
      return new TransportError(`Timed out talking to ${url.origin}`, { code: 'PSRP_TIMEOUT', cause: err });
    }
    const code = (err as { code?: string }).code;
    return new TransportError(`Connection to ${url.origin} failed${code ? ` (${code})` : ''}: ${(err as Error).message}`, {
      code: 'PSRP_CONNECTION_FAILED',
      cause: err,
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.pools.values()].map((p) => p.close().catch(() => undefined)));
    this.pools.clear();
  }
}
