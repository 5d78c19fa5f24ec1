// MS-WSMV 2.2.9 HTTP/HTTPS transport of WS-Management (SOAP 1.2 over HTTP POST).
/**
 * WS-Man over HTTP(S) with undici: one keep-alive connection pool per origin, pre-emptive Basic (or
 * any {@link Authenticator}), TLS verification on by default, a cookie jar per transport, redirects
 * only when allowed, bounded responses and timeouts, and failures mapped to typed errors with
 * plain-words hints. Security defaults match PowerShell's: no Basic over http://, no redirects, no
 * certificate bypass unless asked for by name.
 */
import type { SecureContext } from 'node:tls';
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
import type { AuthRequest, AuthResult, Authenticator, MessageSealer } from './authenticator.js';
import { resolveAuth } from './auth-options.js';
import type { BasicCredentials } from './basic-authenticator.js';
import { ConnectionPool, type Lease, type PoolSharing } from './connection-pool.js';
import { parseProxyOption, proxyFor, type ProxySetting } from './proxy.js';
import { CookieJar } from './cookie-jar.js';
import { authError, connectionError, isSoapEnvelope, statusError, where } from './http-errors.js';
import { decodeBody } from './response-body.js';
import { REDIRECTS, roundTrip, type RoundTrip } from './round-trip.js';
import { RequestAbort, type AbortLike } from './request-abort.js';
import { extraHeaders, parseUrl, transportLimits, type TransportLimits } from './transport-options.js';
import type { HttpExchangeEvent, HttpTransportOptions } from './transport-options.js';
import { caList } from './ca-list.js';
import type { TimeoutStage } from '../errors.js';
import { USER_AGENT } from './user-agent.js';
import { contextId, tlsOptions } from './tls-context.js';
import { redirectTarget } from './redirect-policy.js';
import { decryptMessage, encryptedBoundary, encryptMessage } from './message-encryption.js';
import type { WSManSendOptions, WSManTransport } from './wsman-transport.js';

/** What one `send` knows of its authentication between attempts. */
interface AuthProgress {
  /** 0 for a first attempt (the scheme's pre-emptive header), then the leg of the handshake. */
  attempt: number;
  /** The header for the next leg, from the scheme's answer to the last 401. */
  pending: string | undefined;
}

/** What became of the connection of an attempt: kept for the next leg, or discarded (not released). */
interface ConnectionUse {
  keep: boolean;
  discarded: boolean;
}

/** One attempt: where, on which connection, what. */
interface Attempt {
  readonly url: URL;
  readonly pool: ConnectionPool;
  readonly lease: Lease;
  readonly body: Buffer;
  readonly signal: AbortLike;
  readonly stage: TimeoutStage;
  readonly waitMs: number;
}

/** What an attempt's response means for the send. */
type Outcome =
  | { readonly next: 'answer'; readonly text: string }
  | { readonly next: 'redirect'; readonly status: number; readonly location: string | undefined }
  | { readonly next: 'again' };

/**
 * `url.origin` and `url.pathname + url.search`, kept per URL object: each getter builds a new
 * string on every call, and every request needs both.
 */
const urlParts = new WeakMap<URL, { readonly origin: string; readonly path: string }>();
function partsOf(url: URL): { readonly origin: string; readonly path: string } {
  let parts = urlParts.get(url);
  if (parts === undefined)
    urlParts.set(url, (parts = { origin: url.origin, path: url.pathname + url.search }));
  return parts;
}
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
  readonly #inflight = new Set<RequestAbort>();
  readonly #headers: Record<string, string>;
  readonly #tls: Readonly<Record<string, unknown>>;
  readonly #proxy: ProxySetting;
  readonly #o: TransportLimits;
  #closed = false;
  /** Every credential sent so far, to keep out of errors and logs. */
  readonly #secrets = new SecretRedactor();
  /** The configured origin: `servername` applies to it only, never to a redirect target. */
  readonly #firstOrigin: string;

  constructor(options: HttpTransportOptions) {
    let url = parseUrl(options.url);
    this.#auth = resolveAuth(options.auth);
    // The credential's own secret too (NTLM and Kerberos never send it, but a script, an echo or a
    // trace dump may show it): redacted wherever the transport redacts.
    const given = options.auth as Readonly<Record<string, unknown>> | undefined;
    if (given !== undefined && Object.getPrototypeOf(given) === Object.prototype)
      for (const k of ['password', 'token', 'passphrase'])
        if (typeof given[k] === 'string') this.#secrets.addPlain(given[k]);
    // The scheme may need the URL changed (a query parameter) or refuse it (no TLS): once, here.
    if (this.#auth?.prepareUrl) url = parseUrl(this.#auth.prepareUrl(new URL(url.href)));
    this.#o = transportLimits(options);
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
    this.#tls = tlsOptions(
      {
        ca: extraCa,
        cert: options.cert,
        key: options.key,
        pfx: options.pfx,
        passphrase: options.passphrase,
        ...clientCertificate,
      },
      options.skipCertificateCheck !== true,
      options.servername,
    );
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
    const controller = new RequestAbort();
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
      return await this.#exchange(Buffer.from(envelope, 'utf8'), controller, stage, options.waitMs ?? 0);
    } catch (err) {
      if (controller.aborted) throw this.#secrets.scrub(controller.reason);
      throw this.#secrets.scrub(err);
    } finally {
      clearTimeout(timer);
      outer?.removeEventListener('abort', onAbort);
      this.#inflight.delete(controller);
    }
  }

  /**
   * One `send`: attempts on pooled connections until a response is the answer. Between attempts:
   * a permitted redirect (see {@link #redirectTarget}), the next leg of an authentication handshake
   * (see {@link #authRound}), or, over http:// with a sealing scheme, the sealed message after the
   * handshake that made its context.
   */
  async #exchange(body: Buffer, signal: AbortLike, stage: TimeoutStage, waitMs: number): Promise<string> {
    let url = this.#url;
    let redirects = 0;
    const auth: AuthProgress = { attempt: 0, pending: undefined };
    /** A connection kept for the next leg of a connection-bound handshake (NTLM). */
    let held: { readonly pool: ConnectionPool; readonly lease: Lease } | undefined;
    for (;;) {
      const { pool, lease } = held ?? (await this.#connection(url, signal, stage));
      held = undefined;
      const use: ConnectionUse = { keep: false, discarded: false };
      try {
        const outcome = await this.#attempt({ url, pool, lease, body, signal, stage, waitMs }, auth, use);
        if (outcome.next === 'answer') return outcome.text;
        if (outcome.next === 'redirect') {
          url = this.#redirectTarget(url, outcome.status, outcome.location, redirects);
          redirects++;
          // Credentials follow the redirect only because the caller allowed it (checked above).
          auth.attempt = 0;
        }
      } finally {
        if (use.keep) held = { pool, lease };
        else if (!use.discarded) pool.release(lease);
      }
    }
  }

  /** A connection from the pool of `url`'s origin; a failure to get one as a typed error. */
  async #connection(
    url: URL,
    signal: AbortLike,
    stage: TimeoutStage,
  ): Promise<{ readonly pool: ConnectionPool; readonly lease: Lease }> {
    const pool = this.#pool(url);
    try {
      return { pool, lease: await pool.acquire(signal) };
    } catch (err) {
      throw signal.aborted ? signal.reason : this.#failure(err, url, stage);
    }
  }

  /** One request on one connection, and what it means for the send. */
  async #attempt(at: Attempt, progress: AuthProgress, use: ConnectionUse): Promise<Outcome> {
    const { url, lease } = at;
    const auth = this.#authFor(lease);
    // Over http://, a scheme that seals (NTLM, Kerberos) authenticates the connection with an
    // empty body first, then sends every message sealed (MS-WSMV 2.2.9.1).
    const sealing = url.protocol === 'http:' && auth?.sealsMessages === true;
    const sealer = sealing ? auth?.sealer?.() : undefined;
    const handshake = sealing && sealer === undefined;
    const request: AuthRequest = {
      method: 'POST',
      url,
      channelBindings: auth?.connectionBound ? channelBindingsOf(lease) : undefined,
    };
    const authorization = progress.attempt === 0 ? await auth?.authorize(request) : progress.pending;
    let payload = at.body;
    let contentType = 'application/soap+xml;charset=UTF-8';
    if (handshake) payload = EMPTY;
    else if (sealer) ({ body: payload, contentType } = await encryptMessage(sealer, at.body));
    const res = await this.#post(at, payload, contentType, authorization);
    if (REDIRECTS.has(res.status))
      return { next: 'redirect', status: res.status, location: headerList(res.headers['location'])[0] };
    // What the scheme is told of the exchange; built only when it is told (a 401, a handshake, a
    // scheme that checks the final answer): Basic and tokens never are.
    const exchanged = (): AuthResult => ({
      ...request,
      status: res.status,
      wwwAuthenticate: headerList(res.headers['www-authenticate']),
    });
    if (res.status === 401) {
      use.keep = await this.#authRound(auth, exchanged(), progress);
      return { next: 'again' };
    }
    if (handshake) {
      await this.#sealingReady(auth, exchanged(), res, progress);
      use.keep = true;
      return { next: 'again' };
    }
    const told = auth?.complete !== undefined ? exchanged() : undefined;
    return { next: 'answer', text: await this.#answer(at, res, auth, told, sealer, use) };
  }

  /**
   * Sends one request (headers, cookies, the body as given) and reads its response; stores the
   * cookies it sets and reports the exchange (diagnostics channel, debug log).
   */
  async #post(
    at: Attempt,
    payload: Buffer,
    contentType: string,
    authorization: string | undefined,
  ): Promise<RoundTrip> {
    const { url, signal } = at;
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
    const started = performance.now();
    const report = (status: number | undefined, bytes: number, error?: string): void => {
      if (!channels.httpExchange.hasSubscribers && !log.enabled) return;
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
      res = await this.#roundTrip(at.lease, url, headers, payload, signal, at.waitMs);
    } catch (err) {
      const failure: unknown = signal.aborted ? signal.reason : this.#failure(err, url, at.stage);
      report(undefined, 0, (failure as { code?: string }).code ?? 'ABORTED');
      throw failure;
    }
    const setCookie = headerList(res.headers['set-cookie']);
    if (setCookie.length > 0) this.#jar.store(url, setCookie);
    report(res.status, res.bytes.length);
    return res;
  }

  /**
   * A 401: the scheme's next header, for another attempt (on this same connection, returned true,
   * for a connection-bound scheme), or an AuthenticationError once it has none or after 5 legs.
   */
  async #authRound(
    auth: Authenticator | undefined,
    challenge: AuthResult,
    progress: AuthProgress,
  ): Promise<boolean> {
    const { status: _status, ...asked } = challenge;
    const next = await auth?.respond({ ...asked, attempt: progress.attempt });
    if (next !== undefined && progress.attempt < 5) {
      progress.pending = next;
      progress.attempt++;
      // The next leg of a connection-bound handshake must use this same connection.
      return auth?.connectionBound === true;
    }
    throw authError(
      auth?.mechanism ?? this.#auth?.mechanism,
      offeredSchemes(challenge.wwwAuthenticate),
      challenge.url,
    );
  }

  /** The end of a sealing handshake: the context must now encrypt; the message itself goes next. */
  async #sealingReady(
    auth: Authenticator,
    result: AuthResult,
    res: RoundTrip,
    progress: AuthProgress,
  ): Promise<void> {
    const { status, url } = result;
    if (status < 200 || status >= 300) {
      const text = decodeBody(res.bytes, headerList(res.headers['content-type'])[0]);
      throw statusError(status, text, url, this.#secrets);
    }
    await auth.complete?.(result);
    if (auth.sealer?.() === undefined) {
      throw new AuthenticationError(
        `The ${auth.mechanism} handshake with ${where(url)} ended without a context that can encrypt messages`,
        { code: 'PSRP_AUTH_FAILED', mechanism: auth.mechanism },
      );
    }
    progress.attempt = 0;
    progress.pending = undefined;
  }

  /**
   * The body of a final response as text (decrypted when sealed): a 2xx, or a 500 carrying a SOAP
   * fault (redacted); any other status is a typed error.
   */
  async #answer(
    at: Attempt,
    res: RoundTrip,
    auth: Authenticator | undefined,
    result: AuthResult | undefined,
    sealer: MessageSealer | undefined,
    use: ConnectionUse,
  ): Promise<string> {
    const { url } = at;
    const { status } = res;
    const responseType = headerList(res.headers['content-type'])[0];
    const encrypted = encryptedBoundary(responseType) !== undefined;
    let text: string;
    if (sealer && encrypted) {
      try {
        text = await decryptMessage(sealer, res.bytes, responseType ?? '');
      } catch (err) {
        // The context's sequence numbers (and NTLM's RC4 state) are now out of step: this
        // connection cannot be used again; the next request gets a new one and a new handshake.
        use.discarded = true;
        at.pool.discard(at.lease);
        throw err;
      }
    } else text = decodeBody(res.bytes, responseType);
    const ok = status >= 200 && status < 300;
    if (!ok && !(status === 500 && isSoapEnvelope(text))) throw statusError(status, text, url, this.#secrets);
    if (sealer && !encrypted) {
      throw new ProtocolError(
        `${where(url)} answered an encrypted request in clear text (HTTP ${status}); over http:// WinRM seals every message, so something between rewrote it: use https:// or check the path to the server`,
        { code: 'PSRP_ENCRYPTION_INVALID' },
      );
    }
    if (result !== undefined) await auth?.complete?.(result);
    if (url !== this.#url) this.#remember(url);
    // A fault is never data: the WS-Man layer builds its error from a redacted copy.
    return ok ? text : this.#secrets.redact(text);
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
  #roundTrip(
    lease: Lease,
    url: URL,
    headers: Record<string, string>,
    body: Buffer,
    signal: AbortLike,
    waitMs: number,
  ): Promise<RoundTrip> {
    return roundTrip(lease.client, {
      path: partsOf(url).path,
      headers,
      body,
      signal,
      maxBytes: this.#o.maxResponseBytes,
      // The server may take `waitMs` (a Receive's OperationTimeout) before it answers; beyond
      // that, and between two chunks of the body, `readTimeoutMs` of silence is a timeout.
      headersTimeout: this.#o.readTimeoutMs + waitMs,
      bodyTimeout: this.#o.readTimeoutMs,
    });
  }

  /** Checks a redirect (see redirect-policy.ts) and returns where to go, or throws the reason not to. */
  #redirectTarget(from: URL, status: number, location: string | undefined, followed: number): URL {
    const next = redirectTarget(
      { from, status, location, followed },
      { allowRedirection: this.#o.allowRedirection, maxRedirects: this.#o.maxRedirects },
      this.#secrets,
    );
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
    const { origin } = partsOf(url);
    let pool = this.#pools.get(origin);
    if (pool === undefined) {
      const safety = this.#o.requestTimeoutMs + 1_000;
      const tls = this.#tlsFor(url);
      const options = {
        pipelining: 1,
        keepAliveTimeout: this.#o.keepAliveTimeoutMs,
        keepAliveMaxTimeout: Math.max(this.#o.keepAliveTimeoutMs, 600_000),
        headersTimeout: safety,
        bodyTimeout: safety,
        connect: { timeout: this.#o.connectTimeoutMs, ...tls },
      };
      pool = new ConnectionPool(
        url.origin,
        options,
        this.#o.connections,
        proxyFor(url, this.#proxy),
        this.#sharing(url, options, tls),
      );
      this.#pools.set(origin, pool);
    }
    return pool;
  }

  /**
   * Idle connections of this transport may serve the next transport with the same origin, TLS
   * set-up, options and scheme, once this one is closed; not for a connection-bound scheme (a
   * connection NTLM or Negotiate authenticated belongs to its transport's user only), nor without a
   * shared secure context.
   */
  #sharing(
    url: URL,
    options: Record<string, unknown>,
    tls: Readonly<Record<string, unknown>>,
  ): PoolSharing | undefined {
    const context = tls['secureContext'] as SecureContext | undefined;
    if (this.#auth?.connectionBound === true || (url.protocol === 'https:' && context === undefined))
      return undefined;
    const { secureContext: _context, ...scalars } = tls;
    const key = JSON.stringify([
      url.origin,
      this.#auth?.mechanism ?? '',
      context !== undefined ? contextId(context) : 0,
      { ...options, connect: { ...scalars, timeout: this.#o.connectTimeoutMs } },
    ]);
    return { key, idleMs: this.#o.keepAliveTimeoutMs };
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
