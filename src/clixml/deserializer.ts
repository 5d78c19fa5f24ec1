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
import { type StartTag, XmlReader } from '../internal/xml-reader.js';

/** Limits and behaviour of deserialization. Every limit has a safe default. */
export interface DeserializeOptions {
  /** Deepest element nesting accepted. Default 100. */
  readonly maxDepth?: number;
  /** Longest input in characters. Default 512 Mi. */
  readonly maxInputLength?: number;
  /** Most `<Obj>` elements in one input. Default 10,000,000. */
  readonly maxObjects?: number;
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

const INT_RE = /^\s*[+-]?\d+\s*$/;
const FLOAT_RE = /^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$/;
const DT_RE = /^(-?\d{4,})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})?$/;
const DURATION_RE =
  /^(-)?P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)(?:\.(\d+))?S)?)?$/;
const I64_MIN = -(2n ** 63n);
const I64_END = 2n ** 63n;
const U64_END = 2n ** 64n;

const BASE64_RE = /^[A-Za-z0-9+/\s]*={0,2}\s*$/;

const RANGES: Record<string, [number, number]> = {
  By: [0, 255],
  SB: [-128, 127],
  U16: [0, 65535],
  I16: [-32768, 32767],
  U32: [0, 4294967295],
  I32: [-2147483648, 2147483647],
};

class Deserializer {
  private readonly r: XmlReader;
  private readonly refs = new Map<string, unknown>();
  private readonly typeNames = new Map<string, readonly string[]>();
  /** Objects being read (outermost first): nested `<Obj>` elements finish first, so this is a stack. */
  private readonly open: unknown[] = [];
  private readonly referencedWhileOpen = new Set<unknown>();
  private objects = 0;
  private readonly maxDepth: number;
  private readonly maxObjects: number;
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
    this.r = new XmlReader(xml);
    this.maxDepth = options.maxDepth ?? 100;
    this.maxObjects = options.maxObjects ?? 10_000_000;
    this.preserve = options.preserveTypes ?? false;
    this.dictAuto = (options.dictionaries ?? 'auto') === 'auto';
  }

  private invalid(message: string, tag?: StartTag): never {
    throw new ProtocolError(`${message}${tag ? ` (<${tag.name}> at offset ${tag.pos})` : ''}`, {
      code: 'PSRP_CLIXML_INVALID',
      ...(tag ? { offset: tag.pos, element: tag.name } : {}),
    });
  }

  /** A document: `<Objs>` with values, or one value element. */
  document(): unknown[] {
    const r = this.r;
    r.skipMisc();
    const root = r.startTag();
    let values: unknown[];
    if (root.name === 'Objs') {
      values = [];
      if (!root.empty) {
        while (!r.atEndTag()) values.push(this.value(r.startTag(), 1));
        r.endTag('Objs');
      }
    } else {
      values = [this.value(root, 1)];
    }
    r.skipMisc();
    if (r.pos < r.src.length) r.fail('Unexpected content after the document');
    return values;
  }

  /** Reads the text content of a simple element and its end tag. */
  private content(tag: StartTag): string {
    if (tag.empty) return '';
    const text = this.r.text();
    this.r.endTag(tag.name);
    return text;
  }

  value(tag: StartTag, depth: number): unknown {
    if (depth > this.maxDepth) {
      this.r.fail(`CLIXML nesting deeper than ${this.maxDepth}`, 'PSRP_CLIXML_TOO_DEEP', tag.pos);
    }
    switch (tag.name) {
      case 'Obj':
        return this.obj(tag, depth);
      case 'Ref': {
        const id = tag.attrs?.['RefId'];
        if (id === undefined || !this.refs.has(id)) this.invalid(`Unknown RefId ${id ?? '(missing)'}`, tag);
        if (!tag.empty) this.r.endTag('Ref');
        const v = this.refs.get(id);
        if (this.open.includes(v)) this.referencedWhileOpen.add(v);
        return v;
      }
      default:
        if (PRIMITIVE_TAGS.has(tag.name)) return this.primitive(tag, depth);
        return this.invalid(`Unknown CLIXML element`, tag);
    }
  }

  private primitive(tag: StartTag, depth: number): unknown {
    const name = tag.name;
    if (name === 'Nil') {
      if (!tag.empty) this.content(tag);
      return null;
    }
    if (name === 'PR') return this.progressRecord(tag, depth);
    const text = this.content(tag);
    switch (name) {
      case 'S':
        return decodeClixmlString(text);
      case 'B':
        if (text === 'true') return true;
        if (text === 'false') return false;
        return this.invalid(`Invalid boolean "${text.slice(0, 20)}"`, tag);
      case 'I32':
      case 'By':
      case 'SB':
      case 'U16':
      case 'I16':
      case 'U32': {
        if (!INT_RE.test(text)) this.invalid(`Invalid integer "${text.slice(0, 30)}"`, tag);
        const n = Number(text);
        const [lo, hi] = RANGES[name]!;
        if (n < lo || n > hi) this.invalid(`Integer ${text.trim()} out of range for ${name}`, tag);
        return this.preserve && name !== 'I32' ? new PSTypedValue(name, n) : n;
      }
      case 'I64':
      case 'U64': {
        if (!INT_RE.test(text)) this.invalid(`Invalid integer "${text.slice(0, 30)}"`, tag);
        if (!this.preserve && text.length <= 15) {
          // At most 15 characters: within ±2^53, exact as a number and in range for both types unless negative.
          const n = Number(text);
          if (name === 'I64' || n >= 0) return n === 0 ? 0 : n; // never -0
        }
        const b = BigInt(text.trim());
        if (name === 'I64' ? b < I64_MIN || b >= I64_END : b < 0n || b >= U64_END) {
          this.invalid(`Integer ${text.trim()} out of range for ${name}`, tag);
        }
        if (this.preserve) return new PSTypedValue(name, b);
        return b >= -9007199254740991n && b <= 9007199254740991n ? Number(b) : b;
      }
      case 'Db':
      case 'Sg': {
        const t = text.trim();
        const n =
          t === 'NaN'
            ? NaN
            : t === 'INF' || t === 'Infinity'
              ? Infinity
              : t === '-INF' || t === '-Infinity'
                ? -Infinity
                : FLOAT_RE.test(t)
                  ? Number(t)
                  : undefined;
        if (n === undefined) return this.invalid(`Invalid floating-point number "${t.slice(0, 30)}"`, tag);
        return this.preserve && name === 'Sg' ? new PSTypedValue('Sg', n) : n;
      }
      case 'D':
        try {
          return new PSDecimal(text);
        } catch {
          return this.invalid(`Invalid decimal "${text.slice(0, 30)}"`, tag);
        }
      case 'C': {
        if (!INT_RE.test(text)) this.invalid(`Invalid char "${text.slice(0, 20)}"`, tag);
        const code = Number(text);
        if (code < 0 || code > 0xffff) this.invalid(`Char ${code} out of range`, tag);
        const ch = String.fromCharCode(code);
        return this.preserve ? new PSTypedValue('C', ch) : ch;
      }
      case 'DT':
        return this.dateTime(text.trim(), tag);
      case 'TS':
        return this.duration(text.trim(), tag);
      case 'BA':
        if (!BASE64_RE.test(text)) this.invalid('Invalid base64', tag);
        return new Uint8Array(Buffer.from(text, 'base64'));
      case 'SS': {
        if (!BASE64_RE.test(text)) this.invalid('Invalid base64 in SecureString', tag);
        const cipherBytes = new Uint8Array(Buffer.from(text, 'base64'));
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
    return this.invalid('Unknown primitive', tag);
  }

  private dateTime(text: string, tag: StartTag): PSDateTime {
    const m = DT_RE.exec(text);
    if (!m) return this.invalid(`Invalid date/time "${text.slice(0, 40)}"`, tag);
    const [, y, mo, d, h, mi, s, frac = '', zone] = m;
    const ticks7 = (frac + '0000000').slice(0, 7);
    const ms = Number(ticks7.slice(0, 3));
    const sub = Number(ticks7.slice(3));
    const year = Number(y);
    let epoch = Date.UTC(year, Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s), ms);
    if (year >= 0 && year < 100) {
      // Date.UTC maps years 0-99 to 1900-1999; fix the year explicitly.
      const fix = new Date(epoch);
      fix.setUTCFullYear(year);
      epoch = fix.getTime();
    }
    let kind: 'utc' | 'offset' | 'unspecified' = 'unspecified';
    if (zone === 'Z') kind = 'utc';
    else if (zone !== undefined) {
      kind = 'offset';
      const sign = zone[0] === '-' ? -1 : 1;
      epoch -= sign * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4, 6))) * 60_000;
    }
    if (!Number.isFinite(epoch)) return this.invalid(`Date/time out of range "${text.slice(0, 40)}"`, tag);
    return new PSDateTime(epoch, text, sub, kind);
  }

  private duration(text: string, tag: StartTag): PSDuration {
    const m = DURATION_RE.exec(text);
    if (!m || text === 'P' || text.endsWith('T'))
      return this.invalid(`Invalid duration "${text.slice(0, 40)}"`, tag);
    const [, neg, y, mo, d, h, mi, s, frac] = m;
    const days = BigInt(y ?? 0) * 365n + BigInt(mo ?? 0) * 30n + BigInt(d ?? 0);
    let ticks =
      ((days * 24n + BigInt(h ?? 0)) * 60n + BigInt(mi ?? 0)) * 600_000_000n +
      BigInt(s ?? 0) * 10_000_000n +
      BigInt(((frac ?? '') + '0000000').slice(0, 7));
    if (neg) ticks = -ticks;
    return new PSDuration(ticks);
  }

  /**
   * `<PR>` (MS-PSRP 2.2.5.1.25 Progress Record): children AV (activity), AI (activity id), a `<Nil/>`
   * or `<S>` (current operation), PI (parent id), PC (percent), T (record type), SR (seconds
   * remaining), SD (status description) → a plain object with PowerShell's property names.
   */
  private progressRecord(tag: StartTag, depth: number): Record<string, unknown> {
    const names: Record<string, string> = {
      AV: 'Activity',
      AI: 'ActivityId',
      PI: 'ParentActivityId',
      PC: 'PercentComplete',
      T: 'RecordType',
      SR: 'SecondsRemaining',
      SD: 'StatusDescription',
    };
    const numeric = new Set(['AI', 'PI', 'PC', 'SR']);
    const out: Record<string, unknown> = {};
    if (tag.empty) return out;
    const r = this.r;
    while (!r.atEndTag()) {
      const child = r.startTag();
      const key = names[child.name];
      if (key === undefined) {
        defineData(out, 'CurrentOperation', this.value(child, depth + 1));
        continue;
      }
      const text = decodeClixmlString(this.content(child));
      if (numeric.has(child.name)) {
        if (!INT_RE.test(text)) this.invalid(`Invalid integer "${text.slice(0, 20)}"`, child);
        out[key] = Number(text);
      } else {
        out[key] = text;
      }
    }
    r.endTag(tag.name);
    return out;
  }

  private obj(tag: StartTag, depth: number): unknown {
    if (++this.objects > this.maxObjects) {
      this.r.fail(`More than ${this.maxObjects} objects`, 'PSRP_CLIXML_TOO_LARGE', tag.pos);
    }
    const refId = tag.attrs?.['RefId'];
    const r = this.r;
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

    if (!tag.empty) {
      while (!r.atEndTag()) {
        const child = r.startTag();
        switch (child.name) {
          case 'TN': {
            const names: string[] = [];
            if (!child.empty) {
              while (!r.atEndTag()) {
                const t = r.startTag();
                if (t.name !== 'T') this.invalid('Expected <T> in <TN>', t);
                names.push(decodeClixmlString(this.content(t)));
              }
              r.endTag('TN');
            }
            const id = child.attrs?.['RefId'];
            if (id !== undefined) this.typeNames.set(id, names);
            typeNames = names;
            break;
          }
          case 'TNRef': {
            const id = child.attrs?.['RefId'];
            const names = id === undefined ? undefined : this.typeNames.get(id);
            if (names === undefined) this.invalid(`Unknown TNRef RefId ${id ?? '(missing)'}`, child);
            if (!child.empty) r.endTag('TNRef');
            typeNames = names;
            break;
          }
          case 'ToString':
            toString = decodeClixmlString(this.content(child));
            break;
          case 'LST':
          case 'IE':
          case 'STK':
          case 'QUE': {
            if (container !== undefined) this.invalid('Two containers in one <Obj>', child);
            container = child.name;
            const arr: unknown[] = [];
            target = arr;
            this.register(refId, arr);
            if (!child.empty) {
              while (!r.atEndTag()) arr.push(this.value(r.startTag(), depth + 2));
              r.endTag(child.name);
            }
            break;
          }
          case 'DCT': {
            if (container !== undefined) this.invalid('Two containers in one <Obj>', child);
            container = 'DCT';
            const map = new Map<unknown, unknown>();
            target = map;
            this.register(refId, map);
            if (!child.empty) {
              while (!r.atEndTag()) this.entry(r.startTag(), map, depth + 2);
              r.endTag('DCT');
            }
            break;
          }
          case 'Props':
          case 'MS': {
            let bag: Record<string, unknown>;
            if (Array.isArray(target) || target instanceof Map) {
              bag = containerProps ??= {};
            } else {
              if (target === undefined) {
                target = {};
                this.register(refId, target);
              }
              bag = target;
            }
            this.members(child, bag, child.name === 'Props' ? adapted : extended, depth + 1);
            break;
          }
          default:
            if (PRIMITIVE_TAGS.has(child.name) || child.name === 'Ref' || child.name === 'Obj') {
              if (hasBase) this.invalid('Two base values in one <Obj>', child);
              baseValue = this.value(child, depth + 1);
              hasBase = true;
            } else {
              this.invalid('Unknown element in <Obj>', child);
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
      (typeNames.includes('System.Enum') || typeNames.includes('Deserialized.System.Enum'))
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
      adapted,
      extended,
      container,
    };
    if (hasBase) meta.baseValue = baseValue;
    if (containerProps) meta.properties = containerProps;
    return setMeta(result as object, meta);
  }

  /** Makes an object being read reachable by RefId (its members may refer back to it). */
  private register(refId: string | undefined, v: object): void {
    if (refId !== undefined) this.refs.set(refId, v);
    this.open.push(v);
  }

  private members(tag: StartTag, bag: Record<string, unknown>, names: string[], depth: number): void {
    if (tag.empty) return;
    const r = this.r;
    while (!r.atEndTag()) {
      const child = r.startTag();
      const rawName = child.attrs?.['N'];
      if (rawName === undefined) this.invalid('Member without a name (N)', child);
      const name = decodeClixmlString(rawName);
      let v: unknown;
      if (child.name === 'MS' || child.name === 'Props') {
        // A nested property set.
        const inner: Record<string, unknown> = {};
        const innerNames: string[] = [];
        this.members(child, inner, innerNames, depth + 1);
        v = setMeta(inner, {
          typeNames: [],
          toStringValue: undefined,
          adapted: [],
          extended: innerNames,
          container: undefined,
        });
      } else {
        v = this.value(child, depth + 1);
      }
      if (!Object.prototype.hasOwnProperty.call(bag, name)) names.push(name);
      defineData(bag, name, v);
    }
    r.endTag(tag.name);
  }

  private entry(tag: StartTag, map: Map<unknown, unknown>, depth: number): void {
    if (tag.name !== 'En') this.invalid('Expected <En> in <DCT>', tag);
    let key: unknown;
    let value: unknown = null;
    let hasKey = false;
    const r = this.r;
    if (!tag.empty) {
      while (!r.atEndTag()) {
        const child = r.startTag();
        const n = child.attrs?.['N'];
        const v = this.value(child, depth + 1);
        if (n === 'Key') {
          key = v;
          hasKey = true;
        } else if (n === 'Value') value = v;
        else this.invalid('Dictionary entry member must be Key or Value', child);
      }
      r.endTag('En');
    }
    if (!hasKey) this.invalid('Dictionary entry without a Key', tag);
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
