// MS-PSRP 2.2.5 Serialization (reading): 2.2.5.1 primitives, 2.2.5.2 complex objects,
// 2.2.5.3.3 RefId scope.
import { ProtocolError } from '../errors.js';
import { type ContainerKind, type PSObjectMeta, defineData, setMeta } from './ps-object.js';
import { decodeClixmlString } from './string-escape.js';
import {
  PSDateTime,
  PSDecimal,
  PSDuration,
  PSEnumValue,
  PSSecureString,
  PSTypedValue,
  type SecureStringCipher,
} from './values.js';
import { XmlNames, XmlReader } from '../internal/xml-reader.js';
import { decodeBase64 } from '../internal/base64.js';
import { MAX_NUMBER_LITERAL, isDecimalText, isIntegerText, trimXmlSpace } from './number-text.js';

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

/** `<PR>` children (MS-PSRP 2.2.5.1.25) and PowerShell's property names for them. */
const PROGRESS_NAMES: Record<string, string> = {
  AV: 'Activity',
  AI: 'ActivityId',
  PI: 'ParentActivityId',
  PC: 'PercentComplete',
  T: 'RecordType',
  SR: 'SecondsRemaining',
  SD: 'StatusDescription',
};
const PROGRESS_NUMERIC = new Set(['AI', 'PI', 'PC', 'SR']);

const PRIMITIVE_TAGS = new Set([
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
]);

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
  ...Object.keys(PROGRESS_NAMES),
]);

// The regular expressions below only ever see text of at most MAX_DATE_LITERAL characters, and
// none of them can backtrack more than linearly.
/** Longest `<DT>`/`<TS>` text accepted after trimming (PowerShell writes at most 33 characters). */
const MAX_DATE_LITERAL = 256;
const DT_RE = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?)?(Z|[+-]\d{2}:\d{2})?$/;
const DURATION_RE =
  /^(-)?P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)(?:\.(\d+))?S)?)?$/;
const I64_MIN = -(2n ** 63n);
const I64_END = 2n ** 63n;
const U64_END = 2n ** 64n;

/** .NET Decimal.MaxValue: the largest integer part `<D>` may have. */
const DECIMAL_MAX = '79228162514264337593543950335';
/** .NET TimeSpan range in ticks. */
const TIMESPAN_MAX = 2n ** 63n - 1n;
const TIMESPAN_MIN = -(2n ** 63n);
/** .NET DateTime.MinValue and MaxValue (to the millisecond) in epoch milliseconds. */
const DATETIME_MIN_MS = -62135596800000;
const DATETIME_MAX_MS = 253402300799999;
const DAYS_IN_MONTH = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** True when the decimal text (checked by isDecimalText) is within .NET Decimal's range. */
function decimalInRange(t: string): boolean {
  let i = t.charCodeAt(0) === 0x2b || t.charCodeAt(0) === 0x2d ? 1 : 0;
  while (t.charCodeAt(i) === 0x30) i++;
  let end = t.indexOf('.', i);
  if (end < 0) end = t.length;
  const digits = end - i;
  if (digits !== DECIMAL_MAX.length) return digits < DECIMAL_MAX.length;
  return t.slice(i, end) <= DECIMAL_MAX;
}

const RANGES: Record<string, [number, number]> = {
  By: [0, 255],
  SB: [-128, 127],
  U16: [0, 65535],
  I16: [-32768, 32767],
  U32: [0, 4294967295],
  I32: [-2147483648, 2147483647],
};

/** The member names of an object read without a shape, and how often shapes of its type missed. */
interface ShapeCandidate {
  readonly adapted: readonly string[];
  readonly extended: readonly string[];
  readonly misses: number;
}

/** Shapes given up after this many objects of the type did not match. */
const MAX_SHAPE_MISSES = 8;

/**
 * The member layout shared by objects of one type (PowerShell writes every object of a type with
 * the same members in the same order, such as 10,000 mailboxes). An object read with a shape
 * starts as a copy of a template holding every member (JSON.parse of a fixed text, which V8 builds
 * as a compact fast-mode object; adding 60 members one by one makes a much larger dictionary-mode
 * object) and its members are filled in place; its name lists are the shape's, shared (they are
 * frozen). An object that turns out different falls back to generic reading (see `leaveShape`),
 * so the result is the same either way.
 */
class Shape {
  misses = 0;
  private constructor(
    readonly names: readonly string[],
    readonly adaptedCount: number,
    readonly adapted: readonly string[],
    readonly extended: readonly string[],
    readonly json: string,
  ) {}

  /** A shape for objects with these members, or null when a shape would not help or not be safe. */
  static create(adapted: readonly string[], extended: readonly string[]): Shape | null {
    const names = [...adapted, ...extended];
    // Small objects stay compact anyway; special keys keep going through defineData.
    if (names.length < 12 || names.length > 1000) return null;
    // Names are matched against the raw attribute text, which equals the name only without escapes.
    if (names.some((n) => n === '__proto__' || n === 'constructor' || n === 'prototype' || /_x/i.test(n))) {
      return null;
    }
    const json = `{${names.map((n) => `${JSON.stringify(n)}:null`).join(',')}}`;
    return new Shape(
      Object.freeze(names),
      adapted.length,
      Object.freeze([...adapted]),
      Object.freeze([...extended]),
      json,
    );
  }
}

/** A RefId: a number when written as a plain decimal (the usual case), else the string. */
type RefKey = number | string;

class Deserializer {
  private readonly r: XmlReader;
  private readonly refs = new Map<RefKey, unknown>();
  private readonly typeNames = new Map<RefKey, readonly string[]>();
  /** Objects being read (outermost first): nested `<Obj>` elements finish first, so this is a stack. */
  private readonly open: unknown[] = [];
  private readonly referencedWhileOpen = new Set<unknown>();
  /**
   * Per type-name list (the array a `<TN>` made and its `<TNRef>`s return): the member names of
   * the first object read, then the {@link Shape} made from them, or null when objects of that type
   * keep differing.
   */
  private readonly shapes = new Map<readonly string[], ShapeCandidate | Shape | null>();
  private objects = 0;
  private readonly maxDepth: number;
  private readonly maxObjects: number;
  private readonly maxTypeNames: number;
  /** The type-name lists that name an enum (checked once per `<TN>`, not once per object). */
  private readonly enumTypeNames = new Set<readonly string[]>();
  private readonly preserve: boolean;
  private readonly dictAuto: boolean;

  constructor(
    xml: string,
    private readonly options: DeserializeOptions,
  ) {
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
    this.preserve = options.preserveTypes ?? false;
    this.dictAuto = (options.dictionaries ?? 'auto') === 'auto';
  }

  /** Throws PSRP_CLIXML_INVALID about element `name` at offset `pos`. */
  private invalid(message: string, name?: string, pos = 0): never {
    throw new ProtocolError(`${message}${name !== undefined ? ` (<${name}> at offset ${pos})` : ''}`, {
      code: 'PSRP_CLIXML_INVALID',
      ...(name !== undefined ? { offset: pos, element: name } : {}),
    });
  }

  /** Refuses nesting deeper than maxDepth: every container (Obj, LST, DCT, MS, Props, En, PR) comes here. */
  private checkDepth(depth: number): void {
    if (depth > this.maxDepth) {
      this.r.fail(`CLIXML nesting deeper than ${this.maxDepth}`, 'PSRP_CLIXML_TOO_DEEP', this.r.tagPos);
    }
  }

  /** A number literal's text without XML whitespace, refused beyond MAX_NUMBER_LITERAL characters. */
  private literal(text: string, name: string, pos: number, max = MAX_NUMBER_LITERAL): string {
    const t = trimXmlSpace(text);
    if (t.length > max) {
      throw new ProtocolError(
        `<${name}> literal of ${t.length} characters exceeds the limit of ${max} (<${name}> at offset ${pos})`,
        {
          code: 'PSRP_CLIXML_TOO_LARGE',
          offset: pos,
          element: name,
        },
      );
    }
    return t;
  }

  /** The current start tag's RefId attribute, or undefined. */
  private refKey(): RefKey | undefined {
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
  private content(): string {
    const r = this.r;
    if (r.empty) return '';
    const name = r.name;
    const text = r.text();
    r.endTag(name);
    return text;
  }

  /** Reads the value element whose start tag was just read. */
  value(depth: number): unknown {
    const r = this.r;
    this.checkDepth(depth);
    const name = r.name;
    switch (name) {
      case 'Obj':
        return this.obj(depth);
      case 'Ref': {
        const id = this.refKey();
        const v = id === undefined ? undefined : this.refs.get(id);
        if (v === undefined) this.invalid(`Unknown RefId ${id ?? '(missing)'}`, name, r.tagPos);
        if (!r.empty) r.endTag('Ref');
        if (this.open.includes(v)) this.referencedWhileOpen.add(v);
        return v;
      }
      default:
        if (PRIMITIVE_TAGS.has(name)) return this.primitive(name, depth);
        return this.invalid(`Unknown CLIXML element`, name, r.tagPos);
    }
  }

  private primitive(name: string, depth: number): unknown {
    const r = this.r;
    const pos = r.tagPos;
    if (name === 'Nil') {
      if (!r.empty) this.content();
      return null;
    }
    if (name === 'PR') return this.progressRecord(depth);
    const text = this.content();
    switch (name) {
      case 'S':
        return decodeClixmlString(text);
      case 'B': {
        // XmlConvert.ToBoolean: trimmed `true`/`1`, `false`/`0`.
        const t = this.literal(text, name, pos);
        if (t === 'true' || t === '1') return true;
        if (t === 'false' || t === '0') return false;
        return this.invalid(`Invalid boolean "${t.slice(0, 20)}"`, name, pos);
      }
      case 'I32':
      case 'By':
      case 'SB':
      case 'U16':
      case 'I16':
      case 'U32': {
        const t = this.literal(text, name, pos);
        if (!isIntegerText(t)) this.invalid(`Invalid integer "${t.slice(0, 30)}"`, name, pos);
        const n = Number(t);
        const [lo, hi] = RANGES[name]!;
        if (n < lo || n > hi) this.invalid(`Integer ${t.slice(0, 30)} out of range for ${name}`, name, pos);
        const v = n === 0 ? 0 : n; // never -0
        return this.preserve && name !== 'I32' ? new PSTypedValue(name, v) : v;
      }
      case 'I64':
      case 'U64': {
        const t = this.literal(text, name, pos);
        if (!isIntegerText(t)) this.invalid(`Invalid integer "${t.slice(0, 30)}"`, name, pos);
        if (!this.preserve && t.length <= 15) {
          // At most 15 characters: within ±2^53, exact as a number and in range for both types unless negative.
          const n = Number(t);
          if (name === 'I64' || n >= 0) return n === 0 ? 0 : n; // never -0
        }
        const b = BigInt(t);
        if (name === 'I64' ? b < I64_MIN || b >= I64_END : b < 0n || b >= U64_END) {
          this.invalid(`Integer ${t.slice(0, 30)} out of range for ${name}`, name, pos);
        }
        if (this.preserve) return new PSTypedValue(name, b);
        return b >= -9007199254740991n && b <= 9007199254740991n ? Number(b) : b;
      }
      case 'Db':
      case 'Sg': {
        // XmlConvert.ToDouble/ToSingle: INF, -INF, then .NET's float syntax (NaN, ±Infinity too);
        // out of range is ±Infinity, as in .NET Core 3.0 and later.
        const t = this.literal(text, name, pos);
        let n =
          t === 'NaN'
            ? NaN
            : t === 'INF' || t === 'Infinity'
              ? Infinity
              : t === '-INF' || t === '-Infinity'
                ? -Infinity
                : isDecimalText(t, true)
                  ? Number(t)
                  : undefined;
        if (n === undefined)
          return this.invalid(`Invalid floating-point number "${t.slice(0, 30)}"`, name, pos);
        if (name === 'Sg') {
          // A Single overflows to ±Infinity and underflows to 0 where a Double does not.
          const f = Math.fround(n);
          if (f === 0 || !Number.isFinite(f)) n = f;
          return this.preserve ? new PSTypedValue('Sg', n) : n;
        }
        return n;
      }
      case 'D': {
        // XmlConvert.ToDecimal: sign, digits, decimal point; no exponent; at most Decimal.MaxValue.
        const t = this.literal(text, name, pos);
        if (!isDecimalText(t, false)) return this.invalid(`Invalid decimal "${t.slice(0, 30)}"`, name, pos);
        if (!decimalInRange(t)) return this.invalid(`Decimal ${t.slice(0, 40)} out of range`, name, pos);
        return new PSDecimal(t);
      }
      case 'C': {
        const t = this.literal(text, name, pos);
        // XmlConvert.ToUInt16-like: digits only, no sign.
        if (!isIntegerText(t) || t.charCodeAt(0) < 0x30)
          this.invalid(`Invalid char "${t.slice(0, 20)}"`, name, pos);
        const code = Number(t);
        if (code > 0xffff) this.invalid(`Char ${t.slice(0, 20)} out of range`, name, pos);
        const ch = String.fromCharCode(code);
        return this.preserve ? new PSTypedValue('C', ch) : ch;
      }
      case 'DT':
        return this.dateTime(this.literal(text, name, pos, MAX_DATE_LITERAL), pos);
      case 'TS':
        return this.duration(this.literal(text, name, pos, MAX_DATE_LITERAL), pos);
      case 'BA': {
        const bytes = decodeBase64(text, 'reencode');
        if (bytes === undefined) return this.invalid('Invalid base64', name, pos);
        return bytes;
      }
      case 'SS': {
        const cipherBytes = decodeBase64(text, 'reencode');
        if (cipherBytes === undefined) return this.invalid('Invalid base64 in SecureString', name, pos);
        const cipher = this.options.secureStringCipher;
        if (!cipher) return PSSecureString.fromCiphertext(cipherBytes);
        return PSSecureString.fromPlainText(Buffer.from(cipher.decrypt(cipherBytes)).toString('utf16le'));
      }
      case 'G':
      case 'URI':
      case 'Version':
      case 'XD':
      case 'SBK': {
        const v = name === 'G' || name === 'Version' ? text.trim() : decodeClixmlString(text);
        return this.preserve ? new PSTypedValue(name, v) : v;
      }
    }
    return this.invalid('Unknown primitive', name, pos);
  }

  /**
   * `<DT>` as XmlConvert.ToDateTime (RoundtripKind) reads it: a real calendar date (years 1-9999),
   * time fields in range, fractions beyond 100 ns rounded; offsets are applied as given (PowerShell
   * accepts any two-digit hours and minutes there).
   */
  private dateTime(text: string, pos: number): PSDateTime {
    const m = DT_RE.exec(text);
    if (!m) return this.invalid(`Invalid date/time "${text.slice(0, 40)}"`, 'DT', pos);
    const [, y, mo, d, h = '0', mi = '0', s = '0', frac = '', zone] = m;
    const year = Number(y);
    const month = Number(mo);
    const day = Number(d);
    const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
    if (
      year < 1 ||
      month < 1 ||
      month > 12 ||
      day < 1 ||
      day > DAYS_IN_MONTH[month - 1]! ||
      (month === 2 && day === 29 && !leap) ||
      Number(h) > 23 ||
      Number(mi) > 59 ||
      Number(s) > 59
    ) {
      return this.invalid(`Invalid date/time "${text.slice(0, 40)}"`, 'DT', pos);
    }
    // 100 ns ticks of the fraction, rounded half up at the eighth digit as .NET does.
    let ticks = Number((frac + '0000000').slice(0, 7));
    if (frac.charCodeAt(7) >= 0x35 /* 5 */) ticks++;
    const ms = Math.floor(ticks / 10_000);
    const sub = ticks % 10_000;
    let epoch = Date.UTC(year, month - 1, day, Number(h), Number(mi), Number(s), ms);
    if (year < 100) {
      // Date.UTC maps years 0-99 to 1900-1999; fix the year explicitly.
      const fix = new Date(Date.UTC(2000, month - 1, day, Number(h), Number(mi), Number(s), ms));
      fix.setUTCFullYear(year);
      epoch = fix.getTime();
    }
    let kind: 'utc' | 'offset' | 'unspecified' = 'unspecified';
    let subTicks = sub;
    if (zone === 'Z') kind = 'utc';
    else if (zone !== undefined) {
      kind = 'offset';
      const sign = zone[0] === '-' ? -1 : 1;
      epoch -= sign * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4, 6))) * 60_000;
      // Like .NET, an offset that moves the time out of DateTime's range clamps it to the range.
      if (epoch < DATETIME_MIN_MS) {
        epoch = DATETIME_MIN_MS;
        subTicks = 0;
      } else if (epoch > DATETIME_MAX_MS) {
        epoch = DATETIME_MAX_MS;
        subTicks = 9999;
      }
    }
    if (!Number.isFinite(epoch))
      return this.invalid(`Date/time out of range "${text.slice(0, 40)}"`, 'DT', pos);
    return new PSDateTime(epoch, text, subTicks, kind);
  }

  /** `<TS>` as XmlConvert.ToTimeSpan reads it: Y = 365 days, M = 30 days, within TimeSpan's range. */
  private duration(text: string, pos: number): PSDuration {
    const m = DURATION_RE.exec(text);
    if (!m || text === 'P' || text === '-P' || text.endsWith('T'))
      return this.invalid(`Invalid duration "${text.slice(0, 40)}"`, 'TS', pos);
    const [, neg, y, mo, d, h, mi, s, frac] = m;
    const days = BigInt(y ?? 0) * 365n + BigInt(mo ?? 0) * 30n + BigInt(d ?? 0);
    let ticks =
      ((days * 24n + BigInt(h ?? 0)) * 60n + BigInt(mi ?? 0)) * 600_000_000n +
      BigInt(s ?? 0) * 10_000_000n +
      BigInt(((frac ?? '') + '0000000').slice(0, 7));
    if (neg) ticks = -ticks;
    if (ticks > TIMESPAN_MAX || ticks < TIMESPAN_MIN)
      return this.invalid(`Duration out of range "${text.slice(0, 40)}"`, 'TS', pos);
    return new PSDuration(ticks);
  }

  /**
   * `<PR>` (MS-PSRP 2.2.5.1.25 Progress Record): children AV (activity), AI (activity id), a `<Nil/>`
   * or `<S>` (current operation), PI (parent id), PC (percent), T (record type), SR (seconds
   * remaining), SD (status description) → a plain object with PowerShell's property names.
   */
  private progressRecord(depth: number): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    const r = this.r;
    if (r.empty) return out;
    this.checkDepth(depth + 1);
    const name = r.name;
    while (!r.atEndTag()) {
      r.readStartTag();
      const child = r.name;
      const key = Object.hasOwn(PROGRESS_NAMES, child) ? PROGRESS_NAMES[child] : undefined;
      if (key === undefined) {
        defineData(out, 'CurrentOperation', this.value(depth + 1));
        continue;
      }
      const pos = r.tagPos;
      const text = decodeClixmlString(this.content());
      if (PROGRESS_NUMERIC.has(child)) {
        const t = this.literal(text, child, pos);
        if (!isIntegerText(t)) this.invalid(`Invalid integer "${t.slice(0, 20)}"`, child, pos);
        out[key] = Number(t);
      } else {
        out[key] = text;
      }
    }
    r.endTag(name);
    return out;
  }

  /** Reads the `<Obj>` whose start tag was just read. */
  private obj(depth: number): unknown {
    const r = this.r;
    if (++this.objects > this.maxObjects) {
      r.fail(`More than ${this.maxObjects} objects`, 'PSRP_CLIXML_TOO_LARGE', r.tagPos);
    }
    const refId = this.refKey();
    const openMark = this.open.length;
    let typeNames: readonly string[] = [];
    let toString: string | undefined;
    let baseValue: unknown;
    let hasBase = false;
    let container: ContainerKind | undefined;
    let target: unknown[] | Map<unknown, unknown> | Record<string, unknown> | undefined;
    let containerProps: Record<string, unknown> | undefined;
    const adapted: string[] = [];
    const extended: string[] = [];
    let shape: Shape | undefined;
    /** Members matched so far against `shape`, or -1 (see {@link members}). */
    let k = -1;

    if (!r.empty) {
      while (!r.atEndTag()) {
        r.readStartTag();
        const child = r.name;
        switch (child) {
          case 'TN': {
            const names: string[] = [];
            const id = this.refKey();
            if (!r.empty) {
              while (!r.atEndTag()) {
                r.readStartTag();
                if (r.name !== 'T') this.invalid('Expected <T> in <TN>', r.name, r.tagPos);
                if (names.length >= this.maxTypeNames) {
                  r.fail(
                    `More than ${this.maxTypeNames} type names in one <TN>`,
                    'PSRP_CLIXML_TOO_LARGE',
                    r.tagPos,
                  );
                }
                const t = decodeClixmlString(this.content());
                names.push(t);
                if (t === 'System.Enum' || t === 'Deserialized.System.Enum') this.enumTypeNames.add(names);
              }
              r.endTag('TN');
            }
            if (id !== undefined) this.typeNames.set(id, names);
            typeNames = names;
            break;
          }
          case 'TNRef': {
            const id = this.refKey();
            const names = id === undefined ? undefined : this.typeNames.get(id);
            if (names === undefined)
              this.invalid(`Unknown TNRef RefId ${id ?? '(missing)'}`, child, r.tagPos);
            if (!r.empty) r.endTag('TNRef');
            typeNames = names;
            break;
          }
          case 'ToString':
            toString = decodeClixmlString(this.content());
            break;
          case 'LST':
          case 'IE':
          case 'STK':
          case 'QUE': {
            if (container !== undefined) this.invalid('Two containers in one <Obj>', child, r.tagPos);
            container = child;
            this.checkDepth(depth + 1);
            const arr: unknown[] = [];
            target = arr;
            this.register(refId, arr);
            if (!r.empty) {
              while (!r.atEndTag()) {
                r.readStartTag();
                arr.push(this.value(depth + 2));
              }
              r.endTag(child);
            }
            break;
          }
          case 'DCT': {
            if (container !== undefined) this.invalid('Two containers in one <Obj>', child, r.tagPos);
            container = 'DCT';
            this.checkDepth(depth + 1);
            const map = new Map<unknown, unknown>();
            target = map;
            this.register(refId, map);
            if (!r.empty) {
              while (!r.atEndTag()) {
                r.readStartTag();
                this.entry(map, depth + 2);
              }
              r.endTag('DCT');
            }
            break;
          }
          case 'Props':
          case 'MS': {
            if (Array.isArray(target) || target instanceof Map) {
              this.members(
                (containerProps ??= {}),
                adapted,
                extended,
                child === 'Props',
                depth + 1,
                undefined,
                -1,
              );
              break;
            }
            if (target === undefined) {
              shape = this.shapeFor(typeNames);
              if (shape !== undefined) {
                target = JSON.parse(shape.json) as Record<string, unknown>;
                k = 0;
              } else {
                target = {};
              }
              this.register(refId, target);
            }
            k = this.members(target, adapted, extended, child === 'Props', depth + 1, shape, k);
            break;
          }
          default:
            if (PRIMITIVE_TAGS.has(child) || child === 'Ref' || child === 'Obj') {
              if (hasBase) this.invalid('Two base values in one <Obj>', child, r.tagPos);
              baseValue = this.value(depth + 1);
              hasBase = true;
            } else {
              this.invalid('Unknown element in <Obj>', child, r.tagPos);
            }
        }
      }
      r.endTag('Obj');
    }

    // An enum: TN includes System.Enum and the base is an integer.
    if (
      hasBase &&
      container === undefined &&
      typeof baseValue === 'number' &&
      this.enumTypeNames.has(typeNames)
    ) {
      const e = new PSEnumValue(baseValue, toString ?? String(baseValue), typeNames);
      if (refId !== undefined) this.refs.set(refId, e);
      return e;
    }
    // A wrapped primitive with no members: the primitive itself.
    if (hasBase && target === undefined) {
      if (refId !== undefined) this.refs.set(refId, baseValue);
      return baseValue;
    }
    if (target === undefined) {
      target = {};
      if (refId !== undefined) this.refs.set(refId, target);
    }
    let adaptedNames: readonly string[] = adapted;
    let extendedNames: readonly string[] = extended;
    if (shape !== undefined && k >= 0) {
      if (k === shape.names.length) {
        // Exactly the shape: share its name lists.
        adaptedNames = shape.adapted;
        extendedNames = shape.extended;
      } else {
        this.leaveShape(target as Record<string, unknown>, shape, k, adapted, extended);
      }
    }
    if (container === undefined && typeNames.length > 0) {
      this.learnShape(
        typeNames,
        shape !== undefined && k !== shape.names.length ? shape : undefined,
        adapted,
        extended,
      );
    }
    let result: unknown = target;
    if (
      container === 'DCT' &&
      this.dictAuto &&
      target instanceof Map &&
      !this.referencedWhileOpen.has(target)
    ) {
      let allStrings = true;
      for (const k of target.keys()) {
        if (typeof k !== 'string') {
          allStrings = false;
          break;
        }
      }
      if (allStrings) {
        const obj: Record<string, unknown> = {};
        for (const [k, v] of target) defineData(obj, k as string, v);
        result = obj;
        if (refId !== undefined) this.refs.set(refId, obj);
      }
    }
    this.open.length = openMark;
    const meta: { -readonly [K in keyof PSObjectMeta]: PSObjectMeta[K] } = {
      typeNames,
      toStringValue: toString,
      adapted: adaptedNames,
      extended: extendedNames,
      container,
    };
    if (hasBase) meta.baseValue = baseValue;
    if (containerProps) meta.properties = containerProps;
    // PowerShell exposes an object's members over its base (a deserialized PSObject's Properties):
    // a container's <Props>/<MS> (an XmlElement's attributes, a note on a list), and the members
    // of an object-valued base. They become readable properties here too (`x.Value`), without
    // shadowing what is already there; on a container they are non-enumerable, so it stays a clean
    // array/Map for Object.keys, spread, JSON and equality.
    if (containerProps) exposeMembers(result as object, containerProps, false);
    if (hasBase && baseValue !== null && typeof baseValue === 'object' && Object.getPrototypeOf(baseValue) === Object.prototype) {
      exposeMembers(result as object, baseValue as Record<string, unknown>, true);
    }
    return setMeta(result as object, meta);
  }

  /**
   * The shape objects of these type names have been seen to take, once two have been read: the
   * first one's member names are only remembered (a single object, such as a PSRP message, does not
   * pay for a shape).
   */
  private shapeFor(typeNames: readonly string[]): Shape | undefined {
    const known = this.shapes.get(typeNames);
    if (known === undefined || known === null || known instanceof Shape) return known ?? undefined;
    const shape = Shape.create(known.adapted, known.extended);
    if (shape !== null) shape.misses = known.misses;
    this.shapes.set(typeNames, shape);
    return shape ?? undefined;
  }

  /**
   * Remembers the member names of an object of these type names (see {@link shapeFor}); `missed`
   * is the shape it was read with when it did not match.
   */
  private learnShape(
    typeNames: readonly string[],
    missed: Shape | undefined,
    adapted: readonly string[],
    extended: readonly string[],
  ): void {
    const known = this.shapes.get(typeNames);
    if (known === undefined) this.shapes.set(typeNames, { adapted, extended, misses: 0 });
    else if (missed !== undefined && known === missed) {
      // Objects of this type differ: follow the latest for a while, then stop using shapes for it.
      const misses = missed.misses;
      this.shapes.set(typeNames, misses < MAX_SHAPE_MISSES ? { adapted, extended, misses } : null);
    }
  }

  /** Makes an object being read reachable by RefId (its members may refer back to it). */
  private register(refId: RefKey | undefined, v: object): void {
    if (refId !== undefined) this.refs.set(refId, v);
    this.open.push(v);
  }

  /**
   * Reads the members of the `<Props>` (`isProps`) or `<MS>` whose start tag was just read into
   * `bag`, recording new names in `adapted` or `extended`. While `k >= 0`, `bag` was made from
   * `shape` and the members are expected in its order: the k-th matching member fills the k-th
   * property. The first member that does not match ends that (see {@link leaveShape}). Returns the
   * new k, or -1 once reading is generic.
   */
  private members(
    bag: Record<string, unknown>,
    adapted: string[],
    extended: string[],
    isProps: boolean,
    depth: number,
    shape: Shape | undefined,
    k: number,
  ): number {
    const r = this.r;
    if (r.empty) return k;
    this.checkDepth(depth);
    const tagName = r.name;
    const names = isProps ? adapted : extended;
    while (!r.atEndTag()) {
      r.readStartTag();
      let name: string;
      // The expected member (the shape's names have no `_x` escapes): compared in place.
      if (k >= 0 && k < shape!.names.length && r.attrIs('N', shape!.names[k]!)) name = shape!.names[k]!;
      else {
        const rawName = r.attrShared('N');
        if (rawName === undefined) this.invalid('Member without a name (N)', r.name, r.tagPos);
        name = decodeClixmlString(rawName);
      }
      let v: unknown;
      if (r.name === 'MS' || r.name === 'Props') {
        // A nested property set.
        const inner: Record<string, unknown> = {};
        const innerNames: string[] = [];
        this.members(inner, [], innerNames, false, depth + 1, undefined, -1);
        v = setMeta(inner, {
          typeNames: [],
          toStringValue: undefined,
          adapted: [],
          extended: innerNames,
          container: undefined,
        });
      } else {
        v = this.value(depth + 1);
      }
      if (k >= 0) {
        const expected = shape!.names;
        if (k < expected.length && expected[k] === name && k < shape!.adaptedCount === isProps) {
          bag[expected[k]!] = v;
          k++;
          continue;
        }
        this.leaveShape(bag, shape!, k, adapted, extended);
        k = -1;
      }
      if (!Object.hasOwn(bag, name)) names.push(name);
      defineData(bag, name, v);
    }
    r.endTag(tagName);
    return k;
  }

  /**
   * Turns an object made from `shape` whose first `k` members matched into what generic reading
   * would have made: the names so far into `adapted`/`extended`, the properties not read removed
   * (last first).
   */
  private leaveShape(
    bag: Record<string, unknown>,
    shape: Shape,
    k: number,
    adapted: string[],
    extended: string[],
  ): void {
    const names = shape.names;
    const split = Math.min(k, shape.adaptedCount);
    for (let i = 0; i < split; i++) adapted.push(names[i]!);
    for (let i = shape.adaptedCount; i < k; i++) extended.push(names[i]!);
    for (let i = names.length - 1; i >= k; i--) delete bag[names[i]!];
    shape.misses++;
  }

  /** Reads the dictionary entry whose start tag was just read into `map`. */
  private entry(map: Map<unknown, unknown>, depth: number): void {
    const r = this.r;
    const pos = r.tagPos;
    if (r.name !== 'En') this.invalid('Expected <En> in <DCT>', r.name, pos);
    this.checkDepth(depth);
    let key: unknown;
    let value: unknown = null;
    let hasKey = false;
    if (!r.empty) {
      while (!r.atEndTag()) {
        r.readStartTag();
        const n = r.attrShared('N');
        const name = r.name;
        const childPos = r.tagPos;
        const v = this.value(depth + 1);
        if (n === 'Key') {
          key = v;
          hasKey = true;
        } else if (n === 'Value') value = v;
        else this.invalid('Dictionary entry member must be Key or Value', name, childPos);
      }
      r.endTag('En');
    }
    if (!hasKey) this.invalid('Dictionary entry without a Key', 'En', pos);
    map.set(key, value);
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

/** Defines `members` on `target` where it has no such property yet (see the end of `obj()`). */
function exposeMembers(target: object, members: Readonly<Record<string, unknown>>, enumerable: boolean): void {
  for (const name of Object.keys(members)) {
    if (name in target) continue;
    Object.defineProperty(target, name, { value: members[name], enumerable, writable: true, configurable: true });
  }
}
