// RFC 9110 11.6.2 Authorization; RFC 7617 2 (Basic: base64 of `user-id ":" password`).
/**
 * The credentials a transport has sent, and the text that must never show them. A hostile or broken
 * server may echo a request back (a SOAP fault quoting it, an HTML error page, a proxy's text
 * body): every form of each credential — the whole `Authorization` value, its token, the token
 * decoded (Basic's `user:password`), the password alone, and their XML-escaped spellings — is
 * replaced by `[redacted]` in any text an error or a log line is built from.
 */

/** What replaces a secret. */
export const REDACTED = '[redacted]';

/** Secrets shorter than this are not recognisable in text and are not replaced. */
const MIN_SECRET = 4;
/** Most secrets remembered (connection-bound handshakes send a new token per connection). */
const MAX_SECRETS = 256;

function xmlEscaped(s: string): string[] {
  const named = s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  return [named, named.replace(/"/g, '&quot;').replace(/'/g, '&apos;')];
}

/** Every spelling of an Authorization header value (or any other secret) worth looking for. */
function formsOf(value: string): string[] {
  const forms = [value];
  const space = value.indexOf(' ');
  const token = space > 0 ? value.slice(space + 1).trim() : value;
  forms.push(token);
  if (/^[A-Za-z0-9+/]+=*$/.test(token) && token.length % 4 === 0) {
    const decoded = Buffer.from(token, 'base64').toString('utf8');
    // Only text decodes to text: a binary token (NTLM, Kerberos) decodes to nothing useful.
    if (!decoded.includes('\uFFFD') && ![...decoded].some((c) => c.charCodeAt(0) < 0x20 && c !== '\t')) {
      forms.push(decoded);
      const colon = decoded.indexOf(':');
      if (colon >= 0) forms.push(decoded.slice(colon + 1));
    }
  }
  return forms;
}

/** A set of secrets and the redaction of text against them. */
export class SecretRedactor {
  readonly #secrets = new Set<string>();
  #sorted: string[] | undefined;
  /** Values whose every form is in #secrets now: the same header sent again costs a lookup. */
  readonly #added = new Set<string>();

  /** Remembers an Authorization (or Cookie) value sent, with every form of it. */
  add(value: string | undefined): void {
    if (value === undefined || value.length < MIN_SECRET || this.#added.has(value)) return;
    for (const form of formsOf(value)) {
      for (const s of [form, ...xmlEscaped(form)]) {
        if (s.length < MIN_SECRET || this.#secrets.has(s)) continue;
        if (this.#secrets.size >= MAX_SECRETS) {
          this.#secrets.delete(this.#secrets.values().next().value as string);
          // A form of some earlier value may be gone: those values are added in full again.
          this.#added.clear();
        }
        this.#secrets.add(s);
        this.#sorted = undefined;
      }
    }
    this.#added.add(value);
  }

  /** Remembers a bare secret (a password) and its XML-escaped spellings. */
  addPlain(value: string | undefined): void {
    if (value === undefined) return;
    for (const s of [value, ...xmlEscaped(value)]) if (s.length >= MIN_SECRET) this.#secrets.add(s);
    this.#sorted = undefined;
  }

  get size(): number {
    return this.#secrets.size;
  }

  /** `text` with every known secret replaced (longest first, so a token goes before its parts). */
  redact(text: string): string {
    if (this.#secrets.size === 0 || text.length === 0) return text;
    this.#sorted ??= [...this.#secrets].sort((a, b) => b.length - a.length);
    let out = text;
    for (const s of this.#sorted) if (out.includes(s)) out = out.split(s).join(REDACTED);
    return out;
  }

  /** Redacts, in place, every string `err` shows (see {@link scrubError}). Returns the error. */
  scrub<E>(err: E): E {
    return this.#secrets.size === 0 ? err : scrubError(err, (t) => this.redact(t));
  }
}

/**
 * Redacts, in place, every string an error shows: `message`, `stack`, each own string field, and
 * the same on its `cause` chain (a few levels). Returns the error.
 */
export function scrubError<E>(err: E, redact: (text: string) => string, depth = 0): E {
  if (typeof err !== 'object' || err === null || depth > 4) return err;
  const target = err as Record<string, unknown>;
  for (const key of new Set([...Object.getOwnPropertyNames(target), 'message', 'stack'])) {
    const value = target[key];
    if (typeof value !== 'string') continue;
    const clean = redact(value);
    if (clean === value) continue;
    try {
      Object.defineProperty(target, key, {
        value: clean,
        writable: true,
        configurable: true,
        enumerable: Object.prototype.propertyIsEnumerable.call(target, key),
      });
    } catch {
      // A frozen error: nothing more can be done with it.
    }
  }
  scrubError(target['cause'], redact, depth + 1);
  return err;
}
