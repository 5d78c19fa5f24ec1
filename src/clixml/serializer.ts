// MS-PSRP 2.2.5 Serialization (writing): 2.2.5.1 primitives, 2.2.5.2 complex objects
// (TN/TNRef 2.2.5.2.3, ToString 2.2.5.2.4, Props/MS 2.2.5.2.8-9, containers 2.2.5.2.6),
// RefId/Ref 2.2.5.2.1 and 2.2.5.3.3 (a fresh scope per document or message).
import { InvalidArgumentError } from '../errors.js';
import { PS_META, type PSObjectMeta } from './ps-object.js';
import { encodeClixmlString } from './string-escape.js';
import {
  PSDateTime,
  PSDecimal,
  PSDuration,
  PSEnumValue,
  PSSecureString,
  PSTypedValue,
  type SecureStringCipher,
} from './values.js';

export interface SerializeOptions {
  /** Encrypts SecureStrings with the PSRP session key; required to serialize a PSSecureString. */
  readonly secureStringCipher?: SecureStringCipher;
  /** Deepest object nesting written (cycles become Refs and do not count). Default 100. */
  readonly maxDepth?: number;
}

const OBJECT_ARRAY_TN = ['System.Object[]', 'System.Array', 'System.Object'];
const HASHTABLE_TN = ['System.Collections.Hashtable', 'System.Object'];
const PSCUSTOM_TN = ['System.Management.Automation.PSCustomObject', 'System.Object'];

function metaOf(v: object): PSObjectMeta | undefined {
  return (v as { [PS_META]?: PSObjectMeta })[PS_META];
}

function checkRange(tag: string, v: number | bigint, lo: number | bigint, hi: number | bigint): void {
  if (typeof v === 'number' && !Number.isInteger(v)) throw new InvalidArgumentError(`${tag} needs an integer, got ${v}`);
  if (v < lo || v > hi) throw new InvalidArgumentError(`${v} is out of range for ${tag}`);
}

function formatDouble(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (n === Infinity) return 'INF';
  if (n === -Infinity) return '-INF';
  if (Object.is(n, -0)) return '-0';
  return String(n).replace('e+', 'E+').replace('e-', 'E-');
}

/** xs:dateTime for a plain Date: UTC with 7 fractional digits, as .NET writes it. */
function formatDate(d: Date): string {
  if (Number.isNaN(d.getTime())) throw new InvalidArgumentError('Cannot serialize an invalid Date');
  return d.toISOString().replace(/\.(\d{3})Z$/, '.$10000Z');
}

class Serializer {
  private out: string[] = [];
  private readonly refIds = new Map<object, number>();
  private readonly tnIds = new Map<string, number>();
  private readonly maxDepth: number;

  constructor(private readonly options: SerializeOptions) {
    this.maxDepth = options.maxDepth ?? 100;
  }

  result(): string {
    return this.out.join('');
  }

  private nameAttr(name: string | undefined): string {
    return name === undefined ? '' : ` N="${encodeClixmlString(name, true)}"`;
  }

  private prim(tag: string, name: string | undefined, text: string): void {
    this.out.push(`<${tag}${this.nameAttr(name)}>${text}</${tag}>`);
  }

  private typeNames(names: readonly string[]): void {
    if (names.length === 0) return;
    const key = names.join('\u0000');
    const id = this.tnIds.get(key);
    if (id !== undefined) {
      this.out.push(`<TNRef RefId="${id}" />`);
      return;
    }
    const nid = this.tnIds.size;
    this.tnIds.set(key, nid);
    this.out.push(`<TN RefId="${nid}">`);
    for (const t of names) this.out.push(`<T>${encodeClixmlString(t)}</T>`);
    this.out.push('</TN>');
  }

  value(v: unknown, name: string | undefined, depth: number): void {
    if (v === null || v === undefined) {
      this.out.push(`<Nil${this.nameAttr(name)} />`);
      return;
    }
    switch (typeof v) {
      case 'string':
        this.prim('S', name, encodeClixmlString(v));
        return;
      case 'boolean':
        this.prim('B', name, v ? 'true' : 'false');
        return;
      case 'number':
        if (Number.isInteger(v) && v >= -2147483648 && v <= 2147483647 && !Object.is(v, -0)) this.prim('I32', name, String(v));
        else this.prim('Db', name, formatDouble(v));
        return;
      case 'bigint':
        if (v >= -(2n ** 63n) && v < 2n ** 63n) this.prim('I64', name, v.toString());
        else if (v >= 0n && v < 2n ** 64n) this.prim('U64', name, v.toString());
        else throw new InvalidArgumentError(`bigint ${v} does not fit in 64 bits`);
        return;
      case 'object':
        this.objectValue(v, name, depth);
        return;
      default:
        throw new InvalidArgumentError(`Cannot serialize a value of type ${typeof v}`);
    }
  }

  private objectValue(v: object, name: string | undefined, depth: number): void {
    if (v instanceof PSTypedValue) return this.typed(v as PSTypedValue, name);
    if (v instanceof PSDateTime) return this.prim('DT', name, v.getTime() === this.parsedTime(v) ? v.text : formatDate(v));
    if (v instanceof Date) return this.prim('DT', name, formatDate(v));
    if (v instanceof PSDuration) return this.prim('TS', name, v.toString());
    if (v instanceof PSDecimal) return this.prim('D', name, v.text);
    if (v instanceof Uint8Array) return this.prim('BA', name, Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64'));
    if (v instanceof PSSecureString) return this.secure(v, name);
    if (v instanceof PSEnumValue) {
      this.out.push(`<Obj${this.nameAttr(name)} RefId="${this.newRefId(v)}">`);
      this.typeNames(v.typeNames);
      this.out.push(`<ToString>${encodeClixmlString(v.name)}</ToString><I32>${v.value}</I32></Obj>`);
      return;
    }
    const seen = this.refIds.get(v);
    if (seen !== undefined) {
      this.out.push(`<Ref${this.nameAttr(name)} RefId="${seen}" />`);
      return;
    }
    if (depth > this.maxDepth) throw new InvalidArgumentError(`Object nesting deeper than ${this.maxDepth}`);
    const meta = metaOf(v);
    this.out.push(`<Obj${this.nameAttr(name)} RefId="${this.newRefId(v)}">`);
    if (Array.isArray(v)) {
      this.typeNames(meta ? meta.typeNames : OBJECT_ARRAY_TN);
      if (meta?.toStringValue !== undefined) this.out.push(`<ToString>${encodeClixmlString(meta.toStringValue)}</ToString>`);
      const tag = meta?.container && meta.container !== 'DCT' ? meta.container : 'LST';
      this.out.push(`<${tag}>`);
      for (const item of v) this.value(item, undefined, depth + 1);
      this.out.push(`</${tag}>`);
      if (meta?.properties) this.members('Props', meta.properties, Object.keys(meta.properties), depth);
    } else if (v instanceof Map || meta?.container === 'DCT') {
      this.typeNames(meta ? meta.typeNames : HASHTABLE_TN);
      if (meta?.toStringValue !== undefined) this.out.push(`<ToString>${encodeClixmlString(meta.toStringValue)}</ToString>`);
      this.out.push('<DCT>');
      const entries = v instanceof Map ? [...v.entries()] : Object.entries(v);
      for (const [k, val] of entries) {
        this.out.push('<En>');
        this.value(k, 'Key', depth + 1);
        this.value(val, 'Value', depth + 1);
        this.out.push('</En>');
      }
      this.out.push('</DCT>');
    } else {
      const record = v as Record<string, unknown>;
      this.typeNames(meta ? meta.typeNames : PSCUSTOM_TN);
      if (meta?.toStringValue !== undefined) this.out.push(`<ToString>${encodeClixmlString(meta.toStringValue)}</ToString>`);
      if (meta && 'baseValue' in meta) this.value(meta.baseValue, undefined, depth + 1);
      const keys = Object.keys(record);
      const adapted = new Set(meta?.adapted ?? []);
      const props = keys.filter((k) => adapted.has(k));
      const ms = keys.filter((k) => !adapted.has(k));
      if (props.length > 0) this.members('Props', record, props, depth);
      if (ms.length > 0) this.members('MS', record, ms, depth);
    }
    this.out.push('</Obj>');
  }

  private members(tag: 'Props' | 'MS', record: Readonly<Record<string, unknown>>, keys: readonly string[], depth: number): void {
    this.out.push(`<${tag}>`);
    for (const k of keys) this.value(record[k], k, depth + 1);
    this.out.push(`</${tag}>`);
  }

  private newRefId(v: object): number {
    const id = this.refIds.size;
    this.refIds.set(v, id);
    return id;
  }

  /** The epoch a PSDateTime had when read, to notice a mutated Date. */
  private parsedTime(v: PSDateTime): number {
    return v.originalTime;
  }

  private typed(v: PSTypedValue, name: string | undefined): void {
    const val = v.value;
    switch (v.type) {
      case 'By':
        checkRange('By', val as number, 0, 255);
        break;
      case 'SB':
        checkRange('SB', val as number, -128, 127);
        break;
      case 'U16':
        checkRange('U16', val as number, 0, 65535);
        break;
      case 'I16':
        checkRange('I16', val as number, -32768, 32767);
        break;
      case 'U32':
        checkRange('U32', val as number, 0, 4294967295);
        break;
      case 'I64':
        checkRange('I64', val as bigint, -(2n ** 63n), 2n ** 63n - 1n);
        break;
      case 'U64':
        checkRange('U64', val as bigint, 0n, 2n ** 64n - 1n);
        break;
      case 'Sg':
        this.prim('Sg', name, formatDouble(val as number));
        return;
      case 'C': {
        const s = val as string;
        if (s.length !== 1) throw new InvalidArgumentError('A char must be exactly one UTF-16 code unit');
        this.prim('C', name, String(s.charCodeAt(0)));
        return;
      }
      case 'G':
      case 'Version':
        this.prim(v.type, name, encodeClixmlString(String(val)));
        return;
      default:
        this.prim(v.type, name, encodeClixmlString(String(val)));
        return;
    }
    this.prim(v.type, name, String(val));
  }

  private secure(v: PSSecureString, name: string | undefined): void {
    const cipher = this.options.secureStringCipher;
    let bytes: Uint8Array | undefined;
    if (v.isDecrypted) {
      if (!cipher) {
        throw new InvalidArgumentError(
          'Sending a SecureString needs the session key: open the runspace pool (it exchanges keys on demand) or pass secureStringCipher',
          { code: 'PSRP_SECURE_STRING_NO_KEY' },
        );
      }
      bytes = cipher.encrypt(new Uint8Array(Buffer.from(v.reveal(), 'utf16le')));
    } else {
      bytes = v.ciphertext();
    }
    this.prim('SS', name, Buffer.from(bytes!).toString('base64'));
  }
}

/** Serializes one value as a PSRP message body: one element, a fresh RefId scope, no namespace. */
export function serializeObject(value: unknown, options: SerializeOptions = {}): string {
  const s = new Serializer(options);
  s.value(value, undefined, 1);
  return s.result();
}

/**
 * Serializes a value as an Export-Clixml document that `Import-Clixml` reads. With
 * `multiple: true`, an array is written as several top-level values (like `$values | Export-Clixml`),
 * which is what `deserializeClixml` returns.
 */
export function serializeClixml(value: unknown, options: SerializeOptions & { readonly multiple?: boolean } = {}): string {
  const s = new Serializer(options);
  const list = options.multiple === true && Array.isArray(value) ? (value as unknown[]) : [value];
  for (const v of list) s.value(v, undefined, 1);
  return `<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04">${s.result()}</Objs>`;
}
