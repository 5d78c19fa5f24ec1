/**
 * A throw-away Kerberos realm for the lab and its tests: an MIT KDC on loopback with a realm made
 * in a temp dir (krb5.conf, kdc.conf, `kdb5_util create -s`, principals via `kadmin.local`), a
 * keytab for `HTTP/localhost`, and gss-ntlmssp's user file (NTLM_USER_FILE, `DOMAIN:user:password`
 * lines) for the same users. `kinit` gives a client a FILE: ticket cache. A dev tool: Debian's
 * krb5-kdc, krb5-admin-server, krb5-user and gss-ntlmssp must be installed, and faketime for
 * `kdcClockOffset` (`scripts/ensure-gss.sh`).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { canConnect, freePort } from './loopback-port.js';

export { canConnect };
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { PsrpError } from '../errors.js';

/** The Debian packages the GSS lab needs (named in every "missing" error). */
export const GSS_PACKAGES = 'krb5-kdc krb5-admin-server krb5-user gss-ntlmssp python3-gssapi faketime';

/** gss-ntlmssp's mechanism module, where Debian installs it (registered in /etc/gss/mech.d). */
export const GSS_NTLMSSP_SO = `/usr/lib/${process.arch === 'arm64' ? 'aarch64' : 'x86_64'}-linux-gnu/gssntlmssp/gssntlmssp.so`;

export interface TestRealmOptions {
  /** Realm name. Default `PSRP.TEST`. */
  readonly realm?: string;
  /** NetBIOS domain for NTLM users (gss-ntlmssp's user file). Default `PSRP`. */
  readonly ntlmDomain?: string;
  /** User → password; each gets a principal and an NTLM user line. Default `{ alice: 'Alic3-Passw0rd!' }`. */
  readonly users?: Readonly<Record<string, string>>;
  /** Service principals put into the keytab. Default `['HTTP/localhost']`. */
  readonly services?: readonly string[];
  /**
   * Runs the KDC with its clock shifted (libfaketime's offset syntax, e.g. `+1h`, `-10m`) to provoke
   * "Clock skew too great"; the realm's krb5.conf then also sets `kdc_timesync = 0`, or MIT clients
   * would adopt the KDC's time. Needs Debian's `faketime` (`scripts/ensure-gss.sh`).
   */
  readonly kdcClockOffset?: string;
}

/** The environment a process needs to use the realm as a client (`kinit` result). */
export interface KerberosClientEnv {
  readonly KRB5_CONFIG: string;
  /** `FILE:<dir>/ccache-<user>`. */
  readonly KRB5CCNAME: string;
}

export interface TestRealm {
  readonly realm: string;
  readonly ntlmDomain: string;
  /** The temp dir holding the database, configs, keytab and caches (removed by close). */
  readonly dir: string;
  /** The KDC's TCP (and UDP) port on 127.0.0.1. */
  readonly kdcPort: number;
  readonly krb5Config: string;
  readonly kdcProfile: string;
  /** Keytab with the service principals' keys (the acceptor's KRB5_KTNAME). */
  readonly keytab: string;
  /** gss-ntlmssp's user file (the acceptor's NTLM_USER_FILE). */
  readonly ntlmUserFile: string;
  readonly users: Readonly<Record<string, string>>;
  /** KRB5_CONFIG, KRB5_KTNAME and NTLM_USER_FILE: the env of a GSSAPI acceptor (`LabOptions.gssapi.env`). */
  readonly acceptorEnv: Readonly<Record<string, string>>;
  /** `kinit` the user (password from `users` unless given) into its own FILE: ccache; rejects with kinit's text. */
  kinit(user: string, password?: string): Promise<KerberosClientEnv>;
  /** Runs a `kadmin.local` query (e.g. `addprinc -randkey HTTP/other`); resolves with its output. */
  kadmin(query: string): Promise<string>;
  /** Stops the KDC and removes the dir. */
  close(): Promise<void>;
}

const SBIN = ['/usr/sbin', '/sbin', '/usr/bin', '/bin'];

/** The path of a krb5 tool, or a loud error naming the packages. */
function tool(name: string): string {
  for (const d of [...(process.env['PATH'] ?? '').split(delimiter), ...SBIN]) {
    if (d && existsSync(join(d, name))) return join(d, name);
  }
  throw missing(`${name} is not installed`);
}

function missing(what: string): PsrpError {
  return new PsrpError(
    `The GSS lab cannot start: ${what}. Install the Debian packages ${GSS_PACKAGES} (scripts/ensure-gss.sh does it as root).`,
    { code: 'PSRP_LAB_GSS_FAILED' },
  );
}

function run(file: string, args: readonly string[], env: NodeJS.ProcessEnv, input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(file, args, { env, timeout: 20_000 }, (err, stdout, stderr) => {
      if (err) {
        reject(
          new PsrpError(`${file} ${args.join(' ')} failed: ${`${stderr}`.trim().slice(0, 400)}`, {
            code: 'PSRP_LAB_GSS_FAILED',
            cause: err,
          }),
        );
      } else resolve(`${stdout}`);
    });
    // The tool may exit before it reads stdin (a failing kinit): its EPIPE is not the failure.
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(input ?? '');
  });
}

/**
 * SIGTERM to the KDC. Under faketime, to krb5kdc itself: faketime forks it, waits for it and then
 * removes its shared memory (/dev/shm/faketime_shm_*), but passes no signal on; the whole process
 * group if the child cannot be found.
 */
function stop(kdc: ChildProcess, underFaketime: boolean): void {
  if (underFaketime && kdc.pid !== undefined) {
    let children: number[] = [];
    try {
      children = readFileSync(`/proc/${kdc.pid}/task/${kdc.pid}/children`, 'utf8')
        .split(/\s+/)
        .filter((p) => p !== '')
        .map(Number);
    } catch {
      // no /proc children list: the group below
    }
    try {
      if (children.length > 0) for (const child of children) process.kill(child, 'SIGTERM');
      else process.kill(-kdc.pid, 'SIGTERM');
      return;
    } catch {
      // gone already
    }
  }
  kdc.kill('SIGTERM');
}

/** The realm's krb5.conf: this realm only, its KDC on loopback, no DNS (MIT krb5.conf(5)). */
function krb5ConfText(realm: string, kdcPort: number, clockOffset: boolean): string {
  return [
    '[libdefaults]',
    `  default_realm = ${realm}`,
    '  dns_canonicalize_hostname = false',
    '  rdns = false',
    '  dns_lookup_kdc = false',
    '  dns_lookup_realm = false',
    '  udp_preference_limit = 1',
    '  forwardable = false',
    // MIT clients otherwise adopt the KDC's clock (kdc_timesync, default on) instead of failing.
    ...(clockOffset ? ['  kdc_timesync = 0'] : []),
    '[realms]',
    `  ${realm} = {`,
    `    kdc = 127.0.0.1:${kdcPort}`,
    '  }',
    '[domain_realm]',
    `  localhost = ${realm}`,
    '',
  ].join('\n');
}

/** The KDC's kdc.conf: loopback only, AES keys, the database and log in `dir` (MIT kdc.conf(5)). */
function kdcConfText(realm: string, kdcPort: number, dir: string): string {
  return [
    '[kdcdefaults]',
    `  kdc_listen = 127.0.0.1:${kdcPort}`,
    `  kdc_tcp_listen = 127.0.0.1:${kdcPort}`,
    '[realms]',
    `  ${realm} = {`,
    `    database_name = ${join(dir, 'principal')}`,
    `    key_stash_file = ${join(dir, 'stash')}`,
    `    acl_file = ${join(dir, 'kadm5.acl')}`,
    '    supported_enctypes = aes256-cts-hmac-sha1-96:normal aes128-cts-hmac-sha1-96:normal',
    '  }',
    '[logging]',
    `  kdc = FILE:${join(dir, 'kdc.log')}`,
    '',
  ].join('\n');
}

/** Makes the realm and starts its KDC (`krb5kdc -n`); about a second. */
export async function startTestRealm(options: TestRealmOptions = {}): Promise<TestRealm> {
  const realm = options.realm ?? 'PSRP.TEST';
  const ntlmDomain = options.ntlmDomain ?? 'PSRP';
  const users = options.users ?? { alice: 'Alic3-Passw0rd!' };
  const services = options.services ?? ['HTTP/localhost'];
  const krb5kdc = tool('krb5kdc');
  const kdb5Util = tool('kdb5_util');
  const kadminLocal = tool('kadmin.local');
  const kinitTool = tool('kinit');
  if (!existsSync(GSS_NTLMSSP_SO)) throw missing(`gss-ntlmssp (${GSS_NTLMSSP_SO}) is not installed`);
  const faketime = options.kdcClockOffset === undefined ? undefined : tool('faketime');

  const dir = await mkdtemp(join(tmpdir(), 'psrp-realm-'));
  const kdcPort = await freePort();
  const krb5Config = join(dir, 'krb5.conf');
  const kdcProfile = join(dir, 'kdc.conf');
  const keytab = join(dir, 'http.keytab');
  const ntlmUserFile = join(dir, 'ntlm-users');
  await writeFile(krb5Config, krb5ConfText(realm, kdcPort, options.kdcClockOffset !== undefined));
  await writeFile(kdcProfile, kdcConfText(realm, kdcPort, dir));
  await writeFile(
    ntlmUserFile,
    Object.entries(users)
      .map(([u, p]) => `${ntlmDomain}:${u}:${p}\n`)
      .join(''),
    { mode: 0o600 },
  );
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    KRB5_CONFIG: krb5Config,
    KRB5_KDC_PROFILE: kdcProfile,
  };
  let kdc: ChildProcess | undefined;
  const kadmin = (query: string): Promise<string> =>
    // kadmin.local exits 0 even when a query fails (it complains on stderr): callers check the effect.
    run(kadminLocal, ['-r', realm, '-q', query], env);
  try {
    await run(kdb5Util, ['create', '-s', '-r', realm, '-P', `master-${crypto.randomUUID()}`], env);
    for (const [user, password] of Object.entries(users)) {
      await kadmin(`addprinc -pw "${password.replace(/"/g, '')}" ${user}`);
    }
    for (const s of services) {
      await kadmin(`addprinc -randkey ${s}`);
      await kadmin(`ktadd -k ${keytab} ${s}`);
    }
    if (!existsSync(keytab)) throw missing('kadmin.local made no keytab');
    const kdcArgv = ['-n', '-r', realm];
    kdc =
      faketime === undefined
        ? spawn(krb5kdc, kdcArgv, { env, stdio: ['ignore', 'ignore', 'pipe'] })
        : // faketime forks krb5kdc and passes no signal on (see stop()); its own group as a fallback.
          spawn(faketime, ['-f', options.kdcClockOffset ?? '', krb5kdc, ...kdcArgv], {
            env,
            stdio: ['ignore', 'ignore', 'pipe'],
            detached: true,
          });
    let stderr = '';
    kdc.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
    const deadline = Date.now() + 10_000;
    for (;;) {
      if (kdc.exitCode !== null || kdc.signalCode !== null) {
        const log = await readFile(join(dir, 'kdc.log'), 'utf8').catch(() => '');
        throw new PsrpError(`krb5kdc exited at start: ${(stderr + log).trim().slice(-400)}`, {
          code: 'PSRP_LAB_GSS_FAILED',
        });
      }
      if (await canConnect(kdcPort)) break;
      if (Date.now() > deadline)
        throw new PsrpError('krb5kdc did not listen within 10 s', { code: 'PSRP_LAB_GSS_FAILED' });
      await new Promise((r) => setTimeout(r, 50));
    }
  } catch (e) {
    if (kdc !== undefined) stop(kdc, faketime !== undefined);
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
  const server = kdc;
  // Should the caller never close the realm, the KDC still ends with this process.
  const killOnExit = (): void => {
    server.kill('SIGTERM');
  };
  process.once('exit', killOnExit);
  return {
    realm,
    ntlmDomain,
    dir,
    kdcPort,
    krb5Config,
    kdcProfile,
    keytab,
    ntlmUserFile,
    users,
    acceptorEnv: { KRB5_CONFIG: krb5Config, KRB5_KTNAME: keytab, NTLM_USER_FILE: ntlmUserFile },
    async kinit(user: string, password?: string): Promise<KerberosClientEnv> {
      const ccache = `FILE:${join(dir, `ccache-${user.replace(/[^\w.-]/g, '_')}`)}`;
      const pw = password ?? users[user.replace(/@.*$/, '')];
      if (pw === undefined)
        throw new PsrpError(`kinit ${user}: no password known`, { code: 'PSRP_LAB_GSS_FAILED' });
      await run(
        kinitTool,
        [user.includes('@') ? user : `${user}@${realm}`],
        { ...env, KRB5CCNAME: ccache },
        `${pw}\n`,
      );
      return { KRB5_CONFIG: krb5Config, KRB5CCNAME: ccache };
    },
    kadmin,
    async close(): Promise<void> {
      process.removeListener('exit', killOnExit);
      if (server.exitCode === null && server.signalCode === null) {
        const exited = new Promise((r) => server.once('exit', r));
        stop(server, faketime !== undefined);
        await exited;
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
