// RFC 4120 3.1 (the AS exchange) done by the system's `kinit`, so that the GSSAPI path
// (src/http/kerberos-authenticator.ts) has a ticket-granting ticket to work from.
/**
 * Kerberos with a password: runs the system's `kinit` (MIT krb5-user / krb5-workstation, or
 * Heimdal) with the password on its stdin, into a given credential cache or a fresh private one,
 * and turns its failures into `AuthenticationError`s with stable codes.
 *
 * The `kerberos` binding cannot take a password on Unix: it uses the process's credential cache
 * (KRB5CCNAME). `kinit()` fills such a cache; point KRB5CCNAME at the result before the first
 * Kerberos or Negotiate connection.
 *
 * The password goes to the child's stdin only: never on its command line, in its environment, in
 * an error, a log line or inspect output (kinit's own text is scrubbed of it, just in case).
 */
import { execFile, type ExecFileException } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { AuthenticationError, InvalidArgumentError } from '../errors.js';
import { kerberosError } from './kerberos-errors.js';

export interface KinitOptions {
  /** The client principal, `alice@CONTOSO.COM` (or `alice` for krb5.conf's default realm). */
  readonly principal: string;
  /** Its password (one line; it goes to kinit's stdin). */
  readonly password: string;
  /**
   * The credential cache to fill (`FILE:/path`, `KEYRING:...`, `KCM:...`, or a path). Default: a
   * fresh private `FILE:<tmpdir>/psrp-krb5cc-<random>` (mode 0600), which the caller owns
   * (`kdestroy -c` or delete the file when done); on failure it is removed again.
   */
  readonly ccache?: string;
  /**
   * Variables added to this process's environment for kinit (`KRB5_CONFIG`, `PATH`, ...);
   * `KRB5CCNAME` is always `ccache`, and `LC_ALL` is `C`.
   */
  readonly env?: Readonly<Record<string, string>>;
  /** Kill kinit after this long (default 30 s): `PSRP_KERBEROS_KDC_UNREACHABLE`. */
  readonly timeoutMs?: number;
}

export interface KinitResult {
  /** The credential cache holding the ticket: set `KRB5CCNAME` to it. */
  readonly ccache: string;
}

const DEFAULT_TIMEOUT_MS = 30_000;
const INSTALL_HINT =
  'Install the Kerberos client tools: apt-get install krb5-user (Debian/Ubuntu), dnf install krb5-workstation (RHEL/Fedora), or Heimdal (heimdal-clients); or run kinit yourself and set KRB5CCNAME.';

/** Which kinit a binary is, by `kinit --version` (Heimdal answers; MIT rejects the option). */
const flavours = new Map<string, Promise<'mit' | 'heimdal'>>();

/** Gets a ticket-granting ticket for `principal` with `password` into a credential cache. */
export async function kinit(options: KinitOptions): Promise<KinitResult> {
  const { principal, password } = options;
  if (
    typeof principal !== 'string' ||
    principal === '' ||
    principal.startsWith('-') ||
    /[\s\0]/.test(principal)
  )
    throw new InvalidArgumentError('kinit: principal must be a name such as alice@CONTOSO.COM');
  if (typeof password !== 'string' || password === '' || /[\r\n\0]/.test(password))
    throw new InvalidArgumentError('kinit: password must be a non-empty string of one line');
  if (options.ccache !== undefined && (options.ccache === '' || /[\r\n\0]/.test(options.ccache)))
    throw new InvalidArgumentError('kinit: ccache must be a credential cache name such as FILE:/tmp/krb5cc');
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0)
    throw new InvalidArgumentError('kinit: timeoutMs must be a positive number');

  // English texts, whatever the locale: the error mapping reads them.
  const env: NodeJS.ProcessEnv = { ...process.env, ...options.env, LC_ALL: 'C' };
  const binary = findKinit(env['PATH']);
  if (binary === undefined)
    throw new AuthenticationError('kinit is not installed (not found on PATH)', {
      mechanism: 'kerberos',
      code: 'PSRP_KERBEROS_UNAVAILABLE',
      hint: INSTALL_HINT,
    });

  let ccache = options.ccache;
  let privatePath: string | undefined;
  if (ccache === undefined) {
    privatePath = join(tmpdir(), `psrp-krb5cc-${randomBytes(16).toString('hex')}`);
    // Reserve the name with O_EXCL and mode 0600 before kinit writes the ticket there.
    await (await open(privatePath, 'wx', 0o600)).close();
    ccache = `FILE:${privatePath}`;
  }
  env['KRB5CCNAME'] = ccache;

  try {
    const flavour = await kinitFlavour(binary, env);
    const args = flavour === 'heimdal' ? ['--password-file=STDIN', principal] : [principal];
    const { code, stdout, stderr, timedOut } = await runKinit(binary, args, env, `${password}\n`, timeoutMs);
    if (timedOut)
      throw new AuthenticationError(`kinit for ${principal} did not finish within ${timeoutMs} ms`, {
        mechanism: 'kerberos',
        code: 'PSRP_KERBEROS_KDC_UNREACHABLE',
        hint: 'The KDC did not answer in time: check /etc/krb5.conf (or KRB5_CONFIG), DNS SRV records _kerberos._tcp.<realm>, and that TCP/UDP 88 to a domain controller is open.',
      });
    if (code === 'ENOENT')
      throw new AuthenticationError('kinit is not installed', {
        mechanism: 'kerberos',
        code: 'PSRP_KERBEROS_UNAVAILABLE',
        hint: INSTALL_HINT,
      });
    if (code !== 0) {
      const text = scrub(failureText(stdout, stderr) || `kinit exited with ${String(code)}`, password);
      throw kerberosError(new Error(text), `krbtgt@${realmOf(principal)}`);
    }
    if (privatePath !== undefined) await chmod(privatePath, 0o600);
    return { ccache };
  } catch (err) {
    if (privatePath !== undefined) await rm(privatePath, { force: true });
    throw err;
  }
}

function findKinit(path: string | undefined): string | undefined {
  for (const dir of (path ?? '').split(delimiter)) {
    if (dir !== '' && existsSync(join(dir, 'kinit'))) return join(dir, 'kinit');
  }
  return undefined;
}

function kinitFlavour(binary: string, env: NodeJS.ProcessEnv): Promise<'mit' | 'heimdal'> {
  let known = flavours.get(binary);
  if (known === undefined) {
    known = runKinit(binary, ['--version'], env, '', 5_000).then(({ stdout, stderr }) =>
      /heimdal/i.test(stdout + stderr) ? 'heimdal' : 'mit',
    );
    flavours.set(binary, known);
  }
  return known;
}

interface KinitRun {
  readonly code: number | string | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly timedOut: boolean;
}

function runKinit(
  binary: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  input: string,
  timeoutMs: number,
): Promise<KinitRun> {
  return new Promise((resolve) => {
    const child = execFile(
      binary,
      args,
      { env, timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 1 << 20 },
      (err: ExecFileException | null, stdout, stderr) => {
        resolve({
          code: err === null ? 0 : (err.code ?? null),
          stdout: `${stdout}`,
          stderr: `${stderr}`,
          timedOut: err !== null && err.killed === true && err.signal === 'SIGKILL',
        });
      },
    );
    // kinit may exit before reading stdin (unknown principal): ignore EPIPE.
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(input);
  });
}

/**
 * kinit's complaint: its stderr, plus what MIT prints on stdout about the password (`Password
 * expired.  You must change it now.` comes there, and the error is then only `Cannot read
 * password`), without the prompts.
 */
function failureText(stdout: string, stderr: string): string {
  const notes = stdout
    .split(/\r?\n/)
    .map((l) => l.replace(/^.*(Password for |Enter new password|Enter it again)[^:]*:\s*/i, '').trim())
    .filter((l) => l !== '' && !/^Warning: Your password will expire/i.test(l));
  return [...notes, stderr.trim()].filter((l) => l !== '').join(' ');
}

function scrub(text: string, password: string): string {
  return text.split(password).join('<password>');
}

function realmOf(principal: string): string {
  const at = principal.lastIndexOf('@');
  return at < 0 ? 'default realm' : principal.slice(at + 1);
}
