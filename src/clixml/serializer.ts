// MS-PSRP 2.2.5 Serialization (writing): 2.2.5.1 primitives, 2.2.5.2 complex objects
// (TN/TNRef 2.2.5.2.3, ToString 2.2.5.2.4, Props/MS 2.2.5.2.8-9, containers 2.2.5.2.6),
// RefId/Ref 2.2.5.2.1 and 2.2.5.3.3 (a fresh scope per document or message).
import { InvalidArgumentError } from '../errors.js';
import { formatBoolean } from './codecs/boolean.js';
import { formatBytes } from './codecs/bytes.js';
import { formatDateTime } from './codecs/date-time.js';
import { PSDecimal, formatDecimal } from './codecs/decimal.js';
import { PSDuration } from './codecs/duration.js';
import { formatFloating } from './codecs/floating.js';
import { bigintTag, isInt32 } from './codecs/integers.js';
import { formatTypedValue } from './codecs/primitive-codecs.js';
import { PSSecureString, type SecureStringCipher, formatSecureString } from './codecs/secure-string.js';
import { formatString } from './codecs/strings.js';
import { PSEnumValue } from './enum-value.js';
import { type PSObjectMeta, psMeta } from './ps-object.js';
import { encodeClixmlString } from './string-escape.js';
import { PSTypedValue } from './typed-value.js';

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
  return psMeta(v);
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
        this.prim('S', name, formatString(v));
        return;
      case 'boolean':
        this.prim('B', name, formatBoolean(v));
        return;
      case 'number':
        if (isInt32(v)) this.prim('I32', name, String(v));
        else this.prim('Db', name, formatFloating(v));
        return;
      case 'bigint':
        this.prim(bigintTag(v), name, v.toString());
        return;
      case 'object':
        this.objectValue(v, name, depth);
        return;
      default:
        throw new InvalidArgumentError(`Cannot serialize a value of type ${typeof v}`);
    }
  }

  private objectValue(v: object, name: string | undefined, depth: number): void {
    if (v instanceof PSTypedValue) {
      const typed = v as PSTypedValue;
      return this.prim(typed.type, name, formatTypedValue(typed));
    }
    if (v instanceof Date) return this.prim('DT', name, formatDateTime(v));
    if (v instanceof PSDuration) return this.prim('TS', name, v.toString());
    if (v instanceof PSDecimal) return this.prim('D', name, formatDecimal(v));
    if (v instanceof Uint8Array) return this.prim('BA', name, formatBytes(v));
    if (v instanceof PSSecureString)
      return this.prim('SS', name, formatSecureString(v, this.options.secureStringCipher));
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
      if (meta?.toStringValue !== undefined)
        this.out.push(`<ToString>${encodeClixmlString(meta.toStringValue)}</ToString>`);
      const tag = meta?.container && meta.container !== 'DCT' ? meta.container : 'LST';
      this.out.push(`<${tag}>`);
      for (const item of v) this.value(item, undefined, depth + 1);
      this.out.push(`</${tag}>`);
      if (meta?.properties) this.members('Props', meta.properties, Object.keys(meta.properties), depth);
    } else if (v instanceof Map || meta?.container === 'DCT') {
      this.typeNames(meta ? meta.typeNames : HASHTABLE_TN);
      if (meta?.toStringValue !== undefined)
        this.out.push(`<ToString>${encodeClixmlString(meta.toStringValue)}</ToString>`);
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
      if (meta?.toStringValue !== undefined)
        this.out.push(`<ToString>${encodeClixmlString(meta.toStringValue)}</ToString>`);
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

  private members(
    tag: 'Props' | 'MS',
    record: Readonly<Record<string, unknown>>,
    keys: readonly string[],
    depth: number,
  ): void {
    this.out.push(`<${tag}>`);
    for (const k of keys) this.value(record[k], k, depth + 1);
    this.out.push(`</${tag}>`);
  }

  private newRefId(v: object): number {
    const id = this.refIds.size;
    this.refIds.set(v, id);
    return id;
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
export function serializeClixml(
  value: unknown,
  options: SerializeOptions & { readonly multiple?: boolean } = {},
): string {
  const s = new Serializer(options);
  const list = options.multiple === true && Array.isArray(value) ? (value as unknown[]) : [value];
  for (const v of list) s.value(v, undefined, 1);
  return `<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04">${s.result()}</Objs>`;
}
