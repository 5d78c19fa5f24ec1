// MIT krb5 "Credential cache file format" (doc/formats/ccache_file_format.rst): the FILE ccache,
// versions 3 and 4 (big-endian), as MIT 1.x writes it.
/**
 * Reads an MIT FILE credential cache, sans-IO (bytes in, credentials out), so a GSS context's
 * service-ticket session key can be found (src/auth/kerberos-sealing.ts needs it to decrypt the
 * Authenticator and AP-REP). Malformed input throws `ProtocolError` `PSRP_KERBEROS_CCACHE_INVALID`.
 *
 *   file       = 05 0v | header (v4 only: uint16 length, then tag/length/value fields)
 *                | principal (the default client) | credential*
 *   principal  = uint32 name_type | uint32 count | data realm | data component * count
 *   credential = principal client | principal server | keyblock | uint32 authtime, starttime, endtime,
 *                renew_till | uint8 is_skey | uint32 ticket_flags | uint32 count, address* |
 *                uint32 count, authdata* | data ticket | data second_ticket
 *   keyblock   = uint16 enctype (twice in version 3) | data key
 *   address    = uint16 type | data;  authdata = uint16 type | data;  data = uint32 length | bytes
 *
 * MIT also stores configuration entries (server realm `X-CACHECONF:`), and may store a service
 * ticket under the referral realm (`""`) it asked for as well as, or instead of, the real one.
 */
import { ProtocolError } from '../errors.js';
import { krb5Key, type Krb5Key } from './krb5-crypto.js';

export interface CcachePrincipal {
  readonly nameType: number;
  readonly realm: string;
  readonly components: readonly string[];
}

export interface CcacheCredential {
  readonly client: CcachePrincipal;
  readonly server: CcachePrincipal;
  readonly key: Krb5Key;
  /** Seconds since the epoch (uint32, as stored). */
  readonly authTime: number;
  readonly startTime: number;
  readonly endTime: number;
  readonly renewTill: number;
  readonly isSkey: boolean;
  readonly ticketFlags: number;
  readonly ticket: Uint8Array;
}

export interface Ccache {
  readonly version: 3 | 4;
  readonly defaultPrincipal: CcachePrincipal;
  /** In file order (MIT appends: later entries are newer). Configuration entries are left out. */
  readonly credentials: readonly CcacheCredential[];
}

const MAX_COUNT = 1024;

/** `principal` as `a/b@REALM`. */
export function principalToString(p: CcachePrincipal): string {
  return `${p.components.join('/')}@${p.realm}`;
}

class Cursor {
  #pos = 0;
  readonly #v: DataView;
  constructor(readonly bytes: Uint8Array) {
    this.#v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  get atEnd(): boolean {
    return this.#pos >= this.bytes.length;
  }
  fail(what: string): never {
    throw new ProtocolError(`Kerberos credential cache: ${what} (at byte ${this.#pos})`, {
      code: 'PSRP_KERBEROS_CCACHE_INVALID',
    });
  }
  #need(n: number, what: string): void {
    if (this.bytes.length - this.#pos < n) this.fail(`truncated ${what}`);
  }
  u8(what: string): number {
    this.#need(1, what);
    return this.#v.getUint8(this.#pos++);
  }
  u16(what: string): number {
    this.#need(2, what);
    const n = this.#v.getUint16(this.#pos);
    this.#pos += 2;
    return n;
  }
  u32(what: string): number {
    this.#need(4, what);
    const n = this.#v.getUint32(this.#pos);
    this.#pos += 4;
    return n;
  }
  take(n: number, what: string): Uint8Array {
    this.#need(n, what);
    const b = this.bytes.subarray(this.#pos, this.#pos + n);
    this.#pos += n;
    return b;
  }
  data(what: string): Uint8Array {
    return this.take(this.u32(`${what} length`), what);
  }
  count(what: string): number {
    const n = this.u32(what);
    if (n > MAX_COUNT) this.fail(`${what} of ${n}`);
    return n;
  }
}

function principal(c: Cursor, what: string): CcachePrincipal {
  const nameType = c.u32(`${what} name type`);
  const n = c.count(`${what} component count`);
  const text = (w: string): string => Buffer.from(c.data(w)).toString('utf8');
  const realm = text(`${what} realm`);
  const components: string[] = [];
  for (let i = 0; i < n; i++) components.push(text(`${what} component`));
  return { nameType, realm, components };
}

/** Parses a FILE ccache (version 3 or 4); configuration entries are skipped. */
export function parseCcache(bytes: Uint8Array): Ccache {
  const c = new Cursor(bytes);
  if (c.u8('file format') !== 5) c.fail('not a credential cache (first byte is not 5)');
  const raw = c.u8('version');
  if (raw !== 3 && raw !== 4)
    c.fail(`file format version ${raw} is not supported (only 3 and 4, big-endian)`);
  const version = raw === 3 ? 3 : 4;
  if (version === 4) c.take(c.u16('header length'), 'header'); // only DeltaTime is defined; not needed
  const defaultPrincipal = principal(c, 'default principal');
  const credentials: CcacheCredential[] = [];
  while (!c.atEnd) {
    const client = principal(c, 'client');
    const server = principal(c, 'server');
    const enctype = c.u16('key enctype');
    if (version === 3) c.u16('key enctype (repeated)');
    const key = Uint8Array.from(c.data('key'));
    const authTime = c.u32('authtime');
    const startTime = c.u32('starttime');
    const endTime = c.u32('endtime');
    const renewTill = c.u32('renew_till');
    const isSkey = c.u8('is_skey') !== 0;
    const ticketFlags = c.u32('ticket flags');
    for (let i = c.count('address count'); i > 0; i--) {
      c.u16('address type');
      c.data('address');
    }
    for (let i = c.count('authdata count'); i > 0; i--) {
      c.u16('authdata type');
      c.data('authdata');
    }
    const ticket = c.data('ticket');
    c.data('second ticket');
    if (server.realm === 'X-CACHECONF:') continue;
    credentials.push({
      client,
      server,
      key: krb5Key(enctype, key),
      authTime,
      startTime,
      endTime,
      renewTill,
      isSkey,
      ticketFlags,
      ticket,
    });
  }
  return { version, defaultPrincipal, credentials };
}

/**
 * A service principal to look for: `HTTP/host@REALM`, `HTTP/host` (any realm), or the GSS
 * host-based form `HTTP@host` (any realm).
 */
export function parseServicePrincipal(name: string): { components: string[]; realm?: string } {
  if (!name.includes('/')) {
    const at = name.indexOf('@');
    if (at > 0 && at < name.length - 1) return { components: [name.slice(0, at), name.slice(at + 1)] };
    return { components: [name] };
  }
  const at = name.lastIndexOf('@');
  return at > 0
    ? { components: name.slice(0, at).split('/'), realm: name.slice(at + 1) }
    : { components: name.split('/') };
}

/**
 * The credentials for `servicePrincipal` (see {@link parseServicePrincipal}), newest first: name
 * components compared without regard to case, the realm equal (or MIT's referral realm `""`) when
 * one is given. Expired entries (endtime before `nowSeconds`) are left out when `nowSeconds` is given.
 */
export function findServiceCredentials(
  cache: Ccache,
  servicePrincipal: string,
  nowSeconds?: number,
): CcacheCredential[] {
  const want = parseServicePrincipal(servicePrincipal);
  const lc = (s: string): string => s.toLowerCase();
  return cache.credentials
    .filter(
      (cred) =>
        cred.server.components.length === want.components.length &&
        cred.server.components.every((c, i) => lc(c) === lc(want.components[i]!)) &&
        (want.realm === undefined || cred.server.realm === '' || lc(cred.server.realm) === lc(want.realm)) &&
        (nowSeconds === undefined || cred.endTime === 0 || cred.endTime >= nowSeconds),
    )
    .reverse();
}
