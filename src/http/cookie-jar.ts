// RFC 6265 HTTP State Management (5.2 Set-Cookie parsing, 5.3 storage, 5.4 the Cookie header).
/**
 * A per-transport cookie jar, kept simple but correct for one WinRM session. Exchange pins a shell
 * to one back end with the `MS-WSMAN` cookie and IIS ARR may add `ARRAffinity`; losing them
 * mid-session yields random "invalid selectors" faults (research A7), so every cookie the server
 * sets is sent back on every matching request, including Receive long polls.
 *
 * Differences from a browser jar, on purpose:
 * - no public-suffix list: a session talks to one endpoint (and its redirect targets);
 * - path matching ignores case, because IIS paths do (`/PowerShell/` vs `path=/powershell`);
 * - bounded: at most {@link MAX_COOKIES} cookies of at most {@link MAX_COOKIE_BYTES} bytes each, so a
 *   hostile server cannot grow it without limit (the oldest cookie is evicted).
 */

/** Most cookies kept per jar. */
export const MAX_COOKIES = 50;
/** Largest `name=value` pair kept, in bytes (RFC 6265 6.1 minimum capability). */
export const MAX_COOKIE_BYTES = 4096;

interface Cookie {
  readonly name: string;
  readonly value: string;
  /** Lower-case host (host-only) or domain (without leading dot). */
  readonly domain: string;
  readonly hostOnly: boolean;
  readonly path: string;
  readonly secure: boolean;
  /** Epoch milliseconds; undefined for a session cookie. */
  readonly expiresAt: number | undefined;
  readonly created: number;
}

/** RFC 6265 5.1.4: the directory of the request path. */
function defaultPath(url: URL): string {
  const p = url.pathname;
  if (!p.startsWith('/')) return '/';
  const last = p.lastIndexOf('/');
  return last <= 0 ? '/' : p.slice(0, last);
}

/** RFC 6265 5.1.3 domain-match (hosts compared lower-case; IP addresses only match exactly). */
function domainMatches(host: string, domain: string): boolean {
  if (host === domain) return true;
  const isIp = /^[\d.]+$/.test(host) || host.includes(':') || host.startsWith('[');
  return !isIp && host.endsWith(`.${domain}`);
}

/** RFC 6265 5.1.4 path-match, case-insensitive (IIS). */
function pathMatches(requestPath: string, cookiePath: string): boolean {
  const r = requestPath.toLowerCase();
  const c = cookiePath.toLowerCase();
  if (r === c) return true;
  if (!r.startsWith(c)) return false;
  return c.endsWith('/') || r[c.length] === '/';
}

/** Cookies of one session. */
export class CookieJar {
  readonly #cookies = new Map<string, Cookie>();
  /** Bumped on every change to #cookies: a cached header is good while it stays the same. */
  #version = 0;
  /**
   * The last header built, for the URL object it was built for, until the jar changes or its first
   * cookie expires: a session sends it on every request (issue 17: building it anew took a filter,
   * a sort and a join per request).
   */
  #last: { url: URL; version: number; until: number; value: string | undefined } | undefined;

  /** Stores the cookies of the `Set-Cookie` header values received from `url`. */
  store(url: URL, setCookie: readonly string[], now = Date.now()): void {
    for (const header of setCookie) this.#storeOne(url, header, now);
    this.#version++;
  }

  #storeOne(url: URL, header: string, now: number): void {
    const [pair = '', ...attributes] = header.split(';');
    const eq = pair.indexOf('=');
    if (eq <= 0) return; // RFC 6265 5.2 steps 2-5: no '=' or an empty name: ignore
    const name = pair.slice(0, eq).trim();
    const value = pair.slice(eq + 1).trim();
    if (name === '' || Buffer.byteLength(name) + Buffer.byteLength(value) > MAX_COOKIE_BYTES) return;
    // eslint-disable-next-line no-control-regex
    if (/[\u0000-\u001f\u007f;]/.test(name + value)) return;

    const host = url.hostname.toLowerCase();
    let domain = host;
    let hostOnly = true;
    let path = defaultPath(url);
    let secure = false;
    let maxAge: number | undefined;
    let expires: number | undefined;
    for (const attribute of attributes) {
      const i = attribute.indexOf('=');
      const key = (i < 0 ? attribute : attribute.slice(0, i)).trim().toLowerCase();
      const v = i < 0 ? '' : attribute.slice(i + 1).trim();
      if (key === 'domain') {
        const d = v.replace(/^\./, '').toLowerCase();
        if (d === '') continue;
        // RFC 6265 5.3 step 6: a Domain the request host does not match voids the whole cookie.
        if (!domainMatches(host, d)) return;
        domain = d;
        hostOnly = false;
      } else if (key === 'path') {
        path = v.startsWith('/') ? v : defaultPath(url);
      } else if (key === 'secure') {
        secure = true;
      } else if (key === 'max-age' && /^-?\d+$/.test(v)) {
        maxAge = Number(v);
      } else if (key === 'expires') {
        const t = Date.parse(v);
        if (!Number.isNaN(t)) expires = t;
      }
    }
    // A Secure cookie from a plain-http response is ignored (RFC 6265bis 5.6 step 8).
    if (secure && url.protocol !== 'https:') return;
    // Max-Age wins over Expires (RFC 6265 5.3 step 3); Max-Age <= 0 expires at once.
    const expiresAt = maxAge !== undefined ? (maxAge <= 0 ? -Infinity : now + maxAge * 1000) : expires;

    const key = `${domain};${path};${name}`;
    const old = this.#cookies.get(key);
    this.#cookies.delete(key);
    if (expiresAt !== undefined && expiresAt <= now) return; // a deletion
    this.#cookies.set(key, {
      name,
      value,
      domain,
      hostOnly,
      path,
      secure,
      expiresAt,
      created: old?.created ?? now,
    });
    while (this.#cookies.size > MAX_COOKIES) {
      const oldest = this.#cookies.keys().next().value;
      if (oldest === undefined) break;
      this.#cookies.delete(oldest);
    }
  }

  /** The `Cookie` header value for a request to `url`, or undefined when no cookie matches. */
  header(url: URL, now = Date.now()): string | undefined {
    if (this.#cookies.size === 0) return undefined; // the usual case with WinRM: nothing to match
    const last = this.#last;
    if (last !== undefined && last.url === url && last.version === this.#version && now < last.until)
      return last.value;
    this.#evictExpired(now);
    const value = this.#build(url);
    let until = Infinity;
    for (const c of this.#cookies.values())
      if (c.expiresAt !== undefined && c.expiresAt < until) until = c.expiresAt;
    this.#last = { url, version: this.#version, until, value };
    return value;
  }

  #build(url: URL): string | undefined {
    const host = url.hostname.toLowerCase();
    const matching = [...this.#cookies.values()].filter(
      (c) =>
        (c.hostOnly ? host === c.domain : domainMatches(host, c.domain)) &&
        pathMatches(url.pathname, c.path) &&
        (!c.secure || url.protocol === 'https:'),
    );
    if (matching.length === 0) return undefined;
    // RFC 6265 5.4 step 2: longer paths first, then earlier creation.
    matching.sort((a, b) => b.path.length - a.path.length || a.created - b.created);
    return matching.map((c) => `${c.name}=${c.value}`).join('; ');
  }

  /** Names of the cookies held, for diagnostics. Values are never exposed: they can act as credentials. */
  names(now = Date.now()): string[] {
    this.#evictExpired(now);
    return [...new Set([...this.#cookies.values()].map((c) => c.name))];
  }

  /** Forgets every cookie. */
  clear(): void {
    this.#cookies.clear();
    this.#version++;
  }

  #evictExpired(now: number): void {
    for (const [key, c] of this.#cookies)
      if (c.expiresAt !== undefined && c.expiresAt <= now) {
        this.#cookies.delete(key);
        this.#version++;
      }
  }

  /** Shows cookie names only (never values) when inspected or serialised. */
  toJSON(): { cookies: string[] } {
    return { cookies: this.names() };
  }
}
