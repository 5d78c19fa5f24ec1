// MS-PSRP 2.2.5 Serialization (reading): the document and its values; 2.2.5.1 primitives through
// codecs/primitive-codecs.ts, 2.2.5.2 complex objects (object-reader.ts), 2.2.5.3.3 RefId scope.
import { ProtocolError } from '../errors.js';
import { XmlNames, XmlReader } from '../internal/xml-reader.js';
import { ObjectReader } from './object-reader.js';
import { type RefKey, RefTable } from './ref-table.js';
import { type PrimitiveContext, PRIMITIVE_TAGS, parsePrimitive } from './codecs/primitive-codecs.js';
import { invalidClixml } from './codecs/primitive-text.js';
import { PROGRESS_TAGS, readProgressRecord } from './codecs/progress-record.js';
import type { SecureStringCipher } from './codecs/secure-string.js';
import { parseString } from './codecs/strings.js';

/** Limits and behaviour of deserialization. Every limit has a safe default. */
export interface DeserializeOptions {
  /** Deepest element nesting accepted, for every kind of container alike. Default 100. */
  readonly maxDepth?: number;
  /** Longest input in characters. Default 512 Mi. */
  readonly maxInputLength?: number;
  /** Most `<Obj>` elements in one input. Default 10,000,000. */
  readonly maxObjects?: number;
  /** Most type names in one `<TN>`. Default 1,000. */
  readonly maxTypeNames?: number;
  /**
   * Return `PSTypedValue` wrappers for the types a plain JS value cannot tell apart (By, SB, U16,
   * I16, U32, Sg, I64, U64, C, G, URI, Version, XD, SBK), so that serializing the result gives the
   * same XML types back. Default false: those become numbers (bigint beyond 2^53) and strings.
   */
  readonly preserveTypes?: boolean;
  /**
   * Dictionaries (`<DCT>`) whose keys are all strings become plain objects when `'auto'` (the
   * default), or always Maps when `'map'`. Either way `psMeta(value).container` is `'DCT'`.
   */
  readonly dictionaries?: 'auto' | 'map';
  /** Decrypts `<SS>` content with the PSRP session key. Without it a SecureString keeps its ciphertext. */
  readonly secureStringCipher?: SecureStringCipher;
}

/** The element names CLIXML uses, shared by every reader (with its cache of member names). */
const CLIXML_NAMES = new XmlNames([
  ...PRIMITIVE_TAGS,
  'Objs',
  'Obj',
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
  ...PROGRESS_TAGS,
]);

/**
 * One document being read: the reader, the limits, the RefId scope (MS-PSRP 2.2.5.3.3) and the
 * dispatch from an element to its reader. Complex objects are read by an {@link ObjectReader}.
 */
export class Deserializer {
  readonly r: XmlReader;
  /** Values by RefId (the scope is the document). */
  readonly refs = new RefTable();
  /** Objects being read (outermost first): nested `<Obj>` elements finish first, so this is a stack. */
  readonly open: unknown[] = [];
  /** Objects a `<Ref>` reached while they were still open (they must keep their identity). */
  readonly referencedWhileOpen = new Set<unknown>();
  readonly maxDepth: number;
  readonly maxObjects: number;
  readonly maxTypeNames: number;
  readonly dictAuto: boolean;
  private readonly primitives: PrimitiveContext;
  private readonly objects: ObjectReader;

  constructor(xml: string, options: DeserializeOptions) {
    const maxLen = options.maxInputLength ?? 512 * 1024 * 1024;
    if (xml.length > maxLen) {
      throw new ProtocolError(`CLIXML input of ${xml.length} characters exceeds the limit of ${maxLen}`, {
        code: 'PSRP_CLIXML_TOO_LARGE',
      });
    }
    this.r = new XmlReader(xml, CLIXML_NAMES);
    this.maxDepth = options.maxDepth ?? 100;
    this.maxObjects = options.maxObjects ?? 10_000_000;
    this.maxTypeNames = options.maxTypeNames ?? 1000;
    this.dictAuto = (options.dictionaries ?? 'auto') === 'auto';
    this.primitives = { preserve: options.preserveTypes ?? false, cipher: options.secureStringCipher };
    this.objects = new ObjectReader(this);
  }

  /** Refuses nesting deeper than maxDepth: every container (Obj, LST, DCT, MS, Props, En, PR) comes here. */
  checkDepth(depth: number): void {
    if (depth > this.maxDepth) {
      this.r.fail(`CLIXML nesting deeper than ${this.maxDepth}`, 'PSRP_CLIXML_TOO_DEEP', this.r.tagPos);
    }
  }

  /** The current start tag's RefId attribute, or undefined. */
  refKey(): RefKey | undefined {
    const n = this.r.attrInt('RefId');
    return n >= 0 ? n : n === -1 ? undefined : this.r.attr('RefId');
  }

  /** A document: `<Objs>` with values, or one value element. */
  document(): unknown[] {
    const r = this.r;
    this.skipClixmlHeader();
    r.skipMisc();
    r.readStartTag();
    let values: unknown[];
    if (r.name === 'Objs') {
      values = [];
      if (!r.empty) {
        while (!r.atEndTag()) {
          r.readStartTag();
          values.push(this.value(1));
        }
        r.endTag('Objs');
      }
    } else {
      values = [this.value(1)];
    }
    r.skipMisc();
    if (r.pos < r.src.length) r.fail('Unexpected content after the document');
    return values;
  }

  /**
   * Skips the `#< CLIXML` line that `pwsh -OutputFormat xml` (and a remoting host's error stream)
   * writes before the document, after an optional BOM and whitespace.
   */
  private skipClixmlHeader(): void {
    const r = this.r;
    const s = r.src;
    let i = r.pos;
    while (
      i < s.length &&
      (s.charCodeAt(i) === 0x20 ||
        s.charCodeAt(i) === 0x09 ||
        s.charCodeAt(i) === 0x0a ||
        s.charCodeAt(i) === 0x0d)
    )
      i++;
    if (!s.startsWith('#< CLIXML', i)) return;
    i += 9;
    while (s.charCodeAt(i) === 0x20 || s.charCodeAt(i) === 0x09) i++;
    if (i < s.length && s.charCodeAt(i) !== 0x0a && s.charCodeAt(i) !== 0x0d) return;
    r.pos = i;
  }

  /** Reads the text content of the simple element just started and its end tag. */
  content(): string {
    const r = this.r;
    if (r.empty) return '';
    const name = r.name;
    const text = r.text();
    r.endTag(name);
    return text;
  }

  /** Consumes `</name>` and returns `v`. */
  private endOf<T>(name: string, v: T): T {
    this.r.endTag(name);
    return v;
  }

  /** Reads the value element whose start tag was just read. */
  value(depth: number): unknown {
    const r = this.r;
    this.checkDepth(depth);
    const name = r.name;
    switch (name) {
      case 'S':
        // Two elements in three of a typical document: straight to the string codec.
        return parseString(this.content());
      case 'Obj':
        return this.objects.obj(depth);
      case 'Ref':
        return this.ref();
      default:
        if (PRIMITIVE_TAGS.has(name)) return this.primitive(name, depth);
        return invalidClixml(`Unknown CLIXML element`, name, r.tagPos);
    }
  }

  /** Reads the `<Ref>` just started (MS-PSRP 2.2.5.2.1): the value of an earlier RefId. */
  private ref(): unknown {
    const r = this.r;
    const id = this.refKey();
    const v = id === undefined ? undefined : this.refs.get(id);
    if (v === undefined) invalidClixml(`Unknown RefId ${id ?? '(missing)'}`, 'Ref', r.tagPos);
    if (!r.empty) r.endTag('Ref');
    if (this.open.includes(v)) this.referencedWhileOpen.add(v);
    return v;
  }

  /** Reads the primitive element `name` just started (MS-PSRP 2.2.5.1). */
  private primitive(name: string, depth: number): unknown {
    const r = this.r;
    const pos = r.tagPos;
    if (name === 'Nil') {
      // MS-PSRP 2.2.5.1.20 Null value.
      if (!r.empty) this.content();
      return null;
    }
    if (name === 'PR') return readProgressRecord(this, depth);
    if (!r.empty) {
      // The usual forms of the most frequent tags, read in place (no text string): what the codec
      // would return for the same text. Anything else (white space, a sign, entities, more
      // digits) goes to the codec.
      if (name === 'B') {
        if (r.skipText('true')) return this.endOf('B', true);
        if (r.skipText('false')) return this.endOf('B', false);
      } else if (name === 'I32' || ((name === 'I64' || name === 'U64') && !this.primitives.preserve)) {
        // 9 digits always fit an Int32; 15 always fit ±2^53 (I64 and U64 values come back as numbers there).
        const n = r.textDigits(name === 'I32' ? 9 : 15);
        if (n >= 0) return this.endOf(name, n);
      }
    }
    return parsePrimitive(name, this.content(), pos, this.primitives);
  }
}

/**
 * Reads an Export-Clixml document (`<Objs>`, UTF-8 BOM optional) or a single value element, and
 * returns its values.
 *
 * @throws {ProtocolError} `PSRP_XML_MALFORMED`, `PSRP_XML_FORBIDDEN`, `PSRP_CLIXML_INVALID`,
 *   `PSRP_CLIXML_TOO_DEEP`, `PSRP_CLIXML_TOO_LARGE`.
 */
export function deserializeClixml(xml: string, options: DeserializeOptions = {}): unknown[] {
  return new Deserializer(xml, options).document();
}

/**
 * Reads one value element, the form PSRP message data uses (no `<Objs>`, a fresh RefId scope per
 * message, MS-PSRP 2.2.5.3.3).
 */
export function deserializeObject(xml: string, options: DeserializeOptions = {}): unknown {
  const values = new Deserializer(xml, options).document();
  if (values.length !== 1) {
    throw new ProtocolError(`Expected one CLIXML value, found ${values.length}`, {
      code: 'PSRP_CLIXML_INVALID',
    });
  }
  return values[0];
}
