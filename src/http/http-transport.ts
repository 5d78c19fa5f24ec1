// MS-WSMV 2.2.9 HTTP/HTTPS transport of WS-Management (SOAP 1.2 over HTTP POST).
/**
 * WS-Man over HTTP(S) with undici: one keep-alive connection pool per origin, pre-emptive Basic (or
 * any {@link Authenticator}), TLS verification on by default, a cookie jar per transport, redirects
 * only when allowed, bounded responses and timeouts, and failures mapped to typed errors with
 * plain-words hints. Security defaults match PowerShell's: no Basic over http://, no redirects, no
 * certificate bypass unless asked for by name.
 */
import { rootCertificates } from 'node:tls';
import type { Dispatcher } from 'undici';
import { tlsServerEndPoint } from '../auth/channel-bindings.js';
import {
  AuthenticationError,
  InvalidArgumentError,
  ProtocolError,
  TimeoutError,
  TransportError,
} from '../errors.js';
import { channels, log, redactHeaders } from '../internal/debug.js';
import { SecretRedactor } from '../internal/secret-redactor.js';
import { offeredSchemes } from './authenticator.js';
import type { Authenticator } from './authenticator.js';
import { resolveAuth } from './auth-options.js';
import type { BasicCredentials } from './basic-authenticator.js';
import { ConnectionPool, type Lease } from './connection-pool.js';
import { parseProxyOption, proxyFor, type ProxySetting } from './proxy.js';
import { CookieJar } from './cookie-jar.js';
import { authError, connectionError, excerpt, isSoapEnvelope, statusError, where } from './http-errors.js';
import { decodeBody, readBounded } from './response-body.js';
import { DEFAULTS, extraHeaders, parseUrl, positive } from './transport-options.js';
import type { HttpExchangeEvent, HttpTransportOptions } from './transport-options.js';
import { caList } from './ca-list.js';
import type { TimeoutStage } from '../errors.js';
import { USER_AGENT } from './user-agent.js';
import { decryptMessage, encryptedBoundary, encryptMessage } from './message-encryption.js';
import type { WSManSendOptions, WSManTransport } from './wsman-transport.js';

/** A response whose body has been read (or drained, for a redirect). */
interface RoundTrip {
  readonly status: number;
  readonly headers: Dispatcher.ResponseData['headers'];
  readonly bytes: Buffer;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const EMPTY = Buffer.alloc(0);

/** tls-server-end-point data by server certificate: computed once per TLS connection, not per request. */
const bindingsByCertificate = new WeakMap<Buffer, Buffer>();

/** RFC 5929 tls-server-end-point data of a leased TLS connection, once it is open. */
function channelBindingsOf(lease: Lease): Buffer | undefined {
  const der = lease.peerCertificate();
  if (der === undefined) return undefined;
  let bindings = bindingsByCertificate.get(der);
  if (bindings === undefined) bindingsByCertificate.set(der, (bindings = tlsServerEndPoint(der)));
  return bindings;
}
function headerList(value: string | string[] | undefined): string[] {
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}

/** WS-Man over HTTP(S); see the module comment. */
export class HttpTransport implements WSManTransport {
  #url: URL;
  readonly #pools = new Map<string, ConnectionPool>();
  readonly #jar = new CookieJar();
  readonly #auth: Authenticator | undefined;
  /** Per-connection authenticators of a connection-bound scheme (see #authFor). */
  readonly #connectionAuth = new WeakMap<Lease['client'], Authenticator>();
  #authClaimed = false;
  readonly #inflight = new Set<AbortController>();
  readonly #headers: Record<string, string>;
  readonly #tls: Readonly<Record<string, unknown>>;
  readonly #proxy: ProxySetting;
  readonly #o: {
    readonly allowRedirection: boolean;
    readonly allowUnencrypted: boolean;
    readonly maxRedirects: number;
    readonly requestTimeoutMs: number;
    readonly connectTimeoutMs: number;
    readonly readTimeoutMs: number;
    readonly maxResponseBytes: number;
    readonly connections: number;
    readonly keepAliveTimeoutMs: number;
  };
  #closed = false;
  /** Every credential sent so far, to keep out of errors and logs. */
  readonly #secrets = new SecretRedactor();
  /** The configured origin: `servername` applies to it only, never to a redirect target. */
  readonly #firstOrigin: string;

  constructor(options: HttpTransportOptions) {
    let url = parseUrl(options.url);
    this.#auth = resolveAuth(options.auth);
    // The scheme may need the URL changed (a query parameter) or refuse it (no TLS): once, here.
    if (this.#auth?.prepareUrl) url = parseUrl(this.#auth.prepareUrl(new URL(url.href)));
    this.#o = {
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
    this.#checkEncryption(url);
    this.#proxy = parseProxyOption(options.proxy);
    this.#headers = extraHeaders(options.headers);
    const extraCa = caList(options.ca);
    const clientCertificate = this.#auth?.clientCertificate?.();
    if (
      clientCertificate &&
      [options.cert, options.key, options.pfx, options.passphrase].some((v) => v !== undefined)
    )
      throw new InvalidArgumentError(
        'Give the client certificate once: in the authenticator or as cert/key/pfx, not both',
      );
    this.#tls = {
      rejectUnauthorized: options.skipCertificateCheck !== true,
      ...(extraCa.length > 0 ? { ca: [...rootCertificates, ...extraCa] } : {}),
      ...(options.servername !== undefined ? { servername: options.servername } : {}),
      ...(options.cert !== undefined ? { cert: options.cert } : {}),
      ...(options.key !== undefined ? { key: options.key } : {}),
      ...(options.pfx !== undefined ? { pfx: options.pfx } : {}),
      ...(options.passphrase !== undefined ? { passphrase: options.passphrase } : {}),
      ...clientCertificate,
    };
    if (options.skipCertificateCheck === true)
      log('TLS certificate verification is OFF for %s (skipCertificateCheck)', url.origin);
    this.#url = url;
    this.#firstOrigin = url.origin;
  }

  /**
   * `text` with every credential this transport has sent (each form of it: the Authorization
   * value, its token, a decoded Basic `user:password`, the password) replaced by `[redacted]`.
   */
  redact(text: string): string {
    return this.#secrets.redact(text);
  }

  /** Redacts, in place, every string field of `err` and its causes (see {@link redact}). */
  scrub<E>(err: E): E {
    return this.#secrets.scrub(err);
  }

  /** The URL requests go to: the configured one, or where a permitted redirect led. */
  get url(): string {
    return this.#url.href;
  }

  /** The authentication mechanism in use (`basic`, ...), or undefined without credentials. */
  get mechanism(): string | undefined {
    return this.#auth?.mechanism;
  }

  /** Names of the cookies this session holds, for diagnostics (values are never exposed). */
  cookieNames(): string[] {
    return this.#jar.names();
  }

  /**
   * POSTs `envelope` and resolves with the response body of a 2xx, or of a 500 that carries a SOAP
   * envelope (the WS-Man layer parses the fault). Rejects with `TransportError`,
   * `AuthenticationError`, or `signal.reason` when aborted.
   */
  async send(envelope: string, options: WSManSendOptions = {}): Promise<string> {
    if (this.#closed) throw new TransportError('The transport is closed', { code: 'PSRP_TRANSPORT_CLOSED' });
    const outer = options.signal;
    outer?.throwIfAborted();
    const controller = new AbortController();
    const onAbort = (): void => controller.abort(outer?.reason);
    outer?.addEventListener('abort', onAbort, { once: true });
    const stage = options.stage ?? 'request';
    const own = options.timeoutMs !== undefined && options.timeoutMs < this.#o.requestTimeoutMs;
    const limit = own ? Math.max(1, Math.floor(options.timeoutMs ?? 0)) : this.#o.requestTimeoutMs;
    const timer = setTimeout(() => {
      controller.abort(
        new TimeoutError(
          `No complete response from ${where(this.#url)} within ${limit} ms (${stage}${own ? '' : ', requestTimeoutMs'})`,
          {
            stage,
            url: where(this.#url),
            timeoutMs: limit,
            hint: own
              ? 'A cleanup request (Signal, Delete) gets a short time of its own (`cleanupTimeoutMs`): the server or the path to it is stalled.'
              : 'Raise `requestTimeoutMs` above the WS-Man OperationTimeout (plus a margin), or check the proxy between.',
          },
        ),
      );
    }, limit);
    this.#inflight.add(controller);
    try {
      return await this.#exchange(
        Buffer.from(envelope, 'utf8'),
        controller.signal,
        stage,
        options.waitMs ?? 0,
      );
    } catch (err) {
      if (controller.signal.aborted) throw this.#secrets.scrub(controller.signal.reason);
      throw this.#secrets.scrub(err);
    } finally {
      clearTimeout(timer);
      outer?.removeEventListener('abort', onAbort);
      this.#inflight.delete(controller);
    }
  }

  async #exchange(body: Buffer, signal: AbortSignal, stage: TimeoutStage, waitMs: number): Promise<string> {
    let url = this.#url;
    let redirects = 0;
    let attempt = 0;
    /** The header for the next attempt; undefined means "ask the connection's authenticator". */
    let pending: string | undefined;
    /** A connection kept for the next leg of a connection-bound handshake (NTLM). */
    let held: { readonly pool: ConnectionPool; readonly lease: Lease } | undefined;
    for (;;) {
      let pool: ConnectionPool;
      let lease: Lease;
      if (held) {
        ({ pool, lease } = held);
        held = undefined;
      } else {
        pool = this.#pool(url);
        try {
          lease = await pool.acquire(signal);
        } catch (err) {
          throw signal.aborted ? (signal.reason as unknown) : this.#failure(err, url, stage);
        }
      }
      let keep = false;
      let discarded = false;
      try {
        const auth = this.#authFor(lease);
        // Over http://, a scheme that seals (NTLM, Kerberos) authenticates the connection with an
        // empty body first, then sends every message sealed (MS-WSMV 2.2.9.1).
        const sealing = url.protocol === 'http:' && auth?.sealsMessages === true;
        const sealer = sealing ? auth?.sealer?.() : undefined;
        const handshake = sealing && sealer === undefined;
        const request = {
          method: 'POST',
          url,
          channelBindings: auth?.connectionBound ? channelBindingsOf(lease) : undefined,
        };
        const authorization = attempt === 0 ? await auth?.authorize(request) : pending;
        let payload = body;
        let contentType = 'application/soap+xml;charset=UTF-8';
        if (handshake) payload = EMPTY;
        else if (sealer) ({ body: payload, contentType } = await encryptMessage(sealer, body));
        const headers: Record<string, string> = {
          'content-type': contentType,
          'accept-encoding': 'identity',
          'user-agent': USER_AGENT,
          ...this.#headers,
          'content-length': String(payload.length),
        };
        if (authorization !== undefined) headers['authorization'] = authorization;
        const cookie = this.#jar.header(url);
        if (cookie !== undefined) headers['cookie'] = cookie;
        // Known before the request leaves, so that whatever the server echoes can be redacted.
        this.#secrets.add(authorization);
        this.#secrets.add(cookie);
        const secrets = this.#secrets;
        const started = performance.now();
        const report = (status: number | undefined, bytes: number, error?: string): void => {
          const durationMs = Math.round(performance.now() - started);
          if (channels.httpExchange.hasSubscribers) {
            const event: HttpExchangeEvent = {
              method: 'POST',
              origin: url.origin,
              path: url.pathname,
              status,
              requestBytes: payload.length,
              bytes,
              durationMs,
              requestHeaders: redactHeaders(headers),
              ...(error !== undefined ? { error } : {}),
            };
            channels.httpExchange.publish(event);
          }
          log('POST %s -> %s (%d bytes, %d ms)', where(url), status ?? error ?? '?', bytes, durationMs);
        };

        let res: RoundTrip;
        try {
          res = await this.#roundTrip(lease, url, headers, payload, signal, waitMs);
        } catch (err) {
          const failure: unknown = signal.aborted
            ? (signal.reason as unknown)
            : this.#failure(err, url, stage);
          report(undefined, 0, (failure as { code?: string }).code ?? 'ABORTED');
          throw failure;
        }
        const status = res.status;
        const setCookie = headerList(res.headers['set-cookie']);
        if (setCookie.length > 0) this.#jar.store(url, setCookie);
        report(status, res.bytes.length);

        if (REDIRECTS.has(status)) {
          url = this.#redirectTarget(url, status, headerList(res.headers['location'])[0], redirects);
          redirects++;
          // Credentials follow the redirect only because the caller allowed it (checked above).
          attempt = 0;
          continue;
        }

        const responseType = headerList(res.headers['content-type'])[0];
        const wwwAuthenticate = headerList(res.headers['www-authenticate']);

        if (status === 401) {
          const next = await auth?.respond({ ...request, wwwAuthenticate, attempt });
          if (next !== undefined && attempt < 5) {
            pending = next;
            attempt++;
            // The next leg of a connection-bound handshake must use this same connection.
            keep = auth?.connectionBound === true;
            continue;
          }
          throw authError(auth?.mechanism ?? this.#auth?.mechanism, offeredSchemes(wwwAuthenticate), url);
        }
        const ok = status >= 200 && status < 300;
        if (handshake) {
          if (!ok) throw statusError(status, decodeBody(res.bytes, responseType), url, secrets);
          // The context is complete: send the message itself, sealed, on this same connection.
          await auth?.complete?.({ ...request, status, wwwAuthenticate });
          if (auth?.sealer?.() === undefined) {
            throw new AuthenticationError(
              `The ${auth?.mechanism ?? ''} handshake with ${where(url)} ended without a context that can encrypt messages`,
              { code: 'PSRP_AUTH_FAILED', mechanism: auth?.mechanism },
            );
          }
          attempt = 0;
          pending = undefined;
          keep = true;
          continue;
        }
        const encrypted = encryptedBoundary(responseType) !== undefined;
        let text: string;
        if (sealer && encrypted) {
          try {
            text = await decryptMessage(sealer, res.bytes, responseType ?? '');
          } catch (err) {
            // The context's sequence numbers (and NTLM's RC4 state) are now out of step: this
            // connection cannot be used again; the next request gets a new one and a new handshake.
            discarded = true;
            pool.discard(lease);
            throw err;
          }
        } else text = decodeBody(res.bytes, responseType);
        if (ok || (status === 500 && isSoapEnvelope(text))) {
          if (sealer && !encrypted) {
            throw new ProtocolError(
              `${where(url)} answered an encrypted request in clear text (HTTP ${status}); over http:// WinRM seals every message, so something between rewrote it: use https:// or check the path to the server`,
              { code: 'PSRP_ENCRYPTION_INVALID' },
            );
          }
          await auth?.complete?.({ ...request, status, wwwAuthenticate });
          if (url !== this.#url) this.#remember(url);
          // A fault is never data: the WS-Man layer builds its error from a redacted copy.
          return ok ? text : this.#secrets.redact(text);
        }
        throw statusError(status, text, url, secrets);
      } finally {
        if (keep) held = { pool, lease };
        else if (!discarded) pool.release(lease);
      }
    }
  }

  /**
   * The authenticator of a connection: the transport's own, or for a connection-bound scheme
   * (NTLM authenticates a TCP connection, not a request) one per connection, the first connection
   * using the given instance and each further one a `forConnection()` copy.
   */
  #authFor(lease: Lease): Authenticator | undefined {
    const auth = this.#auth;
    if (!auth?.connectionBound) return auth;
    let own = this.#connectionAuth.get(lease.client);
    if (own === undefined) {
      own = this.#authClaimed ? (auth.forConnection?.() ?? auth) : auth;
      this.#authClaimed = true;
      this.#connectionAuth.set(lease.client, own);
    }
    return own;
  }

  /**
   * One request on a pooled connection, its body read (bounded) or, for a redirect, drained. The
   * connection goes back to the pool only once the body is consumed or destroyed.
   */
  async #roundTrip(
    lease: Lease,
    url: URL,
    headers: Record<string, string>,
    body: Buffer,
    signal: AbortSignal,
    waitMs: number,
  ): Promise<RoundTrip> {
    const res = await lease.client.request({
      path: url.pathname + url.search,
      method: 'POST',
      headers,
      body,
      signal,
      // The server may take `waitMs` (a Receive's OperationTimeout) before it answers; beyond
      // that, and between two chunks of the body, `readTimeoutMs` of silence is a timeout.
      headersTimeout: this.#o.readTimeoutMs + waitMs,
      bodyTimeout: this.#o.readTimeoutMs,
    });
    if (REDIRECTS.has(res.statusCode)) {
      await res.body.dump({ limit: 65_536 });
      return { status: res.statusCode, headers: res.headers, bytes: Buffer.alloc(0) };
    }
    const bytes = await readBounded(res, this.#o.maxResponseBytes, signal);
    return { status: res.statusCode, headers: res.headers, bytes };
  }

  /** Checks a redirect and returns where to go, or throws the reason not to. */
  #redirectTarget(from: URL, status: number, location: string | undefined, followed: number): URL {
    if (location === undefined || location === '') {
      throw new TransportError(`HTTP ${status} from ${where(from)} without a Location header`, {
        code: 'PSRP_REDIRECT_INVALID',
        statusCode: status,
      });
    }
    let next: URL;
    try {
      next = new URL(location, from);
    } catch (cause) {
      throw new TransportError(`HTTP ${status} from ${where(from)} with an invalid Location`, {
        code: 'PSRP_REDIRECT_INVALID',
        statusCode: status,
        cause,
        responseExcerpt: excerpt(location, this.#secrets),
      });
    }
    if ((next.protocol !== 'https:' && next.protocol !== 'http:') || next.username || next.password) {
      throw new TransportError(
        `HTTP ${status} from ${where(from)} redirects to an unusable location (${next.protocol})`,
        { code: 'PSRP_REDIRECT_INVALID', statusCode: status },
      );
    }
    next.hash = '';
    if (!this.#o.allowRedirection) {
      throw new TransportError(
        `The server redirected (HTTP ${status}) to ${where(next)}; set allowRedirection: true to follow it`,
        {
          code: 'PSRP_REDIRECT_NOT_ALLOWED',
          statusCode: status,
          hint: `Following a redirect re-sends the credentials to ${next.origin}; allow it only if you trust that server (PowerShell's -AllowRedirection). Or connect to ${where(next)} directly.`,
        },
      );
    }
    if (from.protocol === 'https:' && next.protocol !== 'https:') {
      throw new TransportError(`Refusing to follow a redirect from https:// to ${where(next)}`, {
        code: 'PSRP_REDIRECT_INSECURE',
        statusCode: status,
        hint: 'A redirect may not downgrade to plain http://: the credentials and the session would travel in clear text.',
      });
    }
    if (followed >= this.#o.maxRedirects) {
      throw new TransportError(`More than ${this.#o.maxRedirects} redirects (last to ${where(next)})`, {
        code: 'PSRP_TOO_MANY_REDIRECTS',
        statusCode: status,
        hint: 'The server redirects in a loop: check the URL and the reverse proxy rewrite rules.',
      });
    }
    this.#checkEncryption(next);
    return next;
  }

  /** Keeps a redirect target for the rest of the session and drops pools of other origins. */
  #remember(url: URL): void {
    log('redirected: using %s from now on', where(url));
    this.#url = url;
    for (const [origin, pool] of this.#pools) {
      if (origin === url.origin) continue;
      this.#pools.delete(origin);
      pool.retire();
    }
  }

  #checkEncryption(url: URL): void {
    if (this.#auth?.requiresEncryption && url.protocol === 'http:' && !this.#o.allowUnencrypted) {
      throw new InvalidArgumentError(
        `${this.#auth.mechanism === 'basic' ? 'Basic' : this.#auth.mechanism} authentication over http:// would send the password in clear text: use https://, or set allowUnencrypted: true for a lab`,
        { code: 'PSRP_INSECURE_BASIC' },
      );
    }
  }

  /**
   * The TLS options for an origin. `servername` names the certificate of the configured host only:
   * a redirect target is verified against its own name, so that credentials never go to a server
   * whose certificate does not name it.
   */
  #tlsFor(url: URL): Readonly<Record<string, unknown>> {
    if (url.origin === this.#firstOrigin || !('servername' in this.#tls)) return this.#tls;
    const { servername: _ignored, ...rest } = this.#tls;
    return rest;
  }

  /** A failure to exchange a request as a typed error; a read timeout names `stage`. */
  #failure(err: unknown, url: URL, stage: TimeoutStage): TransportError {
    return connectionError(err, url, {
      stage,
      readTimeoutMs: this.#o.readTimeoutMs,
      connectTimeoutMs: this.#o.connectTimeoutMs,
    });
  }

  #pool(url: URL): ConnectionPool {
    if (this.#closed) throw new TransportError('The transport is closed', { code: 'PSRP_TRANSPORT_CLOSED' });
    let pool = this.#pools.get(url.origin);
    if (pool === undefined) {
      const safety = this.#o.requestTimeoutMs + 1_000;
      pool = new ConnectionPool(
        url.origin,
        {
          pipelining: 1,
          keepAliveTimeout: this.#o.keepAliveTimeoutMs,
          keepAliveMaxTimeout: Math.max(this.#o.keepAliveTimeoutMs, 600_000),
          headersTimeout: safety,
          bodyTimeout: safety,
          connect: { timeout: this.#o.connectTimeoutMs, ...this.#tlsFor(url) },
        },
        this.#o.connections,
        proxyFor(url, this.#proxy),
      );
      this.#pools.set(url.origin, pool);
    }
    return pool;
  }

  /** Aborts pending sends (they reject with `PSRP_TRANSPORT_CLOSED`) and closes every connection. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const controller of this.#inflight) {
      controller.abort(
        new TransportError('The transport was closed while a request was pending', {
          code: 'PSRP_TRANSPORT_CLOSED',
        }),
      );
    }
    const pools = [...this.#pools.values()];
    this.#pools.clear();
    await Promise.all(pools.map((p) => p.destroy()));
    await this.#auth?.dispose?.();
  }

  /** Shows no secrets when inspected or serialised. */
  toJSON(): { url: string; mechanism: string | undefined; cookies: string[] } {
    return { url: this.url, mechanism: this.mechanism, cookies: this.cookieNames() };
  }
}

export type { BasicCredentials, HttpExchangeEvent, HttpTransportOptions };
