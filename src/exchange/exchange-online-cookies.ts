/**
 * The cookies Exchange Online sets (its backend affinity: a regional host answers with a cookie
 * that later requests to that host send back), kept per host for the session's life; only the
 * name=value pair is kept, attributes are ignored.
 */
export class ExchangeOnlineCookieJar {
  readonly #jars = new Map<string, Map<string, string>>();

  /** The `Cookie` header for a request to `url`, or undefined. */
  header(url: URL): string | undefined {
    const jar = this.#jars.get(url.host.toLowerCase());
    if (!jar || jar.size === 0) return undefined;
    return [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  /** Keep the cookies of an answer from `url` (its Set-Cookie lines). */
  keep(url: URL, setCookie: string | string[] | undefined): void {
    if (setCookie === undefined) return;
    const host = url.host.toLowerCase();
    let jar = this.#jars.get(host);
    if (!jar) this.#jars.set(host, (jar = new Map<string, string>()));
    for (const line of Array.isArray(setCookie) ? setCookie : [setCookie]) {
      const pair = line.split(';')[0] ?? '';
      const eq = pair.indexOf('=');
      if (eq > 0) jar.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim());
    }
  }
}
