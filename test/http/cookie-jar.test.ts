import { describe, expect, it } from 'vitest';
import { CookieJar, MAX_COOKIE_BYTES, MAX_COOKIES } from '../../src/http/cookie-jar.js';

const cas = new URL('https://cas.contoso.com/PowerShell/');
const now = Date.UTC(2026, 10, 24);

describe('CookieJar', () => {
  it('defaults the path to the directory of the request and matches sub-paths only', () => {
    const jar = new CookieJar();
    jar.store(new URL('https://cas.contoso.com/PowerShell/x'), ['a=1'], now);
    expect(jar.header(new URL('https://cas.contoso.com/PowerShell/y'), now)).toBe('a=1');
    expect(jar.header(new URL('https://cas.contoso.com/PowerShellX/'), now)).toBeUndefined();
    expect(jar.header(new URL('https://cas.contoso.com/'), now)).toBeUndefined();
  });

  it('matches paths case-insensitively (IIS) and orders longer paths first', () => {
    const jar = new CookieJar();
    jar.store(cas, ['root=r; Path=/', 'MS-WSMAN=w; path=/powershell'], now);
    expect(jar.header(cas, now)).toBe('MS-WSMAN=w; root=r');
  });

  it('keeps host-only cookies to their host and Domain cookies to the domain and its subdomains', () => {
    const jar = new CookieJar();
    jar.store(cas, ['host=1', 'dom=2; Domain=.contoso.com'], now);
    expect(jar.header(new URL('https://cas.contoso.com/PowerShell/'), now)).toBe('host=1; dom=2');
    expect(jar.header(new URL('https://mbx.contoso.com/PowerShell/'), now)).toBe('dom=2');
    expect(jar.header(new URL('https://contoso.com.evil.test/PowerShell/'), now)).toBeUndefined();
  });

  it('ignores a cookie whose Domain the host does not match, and Domain cookies on IP hosts for other IPs', () => {
    const jar = new CookieJar();
    jar.store(cas, ['x=1; Domain=evil.test', 'y=2; Domain=as.contoso.com'], now);
    expect(jar.names(now)).toEqual([]);
    const ip = new URL('https://10.0.0.5/wsman');
    jar.store(ip, ['z=3; Domain=0.0.5'], now);
    expect(jar.names(now)).toEqual([]);
  });

  it('sends Secure cookies over https only and ignores Secure cookies set over http', () => {
    const jar = new CookieJar();
    jar.store(cas, ['s=1; Secure; HttpOnly'], now);
    expect(jar.header(cas, now)).toBe('s=1');
    expect(jar.header(new URL('http://cas.contoso.com/PowerShell/'), now)).toBeUndefined();
    jar.store(new URL('http://cas.contoso.com/PowerShell/'), ['t=2; Secure'], now);
    expect(jar.names(now)).toEqual(['s']);
  });

  it('expires cookies by Max-Age (which wins over Expires) and by Expires, and deletes on Max-Age=0', () => {
    const jar = new CookieJar();
    jar.store(
      cas,
      [
        'a=1; Max-Age=10; Expires=Wed, 01 Jan 2100 00:00:00 GMT',
        'b=2; Expires=Wed, 25 Nov 2026 00:00:00 GMT',
      ],
      now,
    );
    expect(jar.header(cas, now + 5_000)).toBe('a=1; b=2');
    expect(jar.header(cas, now + 11_000)).toBe('b=2');
    expect(jar.header(cas, now + 86_400_000)).toBeUndefined();
    jar.store(cas, ['c=3'], now);
    jar.store(cas, ['c=gone; Max-Age=0'], now);
    expect(jar.names(now)).toEqual([]);
  });

  it('sends the same header again for the same URL until a cookie is stored, replaced, cleared or expires', () => {
    const jar = new CookieJar();
    jar.store(cas, ['a=1'], now);
    expect(jar.header(cas, now)).toBe('a=1');
    expect(jar.header(cas, now + 1)).toBe('a=1');
    jar.store(cas, ['b=2; Max-Age=60'], now);
    expect(jar.header(cas, now + 2)).toBe('a=1; b=2');
    jar.store(cas, ['a=3'], now);
    expect(jar.header(cas, now + 3)).toBe('b=2; a=3'); // same creation time: order of storage
    expect(jar.header(cas, now + 61_000)).toBe('a=3');
    jar.clear();
    expect(jar.header(cas, now + 62_000)).toBeUndefined();
  });

  it('replaces a cookie with the same name, domain and path', () => {
    const jar = new CookieJar();
    jar.store(cas, ['MS-WSMAN=one; path=/PowerShell'], now);
    jar.store(cas, ['MS-WSMAN=two; path=/PowerShell'], now);
    expect(jar.header(cas, now)).toBe('MS-WSMAN=two');
  });

  it('ignores malformed and oversized cookies and keeps at most MAX_COOKIES', () => {
    const jar = new CookieJar();
    jar.store(cas, ['novalue', '=empty', `big=${'x'.repeat(MAX_COOKIE_BYTES)}`, 'ctl=a\u0001b'], now);
    expect(jar.names(now)).toEqual([]);
    jar.store(
      cas,
      Array.from({ length: MAX_COOKIES + 10 }, (_, i) => `c${i}=${i}`),
      now,
    );
    const names = jar.names(now);
    expect(names).toHaveLength(MAX_COOKIES);
    expect(names).not.toContain('c0');
    expect(names).toContain(`c${MAX_COOKIES + 9}`);
  });

  it('exposes names, never values', () => {
    const jar = new CookieJar();
    jar.store(cas, ['MS-WSMAN=secret-session'], now);
    expect(jar.names(now)).toEqual(['MS-WSMAN']);
    expect(JSON.stringify(jar)).not.toContain('secret-session');
    jar.clear();
    expect(jar.header(cas, now)).toBeUndefined();
  });
});
