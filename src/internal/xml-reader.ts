// XML 1.0 (the subset CLIXML uses): a single-pass pull reader over a string.
/**
 * Why not a generic XML parser: CLIXML is order-sensitive (mixed children), needs exact text (no
 * trimming, no entity surprises) and is the hot path our benchmarks measure. This reader scans with
 * indexOf and char codes, never builds a DOM, and is hostile-input safe by construction: a DOCTYPE
 * or entity declaration is refused (no expansion is possible), only the five predefined entities
 * and numeric character references are decoded, and the caller bounds depth and size.
 */
import { ProtocolError } from '../errors.js';

export interface StartTag {
  readonly name: string;
  /** Attributes (raw names such as `N`, `RefId`, `xmlns`), entity-decoded values. */
  readonly attrs: Record<string, string> | undefined;
  /** `<X/>`: no content and no end tag. */
  readonly empty: boolean;
  /** Offset of the `<`. */
  readonly pos: number;
}

/**
 * A start tag read before, kept as its exact text (`<S N="DisplayName">`) so that the same tag at
 * another place is recognised with one comparison instead of being scanned again (see
 * {@link XmlReader.readKnownTag}). Only tags whose attribute values need no decoding are kept, so
 * matching the text is the whole of reading the tag: the text fixes its name, its attributes and
 * whether it is empty, and it was well-formed when first read.
 */
export class KnownTag {
  /**
   * Where the tag's text is known to occur next (see {@link XmlReader.readKnownTag}): it does not
   * start anywhere before this offset. -1 until a search has looked.
   */
  nextAt = -1;

  constructor(
    /** The tag's text, from `<` to `>` inclusive. */
    readonly raw: string,
    readonly name: string,
    readonly empty: boolean,
    /** Per attribute: name start, name end, value start, value end, relative to the `<`. */
    readonly spans: readonly number[],
  ) {}
}

const LT = 0x3c;
const GT = 0x3e;
const SLASH = 0x2f;
const AMP = 0x26;
const EQ = 0x3d;
/** Attributes of one tag beyond which duplicates are found with a Set instead of a scan. */
const DUPLICATE_SCAN_MAX = 16;

/** Size of {@link XmlNames}' attribute-value cache (a power of two). */
const VALUE_CACHE_SIZE = 4096;
/** Longest attribute value the cache keeps. */
const VALUE_CACHE_MAX_LENGTH = 64;
/** Size of {@link XmlNames}' short-text cache (a power of two). */
const TEXT_CACHE_SIZE = 2048;
/**
 * Text shorter than this goes through the short-text cache. V8 copies a slice this short (a longer
 * one is a small view into the source), so a repeated value (`Unlimited`, a server name) found in
 * the cache saves a string that the result would otherwise hold once per occurrence.
 */
const TEXT_CACHE_MAX_LENGTH = 13;

/** Hash of `s[start, end)` for the direct-mapped caches of {@link XmlNames} (`mask`: size - 1). */
function textHash(s: string, start: number, end: number, mask: number): number {
  let h = end - start;
  for (let i = start; i < end; i++) h = (Math.imul(h, 31) + s.charCodeAt(i)) | 0;
  return (h ^ (h >>> 13)) & mask;
}

/** The bucket of a name in {@link XmlNames}: its first character and length (names that share one are told apart by comparing). */
function nameKey(first: number, length: number): number {
  return ((first & 0x7f) << 4) | (length & 15);
}

/**
 * The names a vocabulary uses all the time, and a bounded cache of attribute values seen (member
 * names such as `N="DisplayName"` repeat in every object). Reading a name or a cached value
 * returns one shared string when it matches, so the hot path neither allocates a new string per
 * tag nor re-hashes it when it is used as a property key. Share one instance per vocabulary (the
 * cache is bounded: at most {@link VALUE_CACHE_SIZE} strings of at most
 * {@link VALUE_CACHE_MAX_LENGTH} characters).
 */
export class XmlNames {
  /** Known names by {@link nameKey} (first character and length). */
  private readonly known: (string[] | undefined)[] = [];
  private readonly values: (string | undefined)[] = new Array<string | undefined>(VALUE_CACHE_SIZE);
  private readonly texts: (string | undefined)[] = new Array<string | undefined>(TEXT_CACHE_SIZE);

  constructor(names: Iterable<string> = []) {
    for (const n of names) {
      if (n === '') continue;
      const list = (this.known[nameKey(n.charCodeAt(0), n.length)] ??= []);
      if (!list.includes(n)) list.push(n);
    }
  }

  /** `s.slice(start, end)`, as the shared string when it is a known name. */
  name(s: string, start: number, end: number): string {
    const len = end - start;
    const list = this.known[nameKey(s.charCodeAt(start), len)];
    if (list !== undefined) {
      for (const n of list) if (n.length === len && s.startsWith(n, start)) return n;
    }
    return s.slice(start, end);
  }

  /** `s.slice(start, end)` through the value cache (direct-mapped: a colliding value replaces the old one). */
  value(s: string, start: number, end: number): string {
    const len = end - start;
    if (len > VALUE_CACHE_MAX_LENGTH) return s.slice(start, end);
    const h = textHash(s, start, end, VALUE_CACHE_SIZE - 1);
    const hit = this.values[h];
    if (hit !== undefined && hit.length === len && s.startsWith(hit, start)) return hit;
    // A copy, not a slice: V8 slices of 13 characters or more point into the source, which the
    // shared cache would then keep alive after the document is gone.
    const v = len < 13 ? s.slice(start, end) : s.slice(start, end).split('').join('');
    this.values[h] = v;
    return v;
  }

  /**
   * `s.slice(start, end)` for character data: below {@link TEXT_CACHE_MAX_LENGTH} characters
   * through a cache of its own (direct-mapped, apart from the attribute values so that one-off
   * texts do not push member names out), else the slice itself.
   */
  text(s: string, start: number, end: number): string {
    const len = end - start;
    if (len >= TEXT_CACHE_MAX_LENGTH || len === 0) return s.slice(start, end);
    const h = textHash(s, start, end, TEXT_CACHE_SIZE - 1);
    const hit = this.texts[h];
    if (hit !== undefined && hit.length === len && s.startsWith(hit, start)) return hit;
    const v = s.slice(start, end);
    this.texts[h] = v;
    return v;
  }
}

const NO_NAMES = new XmlNames();

/** Decoded pieces of text joined at once (see {@link XmlReader.decodeEntities}). */
const PIECES_PER_JOIN = 4096;

/** True when `s` holds the same `len` characters at `a` and at `b`. */
function sameText(s: string, a: number, b: number, len: number): boolean {
  for (let i = 0; i < len; i++) if (s.charCodeAt(a + i) !== s.charCodeAt(b + i)) return false;
  return true;
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

/**
 * A pull reader. {@link readStartTag} leaves the tag in the reader's fields ({@link name},
 * {@link empty}, {@link tagPos} and the attributes, read with {@link attr}) instead of allocating
 * an object per element: attributes are kept as offsets into the source and sliced only when
 * asked for. The fields describe the last start tag read, so callers copy what they need before
 * reading on.
 */
export class XmlReader {
  pos = 0;
  /** The last start tag's name. */
  name = '';
  /** The last start tag was `<X/>`: no content and no end tag. */
  empty = false;
  /** Offset of the last start tag's `<`. */
  tagPos = 0;
  /** Number of attributes of the last start tag. */
  attrCount = 0;
  /** Per attribute: name start, name end, value start, value end (offsets into {@link src}). */
  private spans: number[] = [];
  /** Per attribute: the entity-decoded value when the raw value contained `&`, else undefined. */
  private decoded: (string | undefined)[] = [];
  /**
   * Characters that the searches of {@link readKnownTag} past a miss may still cover: four times
   * the document. A document whose tags never repeat as they were (hostile, or just varied)
   * cannot make them quadratic.
   */
  private searchBudget: number;

  constructor(
    readonly src: string,
    private readonly names: XmlNames = NO_NAMES,
  ) {
    if (src.charCodeAt(0) === 0xfeff) this.pos = 1;
    this.searchBudget = 4 * src.length;
  }

  fail(message: string, code = 'PSRP_XML_MALFORMED', pos = this.pos): never {
    throw new ProtocolError(`${message} at offset ${pos}`, { code, offset: pos });
  }

  /** Skips whitespace, comments, processing instructions and the XML declaration; refuses DTDs. */
  skipMisc(): void {
    const s = this.src;
    for (;;) {
      while (this.pos < s.length && isSpace(s.charCodeAt(this.pos))) this.pos++;
      if (s.charCodeAt(this.pos) !== LT) return;
      const n = s.charCodeAt(this.pos + 1);
      if (n === 0x3f /* ? */) {
        const end = s.indexOf('?>', this.pos + 2);
        if (end < 0) this.fail('Unterminated processing instruction');
        this.pos = end + 2;
      } else if (n === 0x21 /* ! */) {
        if (s.startsWith('<!--', this.pos)) {
          const end = s.indexOf('-->', this.pos + 4);
          if (end < 0) this.fail('Unterminated comment');
          this.pos = end + 3;
        } else if (s.startsWith('<![CDATA[', this.pos)) {
          return;
        } else {
          this.fail('DOCTYPE and entity declarations are not allowed in CLIXML', 'PSRP_XML_FORBIDDEN');
        }
      } else {
        return;
      }
    }
  }

  /** True when the next markup (after whitespace/comments) is an end tag or the input ends. */
  atEndTag(): boolean {
    const s = this.src;
    if (s.charCodeAt(this.pos) === LT) {
      // Usually an end tag or a start tag right here: nothing for skipMisc to skip.
      const c = s.charCodeAt(this.pos + 1);
      if (c === SLASH) return true;
      if (c !== 0x21 /* ! */ && c !== 0x3f /* ? */) return false;
    }
    this.skipMisc();
    return (
      this.pos >= this.src.length ||
      (this.src.charCodeAt(this.pos) === LT && this.src.charCodeAt(this.pos + 1) === SLASH)
    );
  }

  /**
   * Reads a start tag at the current position (after skipMisc) into {@link name}, {@link empty},
   * {@link tagPos} and the attributes. Attribute values are checked (quoted, no `<`, valid entity
   * references) but only sliced when read.
   */
  readStartTag(): void {
    const s = this.src;
    const len = s.length;
    const pos = this.pos;
    if (s.charCodeAt(pos) !== LT) this.fail(pos >= len ? 'Unexpected end of input' : 'Expected an element');
    let i = pos + 1;
    while (i < len) {
      const c = s.charCodeAt(i);
      if (c === GT || c === SLASH || isSpace(c)) break;
      i++;
    }
    if (i === pos + 1) this.fail('Expected an element name');
    const name = this.names.name(s, pos + 1, i);
    this.name = name;
    this.tagPos = pos;
    let count = 0;
    const spans = this.spans;
    for (;;) {
      while (i < len && isSpace(s.charCodeAt(i))) i++;
      const c = s.charCodeAt(i);
      if (c === GT) {
        this.pos = i + 1;
        this.empty = false;
        this.attrCount = count;
        return;
      }
      if (c === SLASH) {
        if (s.charCodeAt(i + 1) !== GT) this.fail('Expected "/>"', undefined, i);
        this.pos = i + 2;
        this.empty = true;
        this.attrCount = count;
        return;
      }
      if (i >= len) this.fail(`Unterminated start tag <${name.slice(0, 40)}>`, undefined, pos);
      // XML 1.0 [41] Attribute: Name Eq AttValue, separated from the previous one by whitespace.
      if (count > 0 && !isSpace(s.charCodeAt(i - 1)))
        this.fail('Missing whitespace between attributes', undefined, i);
      let ae = i;
      while (ae < len) {
        const n = s.charCodeAt(ae);
        if (n === EQ || isSpace(n) || n === GT || n === SLASH || n === LT || n === 0x22 || n === 0x27) break;
        ae++;
      }
      if (ae === i) this.fail('Malformed attribute', undefined, i);
      let eq = ae;
      while (eq < len && isSpace(s.charCodeAt(eq))) eq++;
      if (s.charCodeAt(eq) !== EQ) this.fail('Attribute without a value', undefined, i);
      let q = eq + 1;
      while (q < len && isSpace(s.charCodeAt(q))) q++;
      const quote = s.charCodeAt(q);
      if (quote !== 0x22 && quote !== 0x27) this.fail('Attribute value must be quoted', undefined, q);
      // The closing quote, found natively; `<` (refused) and `&` (decoded) through the cached
      // positions of the next of each, so that finding them is linear in the document overall.
      const close = s.indexOf(quote === 0x22 ? '"' : "'", q + 1);
      const lt = this.nextIndex(LT, q + 1);
      if (lt < (close < 0 ? len : close)) this.fail('"<" in attribute value', undefined, q);
      if (close < 0) this.fail('Unterminated attribute value', undefined, q);
      const amp = this.nextIndex(AMP, q + 1) < close;
      const k = count * 4;
      if (count > 0) this.checkDuplicate(i, ae, count);
      spans[k] = i;
      spans[k + 1] = ae;
      spans[k + 2] = q + 1;
      spans[k + 3] = close;
      this.decoded[count] = amp ? this.decodeEntities(s.slice(q + 1, close), q + 1) : undefined;
      count++;
      i = close + 1;
    }
  }

  /**
   * The start tag just read (by {@link readStartTag}: the position must not have moved since) as a
   * {@link KnownTag}, or undefined when an attribute value held an entity reference.
   */
  knownTag(): KnownTag | undefined {
    const n = this.attrCount;
    const at = this.tagPos;
    const spans: number[] = new Array<number>(n * 4);
    for (let a = 0; a < n; a++) {
      if (this.decoded[a] !== undefined) return undefined;
      for (let j = 0; j < 4; j++) spans[a * 4 + j] = this.spans[a * 4 + j]! - at;
    }
    return new KnownTag(this.src.slice(at, this.pos), this.name, this.empty, spans);
  }

  /**
   * When the text at the current position is exactly `tag`'s, reads it as {@link readStartTag}
   * would (the fields then describe it) and returns true; else changes nothing and returns false.
   */
  readKnownTag(tag: KnownTag): boolean {
    const pos = this.pos;
    const raw = tag.raw;
    if (pos < tag.nextAt) return false; // a search from before here found it further on
    // indexOf, not startsWith or a slice compared with ===: V8 finds a match at `pos` natively
    // (startsWith walks the characters one by one: 43 against 28 ns a member tag beyond reading
    // the memory, in a microbenchmark), and, unlike a slice, it leaves no garbage (a slice per
    // member was 20 MB per 29 MB document, two more scavenges). A miss searches on to the next
    // occurrence, which is remembered; the searching a document can cause is bounded by
    // {@link searchBudget}, past which a slice is compared instead.
    if (this.searchBudget > 0) {
      const at = this.src.indexOf(raw, pos);
      if (at !== pos) {
        this.searchBudget -= (at < 0 ? this.src.length : at) - pos;
        tag.nextAt = at < 0 ? Infinity : at;
        return false;
      }
    } else if (this.src.slice(pos, pos + raw.length) !== raw) return false;
    this.name = tag.name;
    this.empty = tag.empty;
    this.tagPos = pos;
    this.pos = pos + raw.length;
    const spans = tag.spans;
    const n = spans.length;
    for (let i = 0; i < n; i++) this.spans[i] = spans[i]! + pos;
    for (let a = 0; a < n >> 2; a++) this.decoded[a] = undefined;
    this.attrCount = n >> 2;
    return true;
  }

  /** Cached answers of {@link nextIndex} for `<` and `&`: searched from, found at (or the length). */
  private ltFrom = -1;
  private ltAt = -1;
  private ampFrom = -1;
  private ampAt = -1;

  /**
   * Offset of the first `<` (`c` = LT) or `&` (AMP) at or after `from`, or the source length. The
   * last answer is kept and reused while `from` lies between where it was searched from and where
   * it was found: the document is scanned about once for each, however many attribute values ask.
   */
  private nextIndex(c: typeof LT | typeof AMP, from: number): number {
    const s = this.src;
    if (c === LT) {
      if (from >= this.ltFrom && from <= this.ltAt) return this.ltAt;
      const at = s.indexOf('<', from);
      this.ltFrom = from;
      this.ltAt = at < 0 ? s.length : at;
      return this.ltAt;
    }
    if (from >= this.ampFrom && from <= this.ampAt) return this.ampAt;
    const at = s.indexOf('&', from);
    this.ampFrom = from;
    this.ampAt = at < 0 ? s.length : at;
    return this.ampAt;
  }

  /** Names of the current tag's attributes, once it has more than {@link DUPLICATE_SCAN_MAX}. */
  private attrNames: Set<string> | undefined;

  /** Refuses a repeated attribute name (XML 1.0 3.1, "Unique Att Spec"): linear in the attributes. */
  private checkDuplicate(start: number, end: number, count: number): void {
    const s = this.src;
    const spans = this.spans;
    const len = end - start;
    if (count <= DUPLICATE_SCAN_MAX) {
      for (let a = 0, k = 0; a < count; a++, k += 4) {
        if (spans[k + 1]! - spans[k]! === len && sameText(s, spans[k]!, start, len)) {
          this.fail(`Duplicate attribute ${s.slice(start, Math.min(end, start + 40))}`, undefined, start);
        }
      }
      if (count < DUPLICATE_SCAN_MAX) return;
      this.attrNames = new Set();
      for (let a = 0, k = 0; a < count; a++, k += 4) this.attrNames.add(s.slice(spans[k], spans[k + 1]));
    }
    const name = s.slice(start, end);
    if (this.attrNames!.has(name)) this.fail(`Duplicate attribute ${name.slice(0, 40)}`, undefined, start);
    this.attrNames!.add(name);
  }

  /** Index of the last start tag's attribute `name` (the last one if repeated), or -1. */
  attrIndex(name: string): number {
    const s = this.src;
    const spans = this.spans;
    const nlen = name.length;
    for (let a = this.attrCount - 1; a >= 0; a--) {
      const k = a * 4;
      if (spans[k + 1]! - spans[k]! === nlen && s.startsWith(name, spans[k])) return a;
    }
    return -1;
  }

  /** The last start tag's attribute `name` (entity-decoded), or undefined. */
  attr(name: string): string | undefined {
    const a = this.attrIndex(name);
    if (a < 0) return undefined;
    return this.decoded[a] ?? this.src.slice(this.spans[a * 4 + 2], this.spans[a * 4 + 3]);
  }

  /** True when the last start tag has attribute `name` with (entity-decoded) value `value`; allocates nothing. */
  attrIs(name: string, value: string): boolean {
    const a = this.attrIndex(name);
    if (a < 0) return false;
    const decoded = this.decoded[a];
    if (decoded !== undefined) return decoded === value;
    const start = this.spans[a * 4 + 2]!;
    return this.spans[a * 4 + 3]! - start === value.length && this.src.startsWith(value, start);
  }

  /** Like {@link attr}, through the shared value cache: for values that repeat, such as member names. */
  attrShared(name: string): string | undefined {
    const a = this.attrIndex(name);
    if (a < 0) return undefined;
    return this.decoded[a] ?? this.names.value(this.src, this.spans[a * 4 + 2]!, this.spans[a * 4 + 3]!);
  }

  /**
   * The last start tag's attribute `name` as a non-negative integer when it is written as a plain
   * decimal (no sign, no leading zero, at most 9 digits); -1 when absent; -2 when present in
   * another form (read it with {@link attr}).
   */
  attrInt(name: string): number {
    const a = this.attrIndex(name);
    if (a < 0) return -1;
    if (this.decoded[a] !== undefined) return -2;
    const s = this.src;
    const start = this.spans[a * 4 + 2]!;
    const end = this.spans[a * 4 + 3]!;
    if (end === start || end - start > 9 || (s.charCodeAt(start) === 0x30 && end - start > 1)) return -2;
    let n = 0;
    for (let i = start; i < end; i++) {
      const d = s.charCodeAt(i) - 0x30;
      if (d < 0 || d > 9) return -2;
      n = n * 10 + d;
    }
    return n;
  }

  /** Reads a start tag at the current position (after skipMisc) as an object. */
  startTag(): StartTag {
    this.readStartTag();
    let attrs: Record<string, string> | undefined;
    for (let a = 0, k = 0; a < this.attrCount; a++, k += 4) {
      const aname = this.names.name(this.src, this.spans[k]!, this.spans[k + 1]!);
      (attrs ??= {})[aname] = this.decoded[a] ?? this.src.slice(this.spans[k + 2], this.spans[k + 3]);
    }
    return { name: this.name, attrs, empty: this.empty, pos: this.tagPos };
  }

  /** Reads character data up to the next `<` (CDATA sections included), entity-decoded. */
  text(): string {
    const s = this.src;
    // Common case: plain character data up to a tag (no CDATA section or comment inside).
    const at = this.pos;
    const first = this.nextIndex(LT, at);
    if (first < s.length && s.charCodeAt(first + 1) !== 0x21 /* ! */) {
      this.pos = first;
      if (this.nextIndex(AMP, at) < first) return this.decodeEntities(s.slice(at, first), at);
      return this.names.text(s, at, first);
    }
    let out = '';
    for (;;) {
      const lt = s.indexOf('<', this.pos);
      if (lt < 0) this.fail('Unexpected end of input in text');
      const raw = s.slice(this.pos, lt);
      out += raw.indexOf('&') >= 0 ? this.decodeEntities(raw, this.pos) : raw;
      this.pos = lt;
      if (s.startsWith('<![CDATA[', lt)) {
        const end = s.indexOf(']]>', lt + 9);
        if (end < 0) this.fail('Unterminated CDATA section');
        out += s.slice(lt + 9, end);
        this.pos = end + 3;
        continue;
      }
      if (s.startsWith('<!--', lt)) {
        const end = s.indexOf('-->', lt + 4);
        if (end < 0) this.fail('Unterminated comment');
        this.pos = end + 3;
        continue;
      }
      return out;
    }
  }

  /**
   * When the character data at the current position is exactly `value` and an end tag follows,
   * consumes the text (not the end tag) and returns true; else changes nothing. Reads `<B>true</B>`
   * without making a string.
   */
  skipText(value: string): boolean {
    const s = this.src;
    const end = this.pos + value.length;
    // A slice compared with ===, which V8 does natively (startsWith walks the characters one by
    // one). Not indexOf as in readKnownTag: these texts mostly differ, and a miss must not search on.
    if (s.charCodeAt(end) !== LT || s.charCodeAt(end + 1) !== SLASH || s.slice(this.pos, end) !== value)
      return false;
    this.pos = end;
    return true;
  }

  /**
   * When the character data at the current position is 1 to `maxDigits` (at most 15) ASCII digits
   * and an end tag follows, consumes them (not the end tag) and returns their value; else changes
   * nothing and returns -1. Reads `<I32>4096</I32>` without making a string.
   */
  textDigits(maxDigits: number): number {
    const s = this.src;
    const start = this.pos;
    let i = start;
    const max = start + Math.min(maxDigits, 15);
    let n = 0;
    for (; i < max; i++) {
      const d = s.charCodeAt(i) - 0x30;
      if (!(d >= 0 && d <= 9)) break; // past the end d is NaN
      n = n * 10 + d;
    }
    if (i === start || s.charCodeAt(i) !== LT || s.charCodeAt(i + 1) !== SLASH) return -1;
    this.pos = i;
    return n;
  }

  /** Consumes `</name>`. */
  endTag(name: string): void {
    const s = this.src;
    // Common case: `</name>` right here.
    const p = this.pos;
    if (
      s.charCodeAt(p) === LT &&
      s.charCodeAt(p + 1) === SLASH &&
      s.charCodeAt(p + 2 + name.length) === GT &&
      s.startsWith(name, p + 2)
    ) {
      this.pos = p + 3 + name.length;
      return;
    }
    this.skipMisc();
    if (s.charCodeAt(this.pos) !== LT || s.charCodeAt(this.pos + 1) !== SLASH) {
      this.fail(this.pos >= s.length ? `Unexpected end of input: missing </${name}>` : `Expected </${name}>`);
    }
    const end = s.indexOf('>', this.pos + 2);
    if (end < 0) this.fail(`Unterminated end tag </${name}>`);
    const got = s.slice(this.pos + 2, end).trim();
    if (got !== name) this.fail(`Mismatched end tag: expected </${name}>, got </${got.slice(0, 40)}>`);
    this.pos = end + 1;
  }

  decodeEntities(raw: string, at: number): string {
    // Pieces are joined every PIECES_PER_JOIN references: `out += piece` for each of millions of
    // references would build a rope of millions of nodes (200 MB of `&amp;` took 1.6 GB that way).
    let pieces: string[] = [];
    let joined: string[] | undefined;
    let last = 0;
    for (let i = raw.indexOf('&'); i >= 0; i = raw.indexOf('&', last)) {
      const semi = raw.indexOf(';', i);
      if (semi < 0 || semi - i > 12) this.fail('Malformed entity reference', 'PSRP_XML_MALFORMED', at + i);
      const ent = raw.slice(i + 1, semi);
      let ch: string;
      if (ent === 'lt') ch = '<';
      else if (ent === 'gt') ch = '>';
      else if (ent === 'amp') ch = '&';
      else if (ent === 'quot') ch = '"';
      else if (ent === 'apos') ch = "'";
      else if (ent.charCodeAt(0) === 0x23 /* # */) {
        const cp = ent[1] === 'x' || ent[1] === 'X' ? parseInt(ent.slice(2), 16) : parseInt(ent.slice(1), 10);
        if (!Number.isFinite(cp) || cp < 0 || cp > 0x10ffff || !/^#(x[0-9a-f]+|\d+)$/i.test(ent)) {
          this.fail(`Invalid character reference &${ent};`, 'PSRP_XML_MALFORMED', at + i);
        }
        ch = String.fromCodePoint(cp);
      } else {
        this.fail(
          `Undeclared entity &${ent.slice(0, 20)}; (entities are not allowed)`,
          'PSRP_XML_FORBIDDEN',
          at + i,
        );
      }
      if (i > last) pieces.push(raw.slice(last, i));
      pieces.push(ch);
      last = semi + 1;
      if (pieces.length >= PIECES_PER_JOIN) {
        (joined ??= []).push(pieces.join(''));
        pieces = [];
      }
    }
    pieces.push(raw.slice(last));
    const tail = pieces.join('');
    if (joined === undefined) return tail;
    joined.push(tail);
    return joined.join('');
  }
}
