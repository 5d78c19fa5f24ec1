// MS-PSRP 2.2.5.2 Serialization of Complex Objects — the JS object model.
/**
 * A deserialized complex object is a plain JS value: a plain object whose enumerable own
 * properties are its adapted (`<Props>`) and extended (`<MS>`) members, an array (LST/IE/STK/QUE),
 * a Map or plain object (DCT). What PowerShell knows beyond that (type names, ToString, which
 * members were adapted vs extended, the container kind) is kept out of sight, so `Object.keys`,
 * spread, `JSON.stringify` and deep equality see only the data. Read it with `psMeta(value)`.
 */
import { PSEnumValue } from './enum-value.js';

/**
 * A symbol under which metadata may be attached by hand (`obj[PS_META] = { typeNames, … }`):
 * {@link psMeta} and the serializer read it when an object carries no metadata of its own. What
 * psrp itself attaches is stored as described at {@link setMeta}.
 */
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

/** Reads and writes the private field that holds an object's metadata (see {@link setMeta}). */
interface MetaField {
  read(o: object): PSObjectMeta | undefined;
  write(o: object, meta: PSObjectMeta): void;
}

function makeMetaField(): MetaField {
  // A base constructor that returns the object it is given lets a derived class add its private
  // field to any object (ECMA-262 PrivateFieldAdd applies to whatever `this` the base returned).
  class Through {
    constructor(o: object) {
      return o;
    }
  }
  class WithMeta extends Through {
    #meta: PSObjectMeta;
    constructor(o: object, meta: PSObjectMeta) {
      super(o);
      this.#meta = meta;
    }
    static read(o: object): PSObjectMeta | undefined {
      return #meta in o ? o.#meta : undefined;
    }
    static write(o: object, meta: PSObjectMeta): void {
      if (#meta in o) o.#meta = meta;
      else new WithMeta(o, meta);
    }
  }
  return { read: (o) => WithMeta.read(o), write: (o, meta) => WithMeta.write(o, meta) };
}

/**
 * One field for every copy of psrp in the process (its ESM and CommonJS builds can both be
 * loaded): the first copy registers it under a global symbol, the others use that one, so each
 * reads the metadata the other attached. The `/1` names the layout; a future change to it takes a
 * new name.
 */
const META_FIELD_KEY = Symbol.for('psrp.clixml.metaField/1');

function metaField(): MetaField {
  const g = globalThis as { [META_FIELD_KEY]?: MetaField };
  let field = g[META_FIELD_KEY];
  if (field === undefined) {
    field = makeMetaField();
    try {
      Object.defineProperty(g, META_FIELD_KEY, {
        value: field,
        enumerable: false,
        writable: false,
        configurable: false,
      });
    } catch {
      // A frozen global (a locked-down realm): this copy keeps its own field.
    }
  }
  return field;
}

const META = metaField();

/** The metadata of a deserialized (or `createPSObject`-built) value, or undefined. */
export function psMeta(value: unknown): PSObjectMeta | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  return META.read(value) ?? (value as { [PS_META]?: PSObjectMeta })[PS_META];
}

/**
 * Attaches metadata to an object, out of sight: in a private field stamped onto it, which no
 * reflection (keys, symbols, spread, JSON, structuredClone, deep equality) sees and only
 * {@link psMeta} reads. Adding a private field is an ordinary inline-cached property store;
 * `Object.defineProperty` with a non-enumerable symbol, used before, was a runtime call per
 * object, about 15 ms of a 10,000-mailbox document (see docs/performance.md).
 */
export function setMeta<T extends object>(target: T, meta: PSObjectMeta): T {
  META.write(target, meta);
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
  return setMeta([...items], {
    typeNames,
    toStringValue: undefined,
    adapted: [],
    extended: [],
    container: 'LST',
  });
}
