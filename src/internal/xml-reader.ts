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

const LT = 0x3c;
const GT = 0x3e;
const SLASH = 0x2f;

/**
 * Element and attribute names CLIXML and WS-Man use all the time, by first character. Reading a
 * name returns one of these shared strings when it matches, so the hot path neither allocates a new
 * string per tag nor re-hashes it when it is used as a key.
 */
const KNOWN_NAMES: (string[] | undefined)[] = [];
for (const n of [
  'Obj',
  'Objs',
  'Ref',
  'TN',
  'TNRef',
  'T',
  'ToString',
  'Props',
  'MS',
  'LST',
  'IE',
  'STK',
  'QUE',
  'DCT',
  'En',
  'S',
  'C',
  'B',
  'DT',
  'TS',
  'By',
  'SB',
  'U16',
  'I16',
  'U32',
  'I32',
  'U64',
  'I64',
  'Sg',
  'Db',
  'D',
  'BA',
  'G',
  'URI',
  'Nil',
  'Version',
  'XD',
  'SBK',
  'SS',
  'PR',
  'N',
  'RefId',
  'Version',
  'xmlns',
]) {
  const list = (KNOWN_NAMES[n.charCodeAt(0)] ??= []);
  if (!list.includes(n)) list.push(n);
}

/** `s.slice(start, end)`, as a shared string when it is a known name. */
function nameAt(s: string, start: number, end: number): string {
  const list = KNOWN_NAMES[s.charCodeAt(start)];
  if (list !== undefined) {
    const len = end - start;
    for (const n of list) if (n.length === len && s.startsWith(n, start)) return n;
  }
  return s.slice(start, end);
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

export class XmlReader {
  pos = 0;
  constructor(readonly src: string) {
    if (src.charCodeAt(0) === 0xfeff) this.pos = 1;
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
    this.skipMisc();
    return (
      this.pos >= this.src.length ||
      (this.src.charCodeAt(this.pos) === LT && this.src.charCodeAt(this.pos + 1) === SLASH)
    );
  }

  /** Reads a start tag at the current position (after skipMisc). */
  startTag(): StartTag {
    const s = this.src;
    const pos = this.pos;
    if (s.charCodeAt(pos) !== LT)
      this.fail(pos >= s.length ? 'Unexpected end of input' : 'Expected an element');
    let i = pos + 1;
    while (i < s.length) {
      const c = s.charCodeAt(i);
      if (isSpace(c) || c === GT || c === SLASH) break;
      i++;
    }
    const name = nameAt(s, pos + 1, i);
    if (name === '' || name.charCodeAt(0) === SLASH) this.fail('Expected an element name');
    let attrs: Record<string, string> | undefined;
    for (;;) {
      while (i < s.length && isSpace(s.charCodeAt(i))) i++;
      const c = s.charCodeAt(i);
      if (c === GT) {
        this.pos = i + 1;
        return { name, attrs, empty: false, pos };
      }
      if (c === SLASH) {
        if (s.charCodeAt(i + 1) !== GT) this.fail('Expected "/>"', undefined, i);
        this.pos = i + 2;
        return { name, attrs, empty: true, pos };
      }
      if (i >= s.length) this.fail(`Unterminated start tag <${name.slice(0, 40)}>`, undefined, pos);
      const eq = s.indexOf('=', i);
      if (eq < 0) this.fail('Malformed attribute', undefined, i);
      let ae = eq;
      while (ae > i && isSpace(s.charCodeAt(ae - 1))) ae--;
      const aname = nameAt(s, i, ae);
      let q = eq + 1;
      while (q < s.length && isSpace(s.charCodeAt(q))) q++;
      const quote = s.charCodeAt(q);
      if (quote !== 0x22 && quote !== 0x27) this.fail('Attribute value must be quoted', undefined, q);
      const close = s.indexOf(quote === 0x22 ? '"' : "'", q + 1);
      if (close < 0) this.fail('Unterminated attribute value', undefined, q);
      const raw = s.slice(q + 1, close);
      if (raw.indexOf('<') >= 0) this.fail('"<" in attribute value', undefined, q);
      (attrs ??= {})[aname] = raw.indexOf('&') >= 0 ? this.decodeEntities(raw, q + 1) : raw;
      i = close + 1;
    }
  }

  /** Reads character data up to the next `<` (CDATA sections included), entity-decoded. */
  text(): string {
    const s = this.src;
    // Common case: plain character data up to a tag (no CDATA section or comment inside).
    const first = s.indexOf('<', this.pos);
    if (first >= 0 && s.charCodeAt(first + 1) !== 0x21 /* ! */) {
      const raw = s.slice(this.pos, first);
      const at = this.pos;
      this.pos = first;
      return raw.indexOf('&') >= 0 ? this.decodeEntities(raw, at) : raw;
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

  /** Skips a whole element (used for unknown elements in tolerant places). */
  skipElement(tag: StartTag, maxDepth: number): void {
    if (tag.empty) return;
    let depth = 1;
    while (depth > 0) {
      this.skipMisc();
      if (this.pos >= this.src.length) this.fail(`Unexpected end of input in <${tag.name}>`);
      if (this.src.charCodeAt(this.pos) === LT && this.src.charCodeAt(this.pos + 1) === SLASH) {
        const end = this.src.indexOf('>', this.pos);
        if (end < 0) this.fail('Unterminated end tag');
        this.pos = end + 1;
        depth--;
      } else if (this.src.charCodeAt(this.pos) === LT && !this.src.startsWith('<![CDATA[', this.pos)) {
        const t = this.startTag();
        if (!t.empty && ++depth > maxDepth) this.fail('Nesting too deep', 'PSRP_CLIXML_TOO_DEEP');
      } else {
        this.text();
      }
    }
  }

  decodeEntities(raw: string, at: number): string {
    let out = '';
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
      out += raw.slice(last, i) + ch;
      last = semi + 1;
    }
    return out + raw.slice(last);
  }
}
