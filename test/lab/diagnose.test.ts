/**
 * `psrp diagnose` against the lab with each failure of the field guide
 * (shared/seed/exchange-rps-over-arr.txt) switched on: the failing step, its words and its fix.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runDiagnose } from '../../src/cli/diagnose.js';
import { diagnose, type Diagnosis, type DiagnoseOptions } from '../../src/exchange/index.js';
import { startLab, type Lab, type LabBehaviours } from '../../src/lab/lab-server.js';
import { startTestRealm } from '../../src/lab/test-realm.js';
import { requirePwsh } from '../helpers/pwsh.js';

let lab: Lab;
let defaults: LabBehaviours;
beforeAll(async () => {
  requirePwsh();
  lab = await startLab({ mailboxCount: 20 });
  defaults = { ...lab.behaviours };
}, 60_000);
afterEach(() => {
  Object.assign(lab.behaviours, defaults);
  expect(lab.liveShells()).toBe(0);
});
afterAll(async () => {
  await lab?.close();
});

const admin = (): { username: string; password: string } => ({
  username: 'admin',
  password: lab.users['admin']!,
});
const run = (o: Partial<DiagnoseOptions> = {}): Promise<Diagnosis> =>
  diagnose({ uri: lab.exchangeUrl, ca: lab.ca, credential: admin(), stepTimeoutMs: 5000, ...o });
const check = (
  d: Diagnosis,
  id: string,
): { status: string; detail: string; fix?: string | undefined; code?: string | undefined } => {
  const c = d.checks.find((x) => x.id === id);
  if (!c) throw new Error(`no ${id} check in ${JSON.stringify(d.checks)}`);
  return c;
};
const statuses = (d: Diagnosis): string => d.checks.map((c) => `${c.id}:${c.status}`).join(' ');

describe('psrp diagnose against the lab', () => {
  it('passes every step for an administrator and counts the granted cmdlets', async () => {
    const d = await run();
    expect(statuses(d)).toBe('dns:pass tcp:pass tls:pass http:pass auth:pass shell:pass roles:pass');
    expect(d.ok).toBe(true);
    expect(check(d, 'http').detail).toContain('offers Negotiate, Basic');
    expect(check(d, 'auth').detail).toContain('psrp lab');
    expect(check(d, 'roles').detail).toMatch(
      /^9 cmdlets granted, including New-Mailbox, Set-Mailbox, Remove-Mailbox/,
    );
  }, 90_000);

  it('names a limited role (field guide: "Get-Mailbox lists only your name")', async () => {
    const d = await run({ credential: { username: 'helpdesk', password: lab.users['helpdesk']! } });
    const roles = check(d, 'roles');
    expect(roles.status).toBe('warn');
    expect(roles.detail).toMatch(/^a limited role: 5 cmdlets, none that change mailboxes/);
    expect(roles.fix).toContain('RBAC');
    const readonly = await run({ credential: { username: 'readonly', password: lab.users['readonly']! } });
    expect(check(readonly, 'roles').detail).toMatch(
      /1 cmdlets, none that change mailboxes, and not Get-Mailbox/,
    );
  }, 90_000);

  it('DNS: a name that does not resolve', async () => {
    const d = await diagnose({ server: 'no-such-cas.invalid', credential: admin(), stepTimeoutMs: 5000 });
    expect(check(d, 'dns')).toMatchObject({ status: 'fail' });
    expect(check(d, 'dns').fix).toMatch(/FQDN|DNS/);
    expect(check(d, 'tcp').status).toBe('skip');
    expect(d.ok).toBe(false);
  }, 30_000);

  it('TCP: nothing listens on the port', async () => {
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as { port: number }).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const d = await diagnose({
      uri: `https://localhost:${port}/PowerShell/`,
      credential: admin(),
      stepTimeoutMs: 5000,
    });
    expect(check(d, 'tcp')).toMatchObject({
      status: 'fail',
      detail: expect.stringContaining('ECONNREFUSED'),
    });
    expect(statuses(d)).toContain('tls:skip http:skip auth:skip shell:skip roles:skip');
  }, 30_000);

  it('TLS: an untrusted certificate stops before any credential is sent (field guide 502/certificate)', async () => {
    const before = lab.requestCounts.get('Identify') ?? 0;
    const d = await diagnose({ uri: lab.exchangeUrl, credential: admin(), stepTimeoutMs: 5000 });
    expect(check(d, 'tls')).toMatchObject({ status: 'fail', code: 'PSRP_TLS_UNTRUSTED' });
    expect(check(d, 'tls').fix).toContain('--ca');
    expect(check(d, 'http').status).toBe('pass');
    expect(check(d, 'auth')).toMatchObject({
      status: 'skip',
      detail: expect.stringContaining('not trusted'),
    });
    expect(lab.requestCounts.get('Identify') ?? 0).toBe(before);
    const skipped = await diagnose({
      uri: lab.exchangeUrl,
      credential: admin(),
      skipCertificateCheck: true,
      stepTimeoutMs: 5000,
    });
    expect(check(skipped, 'tls').status).toBe('warn');
    expect(check(skipped, 'shell').status).toBe('pass');
  }, 90_000);

  it('HTTP 403: Require SSL on the virtual directory, over http://', async () => {
    const d = await run({ uri: `${lab.httpOrigin}/PowerShell/` });
    expect(check(d, 'http')).toMatchObject({ status: 'fail', code: 'PSRP_HTTP_FORBIDDEN' });
    expect(check(d, 'http').detail).toContain('Require SSL');
    expect(check(d, 'http').fix).toContain('https://');
  }, 30_000);

  it('Basic over http:// is refused before the password leaves (field guide: "Trying Basic internally over http")', async () => {
    lab.behaviours.requireSsl = false;
    const before = lab.requestCounts.get('Identify') ?? 0;
    const d = await run({ uri: `${lab.httpOrigin}/PowerShell/` });
    expect(check(d, 'auth')).toMatchObject({ status: 'fail', code: 'PSRP_INSECURE_BASIC' });
    expect(check(d, 'auth').fix).toContain('https://');
    expect(lab.requestCounts.get('Identify') ?? 0).toBe(before);
  }, 30_000);

  it('Basic disabled on the virtual directory: the offered schemes say so', async () => {
    lab.behaviours.authSchemes = ['Negotiate'];
    const d = await run();
    expect(check(d, 'http')).toMatchObject({
      status: 'fail',
      detail: expect.stringContaining('offers Negotiate, not Basic'),
    });
    expect(check(d, 'http').fix).toContain('Set-PowerShellVirtualDirectory -BasicAuthentication $true');
  }, 30_000);

  it('HTTP 400: Exchange rewrites 401 to 400 (wrong password, or Basic disabled)', async () => {
    lab.behaviours.rewrite401To400 = true;
    const d = await run({ credential: { username: 'admin', password: 'wrong' } });
    expect(check(d, 'http')).toMatchObject({ status: 'warn', code: 'PSRP_HTTP_BAD_REQUEST' });
    expect(check(d, 'auth')).toMatchObject({ status: 'fail', detail: expect.stringContaining('400') });
    expect(check(d, 'auth').fix).toContain('BasicAuthentication');
    expect(JSON.stringify(d)).not.toContain('wrong');
  }, 30_000);

  it('a wrong password is named as such', async () => {
    const d = await run({ credential: { username: 'admin', password: 'not-it' } });
    expect(check(d, 'auth')).toMatchObject({
      status: 'fail',
      code: 'PSRP_AUTH_FAILED',
      detail: 'admin was refused (HTTP 401, Basic)',
    });
    expect(JSON.stringify(d)).not.toContain('not-it');
  }, 30_000);

  it('HTTP 502: the reverse proxy cannot reach the back end', async () => {
    lab.behaviours.badGateway = true;
    const d = await run();
    expect(check(d, 'http')).toMatchObject({ status: 'fail', code: 'PSRP_HTTP_BAD_GATEWAY' });
    expect(check(d, 'http').fix).toMatch(/ARR server/);
  }, 30_000);

  it('Kerberos on a VIP name: the KDC has no SPN for it, and the way out', async () => {
    const realm = await startTestRealm({ users: { alice: 'Alic3-Passw0rd!' } });
    const saved = { config: process.env['KRB5_CONFIG'], cache: process.env['KRB5CCNAME'] };
    try {
      const env = await realm.kinit('alice');
      process.env['KRB5_CONFIG'] = env.KRB5_CONFIG;
      process.env['KRB5CCNAME'] = env.KRB5CCNAME;
      lab.behaviours.requireSsl = false;
      lab.behaviours.authSchemes = ['Negotiate', 'Kerberos'];
      // 127.0.0.1 stands for the VIP: the realm has HTTP/localhost only.
      const vip = await run({
        uri: `${lab.httpOrigin.replace('localhost', '127.0.0.1')}/PowerShell/`,
        auth: 'kerberos',
      });
      const k = check(vip, 'kerberos');
      expect(k).toMatchObject({ status: 'fail', code: 'PSRP_KERBEROS_SPN_NOT_FOUND' });
      expect(k.detail).toContain('HTTP/127.0.0.1');
      expect(k.fix).toMatch(/setspn -S HTTP\/127\.0\.0\.1/);
      expect(k.fix).toContain("server's own FQDN");
      expect(check(vip, 'auth').status).toBe('skip');
      // The real name has its SPN: a ticket is issued, and over http:// messages will be sealed.
      const real = await run({ uri: `${lab.httpOrigin}/PowerShell/`, auth: 'kerberos' });
      expect(check(real, 'kerberos')).toMatchObject({
        status: 'pass',
        detail: expect.stringContaining('HTTP/localhost'),
      });
      expect(
        real.checks
          .filter((c) => c.id === 'kerberos')
          .map((c) => c.detail)
          .join(' '),
      ).toContain('encrypted');
    } finally {
      process.env['KRB5_CONFIG'] = saved.config ?? '';
      if (saved.cache === undefined) delete process.env['KRB5CCNAME'];
      else process.env['KRB5CCNAME'] = saved.cache;
      if (saved.config === undefined) delete process.env['KRB5_CONFIG'];
      await realm.close();
    }
  }, 60_000);

  it('a redirect without allowRedirection, then with it', async () => {
    lab.behaviours.redirectToHost = '127.0.0.1';
    const d = await run();
    expect(check(d, 'http')).toMatchObject({ status: 'fail', code: 'PSRP_REDIRECT_NOT_ALLOWED' });
    expect(check(d, 'http').fix).toContain('--allow-redirection');
    const allowed = await run({ allowRedirection: true });
    expect(check(allowed, 'http')).toMatchObject({
      status: 'pass',
      detail: expect.stringContaining('redirects to https://127.0.0.1:'),
    });
    expect(check(allowed, 'shell').status).toBe('pass');
  }, 60_000);

  it('too many shells: the quota is explained', async () => {
    lab.behaviours.maxShellsPerUser = 0;
    const d = await run();
    expect(check(d, 'auth').status).toBe('pass');
    expect(check(d, 'shell').status).toBe('fail');
    expect(check(d, 'shell').detail).toContain('maximum number of connections');
    expect(check(d, 'roles').status).toBe('skip');
  }, 30_000);
});

describe('psrp diagnose: certificates', () => {
  it('an expired certificate and one that does not name the host', async () => {
    const expired = await startLab({ certificate: { expired: true } });
    try {
      const d = await diagnose({ uri: expired.exchangeUrl, ca: expired.ca, stepTimeoutMs: 5000 });
      expect(check(d, 'tls')).toMatchObject({ status: 'fail', code: 'PSRP_TLS_EXPIRED' });
    } finally {
      await expired.close();
    }
    const other = await startLab({
      certificate: { commonName: 'cas.contoso.com', dnsNames: ['cas.contoso.com'], loopbackNames: false },
    });
    try {
      const d = await diagnose({ uri: other.exchangeUrl, ca: other.ca, stepTimeoutMs: 5000 });
      expect(check(d, 'tls')).toMatchObject({ status: 'fail', code: 'PSRP_TLS_NAME_MISMATCH' });
      expect(check(d, 'tls').detail).toContain('cas.contoso.com');
    } finally {
      await other.close();
    }
  }, 60_000);
});

describe('psrp diagnose (CLI)', () => {
  it('prints each check with its fix and exits 1 on a failure, 0 when all is well', async () => {
    const io = (): { stdout: PassThrough; stderr: PassThrough; text: () => string } => {
      const stdout = new PassThrough();
      let text = '';
      stdout.on('data', (d: Buffer) => (text += d.toString()));
      return { stdout, stderr: new PassThrough(), text: () => text };
    };
    const bad = io();
    lab.behaviours.badGateway = true;
    expect(
      await runDiagnose([lab.exchangeUrl], {
        ...bad,
        env: { PSRP_USER: 'admin', PSRP_PASSWORD: lab.users['admin']! },
      }),
    ).toBe(1);
    expect(bad.text()).toMatch(/✘ HTTP on the virtual directory\s+\/PowerShell\/ answered 502/);
    expect(bad.text()).toMatch(/\n {2}fix: /);
    expect(bad.text()).not.toContain('\x1b[');
    lab.behaviours.badGateway = false;
    const good = io();
    const caFile = join(mkdtempSync(join(tmpdir(), 'diag-')), 'ca.pem');
    writeFileSync(caFile, lab.ca);
    expect(
      await runDiagnose([lab.exchangeUrl, '--ca', caFile, '--json'], {
        ...good,
        env: { PSRP_USER: 'admin', PSRP_PASSWORD: lab.users['admin']! },
      }),
    ).toBe(0);
    expect((JSON.parse(good.text()) as Diagnosis).checks).toHaveLength(7);
    expect(await runDiagnose([], { ...io(), env: {} })).toBe(2);
  }, 90_000);
});
