/**
 * OpenSSH's known_hosts file (sshd(8) "SSH_KNOWN_HOSTS FILE FORMAT"), read to verify an SSH
 * server's host key as `ssh` does with StrictHostKeyChecking=yes: a line is
 * `[@marker] patterns keytype base64-key [comment]`; patterns are comma-separated host names with
 * `*` and `?` wildcards and `!` negations, `[host]:port` for a port other than 22, or one hashed
 * name `|1|base64(salt)|base64(HMAC-SHA1(salt, name))`. `@revoked` keys are refused for every host;
 * `@cert-authority` lines (host certificates) are not supported and are skipped.
 * Pure: text in, answers out; the caller reads the file.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export interface KnownHostKey {
  /** e.g. `ssh-ed25519`, `ecdsa-sha2-nistp256`, `ssh-rsa`. */
  readonly keyType: string;
  /** The public key blob (the base64 field decoded). */
  readonly key: Uint8Array;
  /** 1-based line in the file, for messages. */
  readonly line: number;
}

export interface KnownHostsEntry extends KnownHostKey {
  readonly marker: 'revoked' | undefined;
  readonly patterns: readonly string[];
}

/** What the file says about a host's key. */
export type HostKeyVerdict =
  | { readonly kind: 'match'; readonly line: number }
  | { readonly kind: 'revoked'; readonly line: number }
  /** The host is known, with other keys (a changed key, or a man in the middle). */
  | { readonly kind: 'mismatch'; readonly known: readonly KnownHostKey[] }
  | { readonly kind: 'unknown' };

/** The name known_hosts stores for a host and port: `host` on port 22, else `[host]:port`. */
export function knownHostsName(host: string, port: number): string {
  const h = host.toLowerCase();
  return port === 22 ? h : `[${h}]:${port}`;
}

function wildcard(pattern: string, name: string): boolean {
  const re = new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
    'i',
  );
  return re.test(name);
}

function hashedMatch(pattern: string, name: string): boolean {
  const parts = pattern.split('|'); // ['', '1', salt, hash]
  if (parts.length !== 4 || parts[1] !== '1') return false;
  const salt = Buffer.from(parts[2]!, 'base64');
  const want = Buffer.from(parts[3]!, 'base64');
  const got = createHmac('sha1', salt).update(name).digest();
  return want.length === got.length && timingSafeEqual(want, got);
}

/** Whether a line's host patterns select `name` (a negated match excludes the line). */
function patternsMatch(patterns: readonly string[], name: string): boolean {
  let matched = false;
  for (const p of patterns) {
    if (p.startsWith('|')) {
      if (hashedMatch(p, name)) matched = true;
    } else if (p.startsWith('!')) {
      if (wildcard(p.slice(1), name)) return false;
    } else if (wildcard(p, name)) {
      matched = true;
    }
  }
  return matched;
}

/** Parses known_hosts text; malformed lines are skipped, as ssh skips them. */
export function parseKnownHosts(text: string): readonly KnownHostsEntry[] {
  const out: KnownHostsEntry[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const fields = lines[i]!.trim().split(/\s+/);
    if (fields[0] === '' || fields[0]!.startsWith('#')) continue;
    let marker: 'revoked' | undefined;
    if (fields[0]!.startsWith('@')) {
      if (fields[0] !== '@revoked') continue; // @cert-authority: host certificates, not supported
      marker = 'revoked';
      fields.shift();
    }
    const [hosts, keyType, b64] = fields;
    if (!hosts || !keyType || !b64 || !/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) continue;
    out.push({
      marker,
      patterns: hosts.split(','),
      keyType,
      key: new Uint8Array(Buffer.from(b64, 'base64')),
      line: i + 1,
    });
  }
  return out;
}

/** The key types the file holds for a host (to offer them first, as ssh does). */
export function knownKeyTypes(entries: readonly KnownHostsEntry[], host: string, port: number): string[] {
  const name = knownHostsName(host, port);
  return [
    ...new Set(entries.filter((e) => !e.marker && patternsMatch(e.patterns, name)).map((e) => e.keyType)),
  ];
}

/** Checks a server's host key blob against the file's entries for `host`:`port`. */
export function verifyHostKey(
  entries: readonly KnownHostsEntry[],
  host: string,
  port: number,
  key: Uint8Array,
): HostKeyVerdict {
  const name = knownHostsName(host, port);
  const same = (e: KnownHostsEntry): boolean => e.key.length === key.length && timingSafeEqual(e.key, key);
  const revoked = entries.find((e) => e.marker === 'revoked' && same(e));
  if (revoked) return { kind: 'revoked', line: revoked.line };
  const forHost = entries.filter((e) => !e.marker && patternsMatch(e.patterns, name));
  const hit = forHost.find(same);
  if (hit) return { kind: 'match', line: hit.line };
  return forHost.length > 0
    ? { kind: 'mismatch', known: forHost.map(({ keyType, key: k, line }) => ({ keyType, key: k, line })) }
    : { kind: 'unknown' };
}
