// kinit(): a password turned into a ticket by the system's MIT kinit against a real throw-away KDC
// (src/lab/test-realm.ts), its failures mapped to typed codes (wrong password, unknown user,
// expired password, clock skew with the KDC under faketime, unreachable KDC, kinit missing), the
// password kept out of argv, environment, errors and inspect output, and the ticket usable by the
// `kerberos` npm binding through KRB5CCNAME.
import { execFile } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { chmod, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuthenticationError, InvalidArgumentError } from '../../src/errors.js';
import { kinit, type KinitOptions } from '../../src/http/kinit.js';
import { kinit as exported } from '../../src/index.js';
import { canConnect, startTestRealm, type TestRealm } from '../../src/lab/test-realm.js';
import { loadKerberos } from '../helpers/kerberos-binding.js';

const ALICE = 'Alic3-Passw0rd!';
const BOB = 'B0b-Preauth-Passw0rd';
const OLD = 'Exp1red-Passw0rd';
const WRONG = 'Wr0ng-Secret-9f3a';

let realm: TestRealm;
let skewed: TestRealm;
let scratch: string;

beforeAll(async () => {
  realm = await startTestRealm({ users: { alice: ALICE, bob: BOB, olduser: OLD } });
  await realm.kadmin('modprinc +requires_preauth bob');
  await realm.kadmin('modprinc -pwexpire "2020-01-01" olduser');
  expect(await realm.kadmin('getprinc olduser')).toMatch(/Password expiration date: .*2020/);
  // A second KDC an hour ahead of this machine (Debian's faketime; scripts/ensure-gss.sh).
  skewed = await startTestRealm({ users: { alice: ALICE }, kdcClockOffset: '+1h' });
  scratch = await mkdtemp(join(tmpdir(), 'psrp-kinit-test-'));
});
afterAll(async () => {
  await realm?.close();
  await skewed?.close();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

const envOf = (r: TestRealm): Record<string, string> => ({ KRB5_CONFIG: r.krb5Config });

function klist(ccache: string, env: Record<string, string>): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile('klist', ['-c', ccache], { env: { ...process.env, ...env } }, (err, stdout, stderr) =>
      err ? reject(new Error(`klist -c ${ccache}: ${stderr}`)) : resolve(stdout),
    ),
  );
}

const privateCaches = async (): Promise<string[]> =>
  (await readdir(tmpdir())).filter((f) => f.startsWith('psrp-krb5cc-'));

/** Runs kinit() expecting an AuthenticationError; checks the password is nowhere in it. */
async function failure(options: KinitOptions): Promise<AuthenticationError> {
  const err = await kinit(options).then(
    async ({ ccache }) => {
      if (options.ccache === undefined) await rm(ccache.slice('FILE:'.length), { force: true });
      return undefined;
    },
    (e: unknown) => e,
  );
  expect(err, 'kinit() should have failed').toBeInstanceOf(AuthenticationError);
  const e = err as AuthenticationError;
  expect(e.mechanism).toBe('kerberos');
  const shown = [
    e.message,
    e.hint ?? '',
    e.stack ?? '',
    String((e.cause as Error | undefined)?.message ?? ''),
    inspect(e, { depth: Infinity, showHidden: true }),
    JSON.stringify(e),
  ].join('\n');
  expect(shown).not.toContain(options.password);
  return e;
}

describe('kinit() against an MIT KDC', () => {
  it('is exported from the package entry point', () => {
    expect(exported).toBe(kinit);
  });

  it('gets a ticket into a fresh private FILE: ccache (mode 0600) that klist shows', async () => {
    const { ccache } = await kinit({ principal: 'alice@PSRP.TEST', password: ALICE, env: envOf(realm) });
    expect(ccache).toMatch(
      new RegExp(`^FILE:${tmpdir().replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/psrp-krb5cc-[0-9a-f]{32}$`),
    );
    const path = ccache.slice('FILE:'.length);
    try {
      expect(statSync(path).mode & 0o777).toBe(0o600);
      const out = await klist(ccache, envOf(realm));
      expect(out).toContain('Default principal: alice@PSRP.TEST');
      expect(out).toContain('krbtgt/PSRP.TEST@PSRP.TEST');
    } finally {
      await rm(path, { force: true });
    }
  });

  it('each call without ccache gets its own cache', async () => {
    const a = await kinit({ principal: 'alice', password: ALICE, env: envOf(realm) });
    const b = await kinit({ principal: 'bob', password: BOB, env: envOf(realm) });
    try {
      expect(a.ccache).not.toBe(b.ccache);
      expect(await klist(a.ccache, envOf(realm))).toContain('Default principal: alice@PSRP.TEST');
      expect(await klist(b.ccache, envOf(realm))).toContain('Default principal: bob@PSRP.TEST');
    } finally {
      for (const c of [a, b]) await rm(c.ccache.slice(5), { force: true });
    }
  });

  it('fills a given ccache (a bare path too)', async () => {
    const path = join(scratch, 'given-cc');
    const { ccache } = await kinit({ principal: 'bob', password: BOB, ccache: path, env: envOf(realm) });
    expect(ccache).toBe(path);
    expect(await klist(`FILE:${path}`, envOf(realm))).toContain('Default principal: bob@PSRP.TEST');
  });

  it('wrong password: PSRP_KERBEROS_BAD_PASSWORD (with and without required pre-authentication); no cache left behind', async () => {
    const before = await privateCaches();
    for (const principal of ['alice@PSRP.TEST', 'bob@PSRP.TEST']) {
      const e = await failure({ principal, password: WRONG, env: envOf(realm) });
      expect(e.code).toBe('PSRP_KERBEROS_BAD_PASSWORD');
      expect(e.message).toMatch(/Password incorrect/);
    }
    expect(await privateCaches()).toEqual(before);
  });

  it('a wrong password leaves a given ccache that already held a ticket alone', async () => {
    const path = join(scratch, 'kept-cc');
    await kinit({ principal: 'alice', password: ALICE, ccache: `FILE:${path}`, env: envOf(realm) });
    const e = await failure({
      principal: 'alice',
      password: WRONG,
      ccache: `FILE:${path}`,
      env: envOf(realm),
    });
    expect(e.code).toBe('PSRP_KERBEROS_BAD_PASSWORD');
    expect(existsSync(path)).toBe(true);
  });

  it('unknown user: PSRP_KERBEROS_UNKNOWN_USER', async () => {
    const e = await failure({ principal: 'mallory@PSRP.TEST', password: WRONG, env: envOf(realm) });
    expect(e.code).toBe('PSRP_KERBEROS_UNKNOWN_USER');
    expect(e.message).toMatch(/Client 'mallory@PSRP.TEST' not found in Kerberos database/);
  });

  it('expired password: PSRP_KERBEROS_PASSWORD_EXPIRED (kinit cannot ask for a new one)', async () => {
    const e = await failure({ principal: 'olduser', password: OLD, env: envOf(realm) });
    expect(e.code).toBe('PSRP_KERBEROS_PASSWORD_EXPIRED');
    expect(e.message).toMatch(/Password expired/);
    expect(e.hint).toMatch(/kpasswd/);
  });

  it('KDC an hour ahead (faketime): PSRP_KERBEROS_CLOCK_SKEW', async () => {
    const e = await failure({ principal: 'alice', password: ALICE, env: envOf(skewed) });
    expect(e.code).toBe('PSRP_KERBEROS_CLOCK_SKEW');
    expect(e.message).toMatch(/Clock skew too great/);
  });

  it('the same KDC is fine for a client whose clock is shifted the same way (the skew is the cause)', async () => {
    const path = join(scratch, 'skewed-cc');
    // faketime around the whole node-spawned kinit: LD_PRELOAD/FAKETIME in its environment.
    const lib = [
      '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1',
      '/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1',
    ].find(existsSync);
    expect(lib, 'libfaketime.so.1 (Debian package faketime; scripts/ensure-gss.sh)').toBeDefined();
    await kinit({
      principal: 'alice',
      password: ALICE,
      ccache: path,
      env: { ...envOf(skewed), LD_PRELOAD: lib!, FAKETIME: '+1h' },
    });
    expect(await klist(`FILE:${path}`, envOf(skewed))).toContain('Default principal: alice@PSRP.TEST');
  });

  it('close() stops a KDC that runs under faketime (krb5kdc is its child, not only faketime)', async () => {
    const r = await startTestRealm({ users: { alice: ALICE }, kdcClockOffset: '-2h' });
    const port = r.kdcPort;
    expect(await canConnect(port)).toBe(true);
    await r.close();
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await canConnect(port), 'krb5kdc still listens after close()').toBe(false);
  });

  it('unreachable KDC: PSRP_KERBEROS_KDC_UNREACHABLE', async () => {
    const conf = join(scratch, 'krb5-closed.conf');
    const text = await readFile(realm.krb5Config, 'utf8');
    // Port 9 on loopback (discard): nothing listens there in the test machine.
    await writeFile(conf, text.replace(`127.0.0.1:${realm.kdcPort}`, '127.0.0.1:9'));
    const e = await failure({ principal: 'alice', password: ALICE, env: { KRB5_CONFIG: conf } });
    expect(e.code).toBe('PSRP_KERBEROS_KDC_UNREACHABLE');
    expect(e.message).toMatch(/Cannot contact any KDC/);
  });

  it('a realm no KDC is configured for: PSRP_KERBEROS_KDC_UNREACHABLE', async () => {
    const e = await failure({ principal: 'alice@NOWHERE.TEST', password: ALICE, env: envOf(realm) });
    expect(e.code).toBe('PSRP_KERBEROS_KDC_UNREACHABLE');
  });
});

describe('the ticket from kinit() serves the kerberos npm binding', () => {
  it('initializeClient("HTTP@localhost").step("") fails without the cache and succeeds with KRB5CCNAME set to it', async () => {
    const kerberos = loadKerberos();
    const saved = { KRB5_CONFIG: process.env['KRB5_CONFIG'], KRB5CCNAME: process.env['KRB5CCNAME'] };
    const { ccache } = await kinit({ principal: 'alice', password: ALICE, env: envOf(realm) });
    try {
      process.env['KRB5_CONFIG'] = realm.krb5Config;
      process.env['KRB5CCNAME'] = `FILE:${join(scratch, 'no-such-cache')}`;
      const client0 = await kerberos.initializeClient('HTTP@localhost', {
        mechOID: kerberos.GSS_MECH_OID_KRB5,
      });
      await expect(client0.step('')).rejects.toThrow();

      process.env['KRB5CCNAME'] = ccache;
      const client = await kerberos.initializeClient('HTTP@localhost', {
        mechOID: kerberos.GSS_MECH_OID_KRB5,
      });
      const token = await client.step('');
      // An AP-REQ in a GSS InitialContextToken (RFC 2743 3.1: 0x60 APPLICATION 0).
      expect(Buffer.from(token, 'base64')[0]).toBe(0x60);
      // The service ticket landed in the same cache.
      expect(await klist(ccache, envOf(realm))).toContain('HTTP/localhost@PSRP.TEST');
    } finally {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
      await rm(ccache.slice(5), { force: true });
    }
  });
});

describe('kinit() without a KDC (stand-in kinit scripts)', () => {
  /** A directory holding an executable `kinit` with the given bash body; returns an env using it. */
  async function fakeKinit(
    name: string,
    body: string,
  ): Promise<{ env: Record<string, string>; dir: string }> {
    const dir = join(scratch, name);
    await import('node:fs/promises').then((fs) => fs.mkdir(dir, { recursive: true }));
    await writeFile(join(dir, 'kinit'), `#!/bin/bash\n${body}\n`);
    await chmod(join(dir, 'kinit'), 0o755);
    return { dir, env: { PATH: `${dir}:/usr/bin:/bin` } };
  }

  it('not installed: PSRP_KERBEROS_UNAVAILABLE naming krb5-user and krb5-workstation', async () => {
    const empty = join(scratch, 'empty-path');
    await import('node:fs/promises').then((fs) => fs.mkdir(empty, { recursive: true }));
    const before = await privateCaches();
    const e = await failure({ principal: 'alice', password: ALICE, env: { PATH: empty } });
    expect(e.code).toBe('PSRP_KERBEROS_UNAVAILABLE');
    expect(e.hint).toMatch(/krb5-user/);
    expect(e.hint).toMatch(/krb5-workstation/);
    expect(await privateCaches()).toEqual(before);
  });

  it('the password reaches kinit on stdin only: not in argv, not in the environment', async () => {
    const { dir, env } = await fakeKinit(
      'spy',
      `[ "$1" = --version ] && { echo "kinit: unrecognized option '--version'" >&2; exit 1; }
printf '%s\\n' "$@" > "$(dirname "$0")/argv"
env > "$(dirname "$0")/environ"
cat /proc/$$/cmdline | tr '\\0' ' ' > "$(dirname "$0")/cmdline"
read -r pw; printf '%s' "$pw" > "$(dirname "$0")/stdin"
echo "$KRB5CCNAME" > "$(dirname "$0")/ccname"`,
    );
    const { ccache } = await kinit({ principal: 'alice@PSRP.TEST', password: ALICE, env });
    await rm(ccache.slice(5), { force: true });
    expect(await readFile(join(dir, 'stdin'), 'utf8')).toBe(ALICE);
    expect(await readFile(join(dir, 'argv'), 'utf8')).toBe('alice@PSRP.TEST\n');
    for (const f of ['argv', 'environ', 'cmdline'])
      expect(await readFile(join(dir, f), 'utf8')).not.toContain(ALICE);
    const environ = await readFile(join(dir, 'environ'), 'utf8');
    expect(environ).toContain('LC_ALL=C');
    expect((await readFile(join(dir, 'ccname'), 'utf8')).trim()).toBe(ccache);
  });

  it('Heimdal (answers --version): kinit --password-file=STDIN <principal>', async () => {
    const { dir, env } = await fakeKinit(
      'heimdal',
      `[ "$1" = --version ] && { echo "kinit (Heimdal 7.8.0)"; exit 0; }
printf '%s\\n' "$@" > "$(dirname "$0")/argv"
read -r pw; printf '%s' "$pw" > "$(dirname "$0")/stdin"`,
    );
    const { ccache } = await kinit({ principal: 'alice@PSRP.TEST', password: ALICE, env });
    await rm(ccache.slice(5), { force: true });
    expect(await readFile(join(dir, 'argv'), 'utf8')).toBe('--password-file=STDIN\nalice@PSRP.TEST\n');
    expect(await readFile(join(dir, 'stdin'), 'utf8')).toBe(ALICE);
  });

  it("Heimdal's texts map too: Preauthentication failed, Client (...) unknown", async () => {
    const pre = await fakeKinit(
      'heimdal-preauth',
      `[ "$1" = --version ] && { echo "kinit (Heimdal 7.8.0)"; exit 0; }
echo "kinit: krb5_get_init_creds: Preauthentication failed" >&2; exit 1`,
    );
    expect((await failure({ principal: 'alice', password: WRONG, env: pre.env })).code).toBe(
      'PSRP_KERBEROS_BAD_PASSWORD',
    );
    const unk = await fakeKinit(
      'heimdal-unknown',
      `[ "$1" = --version ] && { echo "kinit (Heimdal 7.8.0)"; exit 0; }
echo "kinit: krb5_get_init_creds: Client (mallory@PSRP.TEST) unknown" >&2; exit 1`,
    );
    expect((await failure({ principal: 'mallory@PSRP.TEST', password: WRONG, env: unk.env })).code).toBe(
      'PSRP_KERBEROS_UNKNOWN_USER',
    );
  });

  it('a kinit that echoes the password: the error shows <password> instead', async () => {
    const { env } = await fakeKinit(
      'echoer',
      `[ "$1" = --version ] && exit 1
read -r pw; echo "Password for $1: $pw"; echo "kinit: Password incorrect ($pw) while getting initial credentials" >&2; exit 1`,
    );
    const e = await failure({ principal: 'alice', password: WRONG, env });
    expect(e.code).toBe('PSRP_KERBEROS_BAD_PASSWORD');
    expect(e.message).toContain('Password incorrect (<password>)');
  });

  it('a kinit that hangs is killed after timeoutMs: PSRP_KERBEROS_KDC_UNREACHABLE', async () => {
    const { env } = await fakeKinit('hang', `[ "$1" = --version ] && exit 1\nexec sleep 30`);
    const before = await privateCaches();
    const t0 = Date.now();
    const e = await failure({ principal: 'alice', password: ALICE, env, timeoutMs: 500 });
    expect(Date.now() - t0).toBeLessThan(5_000);
    expect(e.code).toBe('PSRP_KERBEROS_KDC_UNREACHABLE');
    expect(e.message).toMatch(/did not finish within 500 ms/);
    expect(await privateCaches()).toEqual(before);
  });

  it('rejects arguments kinit would misread, without echoing the password', async () => {
    for (const options of [
      { principal: '-V', password: ALICE },
      { principal: 'alice bob', password: ALICE },
      { principal: 'alice', password: `${ALICE}\nsecond line` },
      { principal: 'alice', password: '' },
      { principal: 'alice', password: ALICE, timeoutMs: 0 },
    ]) {
      const err = await kinit(options).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(InvalidArgumentError);
      expect(inspect(err, { depth: Infinity })).not.toContain(ALICE);
    }
  });
});
