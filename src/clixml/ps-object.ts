// MS-PSRP 2.2.5.2 Serialization of Complex Objects — the JS object model.
/**
 * A deserialized complex object is a plain JS value: a plain object whose enumerable own
 * properties are its adapted (`<Props>`) and extended (`<MS>`) members, an array (LST/IE/STK/QUE),
 * a Map or plain object (DCT). What PowerShell knows beyond that (type names, ToString, which
 * members were adapted vs extended, the container kind) lives under a symbol key, so
 * `Object.keys`, spread and `JSON.stringify` see only the data. Read it with `psMeta(value)`.
 */
import { PSEnumValue } from './enum-value.js';

/** The symbol under which metadata is stored (non-enumerable). */
export const PS_META: unique symbol = Symbol.for('psrp.clixml.meta') as never;

export type ContainerKind = 'LST' | 'IE' | 'STK' | 'QUE' | 'DCT';

export interface PSObjectMeta {
  /** Type names, most specific first (`<TN>`); empty when the object had none. */
  readonly typeNames: readonly string[];
  /** The `<ToString>` text, when present. */
  readonly toStringValue: string | undefined;
  /** Names of adapted properties (`<Props>`). */
  readonly adapted: readonly string[];
  /** Names of extended properties (`<MS>`). */
  readonly extended: readonly string[];
  /** The container element this value came from (arrays, Maps, dictionary objects). */
  readonly container: ContainerKind | undefined;
  /** The primitive this object wraps, when an `<Obj>` carried one alongside properties. */
  readonly baseValue?: unknown;
  /**
   * Properties of a container object (for example a MultiValuedProperty's `<Props>`, an
   * XmlElement's attributes). They are also readable on the array/Map itself (`el.Value`), as
   * non-enumerable properties, so that it stays a clean array for keys, spread and JSON.
   */
  readonly properties?: Readonly<Record<string, unknown>>;
}

/** The metadata of a deserialized (or `createPSObject`-built) value, or undefined. */
export function psMeta(value: unknown): PSObjectMeta | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  return (value as { [PS_META]?: PSObjectMeta })[PS_META];
}

/**
 * The one descriptor {@link setMeta} passes (its value set for the call, then cleared): a fresh
 * literal per object was a garbage object per deserialized object.
 */
const META_DESCRIPTOR: PropertyDescriptor = {
  value: undefined,
  enumerable: false,
  writable: true,
  configurable: true,
};

/** Attaches metadata to an object without making it enumerable. */
export function setMeta<T extends object>(target: T, meta: PSObjectMeta): T {
  META_DESCRIPTOR.value = meta;
  Object.defineProperty(target, PS_META, META_DESCRIPTOR);
  META_DESCRIPTOR.value = undefined;
  return target;
}

/** Sets a data property safely: a key such as `__proto__` becomes an own property, never a prototype change. */
export function defineData(target: object, key: string, value: unknown): void {
  if (key === '__proto__' || key === 'constructor' || key === 'prototype') {
    Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  } else {
    (target as Record<string, unknown>)[key] = value;
  }
}

export interface CreatePSObjectOptions {
  /** Type names, most specific first. Default: PSCustomObject's. */
  readonly typeNames?: readonly string[];
  /** The `<ToString>` text. */
  readonly toStringValue?: string;
  /** Adapted properties (`<Props>`). */
  readonly properties?: Readonly<Record<string, unknown>>;
  /** Extended properties (`<MS>`). */
  readonly extendedProperties?: Readonly<Record<string, unknown>>;
}

/**
 * Builds an object that serializes as `<Obj>` with `<TN>`, `<ToString>`, `<Props>` and `<MS>`.
 * Without options it is a PSCustomObject (all members extended).
 */
export function createPSObject(options: CreatePSObjectOptions = {}): Record<string, unknown> {
  const obj: Record<string, unknown> = {};
  const adapted = Object.keys(options.properties ?? {});
  const extended = Object.keys(options.extendedProperties ?? {});
  for (const k of adapted) defineData(obj, k, options.properties![k]);
  for (const k of extended) defineData(obj, k, options.extendedProperties![k]);
  return setMeta(obj, {
    typeNames: options.typeNames ?? ['System.Management.Automation.PSCustomObject', 'System.Object'],
    toStringValue: options.toStringValue,
    adapted,
    extended,
    container: undefined,
  });
}

/** Builds an enum value that serializes as PowerShell writes enums. */
export function psEnum(typeName: string, name: string, value: number): PSEnumValue {
  return new PSEnumValue(value, name, [typeName, 'System.Enum', 'System.ValueType', 'System.Object']);
}

/** Builds an array that serializes as `<Obj>` with the given type names and an `<LST>`. */
export function psList(typeNames: readonly string[], items: readonly unknown[]): unknown[] {
  return setMeta([...items], { typeNames, toStringValue: undefined, adapted: [], extended: [], container: 'LST' });
}
