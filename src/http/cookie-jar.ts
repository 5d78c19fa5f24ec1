// RFC 6265 (the subset WinRM needs): per-session cookies. Exchange pins a shell to one back end with
// the `MS-WSMAN` cookie and IIS ARR may add `ARRAffinity`; losing them mid-session yields
// "invalid selectors" (research A7), so every Set-Cookie is kept and sent back.

interface Cookie {
  readonly name: string;
  readonly value: string;
  readonly domain: string;
  readonly hostOnly: boolean;
  readonly path: string;
  readonly secure: boolean;
  readonly expiresAt: number | undefined;
}

export class CookieJar {
  private readonly cookies = new Map<string, Cookie>();

  /** Stores the cookies of `Set-Cookie` headers received from `url`. */
  store(url: URL, setCookie: readonly string[], now = Date.now()): void {
    for (const header of setCookie) {
      const [pair = '', ...attrs] = header.split(';');
      const eq = pair.indexOf('=');
      if (eq <= 0) continue;
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      let domain = url.hostname.toLowerCase();
      let hostOnly = true;
      let path = url.pathname.replace(/\/[^/]*$/, '') || '/';
      let secure = false;
      let expiresAt: number | undefined;
      for (const a of attrs) {
        const i = a.indexOf('=');
        const k = (i < 0 ? a : a.slice(0, i)).trim().toLowerCase();
        const v = i < 0 ? '' : a.slice(i + 1).trim();
        if (k === 'domain' && v) {
          const d = v.replace(/^\./, '').toLowerCase();
          // A server may only set cookies for its own domain.
          if (domain === d || domain.endsWith(`.${d}`)) {
            domain = d;
            hostOnly = false;
          }
        } else if (k === 'path' && v.startsWith('/')) path = v;
        else if (k === 'secure') secure = true;
        else if (k === 'max-age' && /^-?\d+$/.test(v)) expiresAt = now + Number(v) * 1000;
        else if (k === 'expires' && expiresAt === undefined) {
          const t = Date.parse(v);
          if (!Number.isNaN(t)) expiresAt = t;
        }
      }
      const key = `${domain};${path};${name}`;
      if (expiresAt !== undefined && expiresAt <= now) this.cookies.delete(key);
      else this.cookies.set(key, { name, value, domain, hostOnly, path, secure, expiresAt });
    }
  }

  /** The `Cookie` header for a request to `url`, or undefined. */
  header(url: URL, now = Date.now()): string | undefined {
    const host = url.hostname.toLowerCase();
    const out: string[] = [];
    for (const [key, c] of this.cookies) {
      if (c.expiresAt !== undefined && c.expiresAt <= now) {
        this.cookies.delete(key);
        continue;
      }
      const domainOk = c.hostOnly ? host === c.domain : host === c.domain || host.endsWith(`.${c.domain}`);
      const p = url.pathname;
      const pathOk = p === c.path || p.startsWith(c.path.endsWith('/') ? c.path : `${c.path}/`) || c.path === '/';
      if (domainOk && pathOk && (!c.secure || url.protocol === 'https:')) out.push(`${c.name}=${c.value}`);
    }
    return out.length > 0 ? out.join('; ') : undefined;
  }

  /** Names of the cookies held (never values: they can be credentials). */
  names(): string[] {
    return [...new Set([...this.cookies.values()].map((c) => c.name))];
  }

  clear(): void {
    this.cookies.clear();
  }
}
