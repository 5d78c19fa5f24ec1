/**
 * WinRM through a real HTTP proxy: Debian's tinyproxy on loopback (src/lab/test-proxy.ts), with and
 * without its Basic authentication, in front of the GSS lab (a real MIT KDC and GSSAPI acceptor in
 * front of real pwsh). Basic over https, NTLM over http (connection-bound, every message sealed) and
 * Kerberos over https all run inside CONNECT tunnels; a 407 is a typed error.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runExec } from '../../src/cli/exec.js';
import { RunspacePool, type RunspacePoolOptions } from '../../src/index.js';
import { LAB_USERS } from '../../src/lab/exchange-runspace.js';
import type { Lab } from '../../src/lab/lab-server.js';
import type { TestRealm } from '../../src/lab/test-realm.js';
import { startTestProxy, type TestProxy } from '../../src/lab/test-proxy.js';
import { noProxyMatches, proxyFor, parseProxyOption } from '../../src/http/proxy.js';
import { ALICE_PASSWORD, closeGssLab, startGssLab } from '../helpers/gss-lab.js';
import { requirePwsh } from '../helpers/pwsh.js';

const PROXY_USER = 'proxyuser';
const PROXY_PASSWORD = 'Pr0xy-Secret';
let realm: TestRealm;
let lab: Lab;
let open: TestProxy;
let authenticated: TestProxy;

beforeAll(async () => {
  requirePwsh();
  ({ realm, lab } = await startGssLab());
  const env = await realm.kinit('alice');
  process.env['KRB5_CONFIG'] = env.KRB5_CONFIG;
  process.env['KRB5CCNAME'] = env.KRB5CCNAME;
  open = await startTestProxy();
  authenticated = await startTestProxy({ basicAuth: { username: PROXY_USER, password: PROXY_PASSWORD } });
}, 90_000);
afterAll(async () => {
  await open?.close();
  await authenticated?.close();
  await closeGssLab(lab, realm);
});
afterEach(() => {
  expect(lab.liveShells()).toBe(0);
});

const labPort = (): string => new URL(lab.url).port;

async function sum(options: RunspacePoolOptions): Promise<unknown[]> {
  const pool = await RunspacePool.open(options);
  try {
    return (await pool.powershell().addScript('"sum=" + (20 + 22)').invoke()).output;
  } finally {
    await pool.close();
  }
}

describe('WinRM through tinyproxy (CONNECT tunnels)', () => {
  it('Basic over https through an open proxy: every connection is a tunnel to the server', async () => {
    const before = open.tunnels().length;
    const output = await sum({
      uri: lab.url,
      ca: lab.ca,
      auth: { username: 'admin', password: LAB_USERS['admin']!.password },
      proxy: open.url,
    });
    expect(output).toEqual(['sum=42']);
    const tunnels = open.tunnels().slice(before);
    expect(tunnels.length).toBeGreaterThanOrEqual(1);
    expect(new Set(tunnels)).toEqual(new Set([new URL(lab.url).host]));
  }, 60_000);

  it('NTLM over http (sealed, connection-bound) and Kerberos over https through a proxy that wants Basic credentials', async () => {
    const before = authenticated.tunnels().length;
    const requests = (): number => [...lab.requestCounts.values()].reduce((a, b) => a + b, 0);
    const handshakes = (): number => lab.gssCounts.get('authenticated') ?? 0;
    const [requestsBefore, handshakesBefore] = [requests(), handshakes()];
    const ntlm = await sum({
      uri: `${lab.httpOrigin}/wsman`,
      auth: { method: 'ntlm', username: 'PSRP\\alice', password: ALICE_PASSWORD },
      proxy: authenticated.urlWithCredentials,
    });
    expect(ntlm).toEqual(['sum=42']);
    // Connection-bound: one NTLM handshake per tunnel, and each tunnel then carries many requests.
    const ntlmTunnels = authenticated.tunnels().length - before;
    expect(ntlmTunnels).toBeGreaterThanOrEqual(1);
    expect(handshakes() - handshakesBefore).toBe(ntlmTunnels);
    expect(requests() - requestsBefore).toBeGreaterThan(2 * ntlmTunnels);
    const kerberos = await sum({
      uri: lab.url.replace('127.0.0.1', 'localhost'),
      ca: lab.ca,
      auth: { method: 'kerberos' },
      proxy: authenticated.urlWithCredentials,
    });
    expect(kerberos).toEqual(['sum=42']);
    const tunnels = authenticated.tunnels().slice(before);
    expect(tunnels).toContain(new URL(lab.httpOrigin).host);
    expect(tunnels).toContain(`localhost:${labPort()}`);
  }, 90_000);

  it('a 407 is PSRP_PROXY_AUTH_REQUIRED with a hint; the proxy password appears nowhere', async () => {
    const base = {
      uri: lab.url,
      ca: lab.ca,
      auth: { username: 'admin', password: LAB_USERS['admin']!.password },
    };
    const missing = (await RunspacePool.open({ ...base, proxy: authenticated.url }).catch(
      (e: unknown) => e,
    )) as Error;
    expect(missing).toMatchObject({ code: 'PSRP_PROXY_AUTH_REQUIRED', statusCode: 407 });
    expect((missing as Error & { hint?: string }).hint).toMatch(/user:password@/);
    const wrong = `http://${PROXY_USER}:Not-${PROXY_PASSWORD}@127.0.0.1:${authenticated.port}`;
    const refused = (await RunspacePool.open({ ...base, proxy: wrong }).catch((e: unknown) => e)) as Error;
    expect(refused).toMatchObject({ code: 'PSRP_PROXY_AUTH_REQUIRED' });
    expect(JSON.stringify({ m: refused.message, h: (refused as { hint?: string }).hint })).not.toContain(
      PROXY_PASSWORD,
    );
    expect(refused.message).toContain(`http://127.0.0.1:${authenticated.port}`);
  }, 60_000);

  it('psrp exec --proxy goes through the proxy to the Exchange endpoint', async () => {
    const caFile = join(mkdtempSync(join(tmpdir(), 'proxy-ca-')), 'ca.pem');
    writeFileSync(caFile, lab.ca);
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    let out = '';
    let err = '';
    stdout.on('data', (d: Buffer) => (out += d.toString()));
    stderr.on('data', (d: Buffer) => (err += d.toString()));
    const before = authenticated.tunnels().length;
    const code = await runExec(
      [
        lab.exchangeUrl,
        '--ca',
        caFile,
        '--proxy',
        authenticated.urlWithCredentials,
        '--format',
        'json',
        '--',
        'Get-Mailbox',
        '-ResultSize',
        '1',
      ],
      { stdout, stderr, env: { PSRP_USER: 'admin', PSRP_PASSWORD: LAB_USERS['admin']!.password } },
    );
    expect(err).toBe('');
    expect(code).toBe(0);
    expect((JSON.parse(out) as unknown[]).length).toBe(1);
    expect(authenticated.tunnels().length).toBeGreaterThan(before);
  }, 60_000);

  it('psrp exec: a 407 exits 1 with the code and a hint in CLI words; --proxy env takes HTTPS_PROXY', async () => {
    const caFile = join(mkdtempSync(join(tmpdir(), 'proxy-ca-')), 'ca.pem');
    writeFileSync(caFile, lab.ca);
    const run = async (proxy: string): Promise<{ code: number; out: string; err: string }> => {
      const stdout = new PassThrough();
      const stderr = new PassThrough();
      let out = '';
      let err = '';
      stdout.on('data', (d: Buffer) => (out += d.toString()));
      stderr.on('data', (d: Buffer) => (err += d.toString()));
      const code = await runExec(
        [
          lab.exchangeUrl,
          '--ca',
          caFile,
          '--proxy',
          proxy,
          '--format',
          'json',
          '--',
          'Get-Mailbox',
          '-ResultSize',
          '2',
        ],
        { stdout, stderr, env: { PSRP_USER: 'admin', PSRP_PASSWORD: LAB_USERS['admin']!.password } },
      );
      return { code, out, err };
    };
    const refused = await run(authenticated.url);
    expect(refused.code).toBe(1);
    expect(refused.out).toBe('');
    expect(refused.err).toContain('[PSRP_PROXY_AUTH_REQUIRED]');
    expect(refused.err).toContain('--proxy http://user:password@proxy:port');
    const saved = { HTTPS_PROXY: process.env['HTTPS_PROXY'], NO_PROXY: process.env['NO_PROXY'] };
    try {
      process.env['HTTPS_PROXY'] = authenticated.urlWithCredentials;
      delete process.env['NO_PROXY'];
      const before = authenticated.tunnels().length;
      const viaEnv = await run('env');
      expect(viaEnv.err).toBe('');
      expect(viaEnv.code).toBe(0);
      expect(JSON.parse(viaEnv.out)).toHaveLength(2);
      expect(authenticated.tunnels().length).toBeGreaterThan(before);
    } finally {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  }, 60_000);

  it("proxy: 'env' follows HTTPS_PROXY and NO_PROXY; an unreachable proxy is PSRP_PROXY_FAILED", async () => {
    const saved = { HTTPS_PROXY: process.env['HTTPS_PROXY'], NO_PROXY: process.env['NO_PROXY'] };
    const base = {
      uri: lab.url,
      ca: lab.ca,
      auth: { username: 'admin', password: LAB_USERS['admin']!.password },
    };
    try {
      process.env['HTTPS_PROXY'] = open.url;
      delete process.env['NO_PROXY'];
      const before = open.tunnels().length;
      expect(await sum({ ...base, proxy: 'env' })).toEqual(['sum=42']);
      expect(open.tunnels().length).toBeGreaterThan(before);
      process.env['NO_PROXY'] = 'localhost,127.0.0.1';
      const after = open.tunnels().length;
      expect(await sum({ ...base, proxy: 'env' })).toEqual(['sum=42']);
      expect(open.tunnels().length).toBe(after);
    } finally {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
    await expect(RunspacePool.open({ ...base, proxy: 'http://127.0.0.1:1' })).rejects.toMatchObject({
      code: 'PSRP_PROXY_FAILED',
    });
  }, 90_000);
});

describe('proxy choice (no network)', () => {
  it('NO_PROXY entries: *, hosts and their subdomains, leading dots, ports', () => {
    const u = (s: string): URL => new URL(s);
    expect(noProxyMatches(u('https://ex.contoso.com/'), '*')).toBe(true);
    expect(noProxyMatches(u('https://ex.contoso.com/'), 'contoso.com')).toBe(true);
    expect(noProxyMatches(u('https://ex.contoso.com/'), '.contoso.com')).toBe(true);
    expect(noProxyMatches(u('https://ex.contoso.com/'), '*.contoso.com')).toBe(true);
    expect(noProxyMatches(u('https://excontoso.com/'), 'contoso.com')).toBe(false);
    expect(noProxyMatches(u('https://ex.contoso.com:5986/'), 'ex.contoso.com:5986')).toBe(true);
    expect(noProxyMatches(u('https://ex.contoso.com/'), 'ex.contoso.com:5986')).toBe(false);
    expect(noProxyMatches(u('http://[::1]:5985/'), 'localhost, ::1')).toBe(true);
  });

  it('chooses HTTPS_PROXY for https and HTTP_PROXY for http; NODE_USE_ENV_PROXY=1 makes env the default', () => {
    const env = { HTTPS_PROXY: 'http://s:3128', http_proxy: 'p:8080', NO_PROXY: 'internal' };
    const s = parseProxyOption('env', env);
    expect(proxyFor(new URL('https://a/'), s, env)?.href).toBe('http://s:3128/');
    expect(proxyFor(new URL('http://a/'), s, env)?.href).toBe('http://p:8080/');
    expect(proxyFor(new URL('https://x.internal/'), s, env)).toBeUndefined();
    expect(parseProxyOption(undefined, env)).toEqual({ kind: 'none' });
    expect(parseProxyOption(undefined, { ...env, NODE_USE_ENV_PROXY: '1' })).toEqual({ kind: 'env' });
    expect(parseProxyOption(false, { NODE_USE_ENV_PROXY: '1' })).toEqual({ kind: 'none' });
    expect(() => parseProxyOption('socks5://h:1080')).toThrow(/unsupported proxy scheme/);
  });
});
