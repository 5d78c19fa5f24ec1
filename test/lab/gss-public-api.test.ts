// The public `auth` option end to end against the GSS lab: a real MIT KDC and a GSSAPI acceptor
// (MIT krb5 + gss-ntlmssp) in front of real pwsh. NTLM over plain http seals every message
// (the lab refuses plaintext there), Kerberos and Negotiate run over https, Negotiate falls back to
// NTLM without a ticket, and each failure is a typed error. Every test ends with no live shell.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  AuthenticationError,
  RunspacePool,
  type AuthOption,
  type RunspacePoolOptions,
} from '../../src/index.js';
import { channels } from '../../src/internal/debug.js';
import type { Lab } from '../../src/lab/lab-server.js';
import type { TestRealm } from '../../src/lab/test-realm.js';
import { ALICE_PASSWORD, closeGssLab, startGssLab } from '../helpers/gss-lab.js';
import { requirePwsh } from '../helpers/pwsh.js';

const PASSWORD = ALICE_PASSWORD;
let realm: TestRealm;
let lab: Lab;
let ticketCache: string;

beforeAll(async () => {
  requirePwsh();
  ({ realm, lab } = await startGssLab());
  const env = await realm.kinit('alice');
  // The kerberos binding (MIT) reads these from this process's environment for each new context.
  process.env['KRB5_CONFIG'] = env.KRB5_CONFIG;
  process.env['KRB5CCNAME'] = ticketCache = env.KRB5CCNAME;
}, 60_000);
afterAll(() => closeGssLab(lab, realm));
afterEach(() => {
  process.env['KRB5CCNAME'] = ticketCache;
  expect(lab.liveShells()).toBe(0);
});

const httpUrl = (): string => `${lab.httpOrigin}/wsman`;
const options = (
  uri: string,
  auth: AuthOption,
  extra: Partial<RunspacePoolOptions> = {},
): RunspacePoolOptions => ({
  uri,
  auth,
  ca: lab.ca,
  ...extra,
});

/** Opens a pool, runs `whoami`-like script, closes; returns the output and the request bodies' types. */
async function run(o: RunspacePoolOptions): Promise<{ output: unknown[]; contentTypes: string[] }> {
  const contentTypes: string[] = [];
  const listener = (e: unknown): void => {
    const h = (e as { requestHeaders: Record<string, string> }).requestHeaders;
    contentTypes.push(h['content-type'] ?? '');
  };
  channels.httpExchange.subscribe(listener);
  try {
    const pool = await RunspacePool.open(o);
    try {
      const r = await pool.powershell().addScript('"sum=" + (20 + 22)').invoke();
      return { output: r.output, contentTypes };
    } finally {
      await pool.close();
    }
  } finally {
    channels.httpExchange.unsubscribe(listener);
  }
}

describe('auth option against real Kerberos and NTLM acceptors', () => {
  it("method 'ntlm' over http://: SPNEGO-wrapped NTLM, then every message sealed both ways", async () => {
    const before = {
      decrypted: lab.gssCounts.get('decrypted') ?? 0,
      refused: lab.gssCounts.get('plaintextRefused') ?? 0,
    };
    const { output, contentTypes } = await run(
      options(httpUrl(), { method: 'ntlm', username: 'PSRP\\alice', password: PASSWORD }),
    );
    expect(output).toEqual(['sum=42']);
    // Every request with a body went sealed; the lab decrypted them all and refused none.
    const sealed = contentTypes.filter((t) => t.startsWith('multipart/encrypted'));
    expect(sealed.length).toBeGreaterThanOrEqual(4);
    expect(
      contentTypes.every((t) => t.startsWith('multipart/encrypted') || t.startsWith('application/soap+xml')),
    ).toBe(true);
    expect((lab.gssCounts.get('decrypted') ?? 0) - before.decrypted).toBe(sealed.length);
    expect(lab.gssCounts.get('plaintextRefused') ?? 0).toBe(before.refused);
  }, 60_000);

  it("method 'negotiate' with a ticket: Kerberos (SPNEGO) over https://", async () => {
    const { output } = await run(options(lab.url.replace('127.0.0.1', 'localhost'), { method: 'negotiate' }));
    expect(output).toEqual(['sum=42']);
  }, 60_000);

  it("method 'kerberos': the krb5 mechanism under the Kerberos scheme over https://", async () => {
    const { output } = await run(options(lab.url.replace('127.0.0.1', 'localhost'), { method: 'kerberos' }));
    expect(output).toEqual(['sum=42']);
  }, 60_000);

  it("method 'negotiate' without a ticket falls back to NTLM (sealed over http://)", async () => {
    process.env['KRB5CCNAME'] = `FILE:${realm.dir}/no-such-cache`;
    const { output, contentTypes } = await run(
      options(httpUrl(), { method: 'negotiate', username: 'PSRP\\alice', password: PASSWORD }),
    );
    expect(output).toEqual(['sum=42']);
    expect(contentTypes.some((t) => t.startsWith('multipart/encrypted'))).toBe(true);
  }, 60_000);

  it('a VIP or alias without an SPN: PSRP_KERBEROS_SPN_NOT_FOUND naming HTTP/<host>, and hostname fixes it', async () => {
    const vip = lab.url.replace('localhost', '127.0.0.1');
    const err = await RunspacePool.open(options(vip, { method: 'kerberos' })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AuthenticationError);
    expect((err as AuthenticationError).code).toBe('PSRP_KERBEROS_SPN_NOT_FOUND');
    expect((err as AuthenticationError).hint).toContain('HTTP/127.0.0.1');
    const { output } = await run(options(vip, { method: 'kerberos', hostname: 'localhost' }));
    expect(output).toEqual(['sum=42']);
  }, 60_000);

  it('no ticket and no password: PSRP_KERBEROS_NO_CREDENTIALS says kinit', async () => {
    process.env['KRB5CCNAME'] = `FILE:${realm.dir}/no-such-cache`;
    const err = await RunspacePool.open(options(lab.url, { method: 'negotiate' })).catch((e: unknown) => e);
    expect((err as AuthenticationError).code).toBe('PSRP_KERBEROS_NO_CREDENTIALS');
    expect((err as AuthenticationError).hint).toContain('kinit');
  }, 60_000);

  it('NTLM with a wrong password or an unknown user: PSRP_AUTH_FAILED, the password nowhere', async () => {
    for (const [username, password] of [
      ['PSRP\\alice', 'Wrong-Passw0rd!'],
      ['PSRP\\mallory', PASSWORD],
    ] as const) {
      const err = await RunspacePool.open(options(httpUrl(), { method: 'ntlm', username, password })).catch(
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(AuthenticationError);
      expect((err as AuthenticationError).code).toBe('PSRP_AUTH_FAILED');
      expect(JSON.stringify(err) + String(err)).not.toContain(password);
    }
  }, 60_000);

  for (const method of ['kerberos', 'negotiate'] as const) {
    it(`method '${method}' over http://: Kerberos, every message sealed (RFC 4121 in TypeScript)`, async () => {
      const before = lab.gssCounts.get('decrypted') ?? 0;
      const krb5 = lab.gssCounts.get('mech:krb5') ?? 0;
      const { output, contentTypes } = await run(options(httpUrl(), { method }));
      expect(output).toEqual(['sum=42']);
      const sealed = contentTypes.filter((t) => t.startsWith('multipart/encrypted'));
      expect(sealed.length).toBeGreaterThanOrEqual(4);
      expect(
        sealed.every((t) =>
          t.includes(
            method === 'kerberos' ? 'HTTP-Kerberos-session-encrypted' : 'HTTP-SPNEGO-session-encrypted',
          ),
        ),
      ).toBe(true);
      expect((lab.gssCounts.get('decrypted') ?? 0) - before).toBe(sealed.length);
      expect(lab.gssCounts.get('mech:krb5') ?? 0).toBeGreaterThan(krb5);
    }, 60_000);
  }

  it("method 'kerberos' with a password: kinit into a private cache, no ticket needed beforehand", async () => {
    process.env['KRB5CCNAME'] = `FILE:${realm.dir}/no-such-cache`;
    const { output } = await run(
      options(httpUrl(), { method: 'kerberos', username: 'alice', password: PASSWORD }),
    );
    expect(output).toEqual(['sum=42']);
    expect(process.env['KRB5CCNAME']).toBe(`FILE:${realm.dir}/no-such-cache`);
    const err = await RunspacePool.open(
      options(httpUrl(), { method: 'kerberos', username: 'alice', password: 'Wrong-Passw0rd!' }),
    ).catch((e: unknown) => e);
    expect((err as AuthenticationError).code).toBe('PSRP_KERBEROS_BAD_PASSWORD');
    expect(JSON.stringify(err) + String(err)).not.toContain('Wrong-Passw0rd!');
    const unknown = await RunspacePool.open(
      options(httpUrl(), { method: 'kerberos', username: 'mallory', password: PASSWORD }),
    ).catch((e: unknown) => e);
    expect((unknown as AuthenticationError).code).toBe('PSRP_KERBEROS_UNKNOWN_USER');
  }, 60_000);
});
