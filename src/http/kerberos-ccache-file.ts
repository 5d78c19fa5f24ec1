// MIT krb5 credential cache names (KRB5CCNAME: `FILE:path`, a bare path, `DIR:dir` with its
// `primary` file, `DIR::path`; libdefaults `default_ccache_name`, default `FILE:/tmp/krb5cc_%{uid}`).
/**
 * The I/O half of reading a service ticket's session key: finds the credential cache the way MIT
 * does for the current process (KRB5CCNAME, else `default_ccache_name` from KRB5_CONFIG or
 * /etc/krb5.conf, else `/tmp/krb5cc_<uid>`), reads the file and hands the bytes to the sans-IO
 * parser (src/auth/ccache.ts). Only file-based caches (FILE:, DIR:) can be read; KEYRING:, KCM:,
 * MEMORY: and API: caches throw `PSRP_KERBEROS_TICKET_NOT_FOUND` with a hint.
 */
import { readFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { findServiceCredentials, parseCcache } from '../auth/ccache.js';
import type { Krb5Key } from '../auth/krb5-crypto.js';
import { AuthenticationError } from '../errors.js';

/** The environment variables that name the cache (`process.env` by default). */
export interface CcacheEnv {
  readonly KRB5CCNAME?: string | undefined;
  readonly KRB5_CONFIG?: string | undefined;
}
type Env = CcacheEnv;

const notFound = (message: string, hint?: string, cause?: unknown): AuthenticationError =>
  new AuthenticationError(message, {
    mechanism: 'kerberos',
    code: 'PSRP_KERBEROS_TICKET_NOT_FOUND',
    ...(hint ? { hint } : {}),
    ...(cause === undefined ? {} : { cause }),
  });

const FILE_HINT =
  'psrp reads the service ticket from a file credential cache: set KRB5CCNAME=FILE:/path (or DIR:/path) before kinit, or use https://';

/** The process's uid, for `/tmp/krb5cc_<uid>` (0 where there is none). */
function uid(): number {
  return typeof process.getuid === 'function' ? process.getuid() : 0;
}

function expand(name: string): string {
  return name
    .replace(/%\{uid\}/g, String(uid()))
    .replace(/%\{euid\}/g, String(typeof process.geteuid === 'function' ? process.geteuid() : uid()))
    .replace(/%\{TEMP\}/g, '/tmp');
}

/** `default_ccache_name` from the [libdefaults] of the profile files (KRB5_CONFIG, colon-separated). */
function defaultCcacheName(env: Env): string | undefined {
  for (const file of (env.KRB5_CONFIG ?? '/etc/krb5.conf').split(':')) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    let section = '';
    for (const raw of text.split(/\r?\n/)) {
      const line = raw.trim();
      const s = /^\[(\w+)\]/.exec(line);
      if (s) section = s[1]!;
      else if (section === 'libdefaults') {
        const m = /^default_ccache_name\s*=\s*(\S+)/.exec(line);
        if (m) return m[1];
      }
    }
  }
  return undefined;
}

/**
 * The credential cache the process uses, as `{ type, residual }` (`FILE` + path, `DIR` + dir,
 * or another type psrp cannot read).
 */
export function ccacheName(env: Env = process.env): { type: string; residual: string } {
  const name = expand(env.KRB5CCNAME || defaultCcacheName(env) || `FILE:/tmp/krb5cc_${uid()}`);
  const m = /^([A-Za-z]+):(.*)$/.exec(name);
  return m ? { type: m[1]!.toUpperCase(), residual: m[2]! } : { type: 'FILE', residual: name };
}

/** The file holding the cache: FILE's path, a `DIR::path`, or the file `DIR:dir/primary` names. */
async function ccacheFile(env: Env): Promise<string> {
  const { type, residual } = ccacheName(env);
  if (type === 'FILE') return residual;
  if (type === 'DIR') {
    if (residual.startsWith(':')) return residual.slice(1);
    let primary: string;
    try {
      primary = (await readFile(join(residual, 'primary'), 'utf8')).trim();
    } catch (e) {
      throw notFound(`the DIR: credential cache ${residual} has no readable "primary" file`, 'run kinit', e);
    }
    return join(residual, primary || 'tkt');
  }
  throw notFound(`a ${type}: credential cache cannot be read by psrp`, FILE_HINT);
}

/**
 * The session keys of the unexpired service tickets for `servicePrincipal` (`HTTP/host@REALM`,
 * `HTTP/host`, or GSS's `HTTP@host`) in the process's credential cache, newest first: what
 * `kerberosSealer({ sessionKey })` takes (it uses the one that decrypts the AP-REQ). Call it after
 * the first GSSAPI step, which put the ticket there. Throws `AuthenticationError`
 * `PSRP_KERBEROS_TICKET_NOT_FOUND` (no cache, unreadable cache type, no such ticket) or
 * `ProtocolError` `PSRP_KERBEROS_CCACHE_INVALID`.
 */
export async function readServiceTicketKeys(
  servicePrincipal: string,
  env: Env = process.env,
): Promise<Krb5Key[]> {
  const file = await ccacheFile(env);
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (e) {
    throw notFound(
      `the credential cache ${file} cannot be read (${(e as NodeJS.ErrnoException).code ?? 'error'})`,
      'run kinit',
      e,
    );
  }
  const creds = findServiceCredentials(parseCcache(bytes), servicePrincipal, Math.floor(Date.now() / 1000));
  if (creds.length === 0)
    throw notFound(
      `no unexpired ticket for ${servicePrincipal} in the credential cache ${file}`,
      'the GSSAPI library keeps its service tickets in this cache after the first step; check KRB5CCNAME and klist',
    );
  return creds.map((c) => c.key);
}

/** The newest of {@link readServiceTicketKeys}. */
export async function readServiceTicketKey(
  servicePrincipal: string,
  env: Env = process.env,
): Promise<Krb5Key> {
  return (await readServiceTicketKeys(servicePrincipal, env))[0]!;
}
