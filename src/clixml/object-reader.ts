// MS-PSRP 2.2.5.2 Serialization of Complex Objects (reading): `<Obj>` with its type names (TN/TNRef
// 2.2.5.2.3), ToString (2.2.5.2.4), a base value, a container (LST/IE/STK/QUE/DCT 2.2.5.2.6) and
// its members (Props/MS 2.2.5.2.8-2.2.5.2.9); enums (2.2.5.2.x) and RefIds (2.2.5.2.1).
import type { XmlReader } from '../internal/xml-reader.js';
import { invalidClixml } from './codecs/primitive-text.js';
import { PRIMITIVE_TAGS } from './codecs/primitive-codecs.js';
import { PSEnumValue } from './enum-value.js';
import { type ContainerKind, type PSObjectMeta, defineData, setMeta } from './ps-object.js';
import { type RefKey, type RefTable } from './ref-table.js';
import { type MemberNames, NO_NAMES, type Shape, ShapeCache } from './shape-cache.js';
import { decodeClixmlString } from './string-escape.js';
import { type TypeMemo, TypeMemos, shared } from './type-memo.js';

/** What reading objects needs from the document being read (the deserializer). */
export interface ObjectSource {
  readonly r: XmlReader;
  readonly refs: RefTable;
  readonly open: unknown[];
  readonly referencedWhileOpen: Set<unknown>;
  readonly maxObjects: number;
  readonly maxTypeNames: number;
  readonly dictAuto: boolean;
  checkDepth(depth: number): void;
  refKey(): RefKey | undefined;
  value(depth: number): unknown;
  content(): string;
}

type Target = unknown[] | Map<unknown, unknown> | Record<string, unknown>;

/** What one `<Obj>` has shown so far while its children are read (one per nesting level, reused). */
interface ObjState extends MemberNames {
  refId: RefKey | undefined;
  typeNames: readonly string[];
  toString: string | undefined;
  /** {@link toString} when it is its text unchanged (see ObjectReader.repeatedText), else undefined. */
  plainToString: string | undefined;
  baseValue: unknown;
  hasBase: boolean;
  container: ContainerKind | undefined;
  /** The array, Map or member bag the object becomes. */
  target: Target | undefined;
  /** A container's own `<Props>`/`<MS>`. */
  containerProps: Record<string, unknown> | undefined;
  /** The shape `target` was made from, if any. */
  shape: Shape | undefined;
  /** Members matched so far against `shape`, or -1 (see {@link ObjectReader.members}). */
  k: number;
  /** The name lists of the finished object (see {@link ObjectReader.memberNames}). */
  adaptedNames: readonly string[];
  extendedNames: readonly string[];
}

/** Reads complex objects for one document. */
export class ObjectReader {
  private readonly typeNames = new Map<RefKey, readonly string[]>();
  /** The type-name lists that name an enum (checked once per `<TN>`, not once per object). */
  private readonly enumTypeNames = new Set<readonly string[]>();
  private readonly shapes = new ShapeCache();
  private readonly memos = new TypeMemos();
  private objects = 0;
  /** Per nesting level of `<Obj>`, its state (an exception ends the whole document, so no unwinding). */
  private readonly states: ObjState[] = [];
  /** Items of the lists being read (see {@link list}). */
  private readonly items: unknown[] = [];
  /** The first free slot of {@link items} (slots above it hold values already in the result). */
  private itemsTop = 0;
  private level = 0;

  constructor(private readonly d: ObjectSource) {}

  /** Reads the `<Obj>` whose start tag was just read. */
  obj(depth: number): unknown {
    const d = this.d;
    const r = d.r;
    if (++this.objects > d.maxObjects) {
      r.fail(`More than ${d.maxObjects} objects`, 'PSRP_CLIXML_TOO_LARGE', r.tagPos);
    }
    const st = this.enter(d.refKey());
    const openMark = d.open.length;
    if (!r.empty) {
      while (!r.atEndTag()) {
        r.readStartTag();
        this.child(st, depth);
      }
      r.endTag('Obj');
    }
    const result = this.finish(st, openMark);
    this.level--;
    return result;
  }

  /** The state for an `<Obj>` one level deeper than the current one, reset. */
  private enter(refId: RefKey | undefined): ObjState {
    let st = this.states[this.level];
    if (st === undefined) {
      st = {
        refId,
        typeNames: NO_NAMES,
        toString: undefined,
        plainToString: undefined,
        baseValue: undefined,
        hasBase: false,
        container: undefined,
        target: undefined,
        containerProps: undefined,
        adapted: undefined,
        extended: undefined,
        shape: undefined,
        k: -1,
        adaptedNames: NO_NAMES,
        extendedNames: NO_NAMES,
      };
      this.states.push(st);
    } else {
      st.refId = refId;
      st.typeNames = NO_NAMES;
      st.toString = undefined;
      st.plainToString = undefined;
      st.baseValue = undefined;
      st.hasBase = false;
      st.container = undefined;
      st.target = undefined;
      st.containerProps = undefined;
      st.adapted = undefined;
      st.extended = undefined;
      st.shape = undefined;
      st.k = -1;
      st.adaptedNames = NO_NAMES;
      st.extendedNames = NO_NAMES;
    }
    this.level++;
    return st;
  }

  /** Reads one child element of an `<Obj>` into its state. */
  private child(st: ObjState, depth: number): void {
    const r = this.d.r;
    const child = r.name;
    switch (child) {
      case 'TN':
        st.typeNames = this.typeNameList();
        return;
      case 'TNRef':
        st.typeNames = this.typeNameRef();
        return;
      case 'ToString':
        this.toStringText(st);
        return;
      case 'LST':
      case 'IE':
      case 'STK':
      case 'QUE':
        this.list(st, child, depth);
        return;
      case 'DCT':
        this.dictionary(st, depth);
        return;
      case 'Props':
      case 'MS':
        this.memberSet(st, child === 'Props', depth);
        return;
      default:
        if (PRIMITIVE_TAGS.has(child) || child === 'Ref' || child === 'Obj') {
          if (st.hasBase) invalidClixml('Two base values in one <Obj>', child, r.tagPos);
          st.baseValue = this.d.value(depth + 1);
          st.hasBase = true;
        } else {
          invalidClixml('Unknown element in <Obj>', child, r.tagPos);
        }
    }
  }

  /** Reads the `<TN>` just started (MS-PSRP 2.2.5.2.3) and remembers it under its RefId. */
  private typeNameList(): readonly string[] {
    const d = this.d;
    const r = d.r;
    const names: string[] = [];
    const id = d.refKey();
    if (!r.empty) {
      while (!r.atEndTag()) {
        r.readStartTag();
        if (r.name !== 'T') invalidClixml('Expected <T> in <TN>', r.name, r.tagPos);
        if (names.length >= d.maxTypeNames) {
          r.fail(`More than ${d.maxTypeNames} type names in one <TN>`, 'PSRP_CLIXML_TOO_LARGE', r.tagPos);
        }
        const t = decodeClixmlString(d.content());
        names.push(t);
        if (t === 'System.Enum' || t === 'Deserialized.System.Enum') this.enumTypeNames.add(names);
      }
      r.endTag('TN');
    }
    if (id !== undefined) this.typeNames.set(id, names);
    return names;
  }

  /** Reads the `<TNRef>` just started: the type names of an earlier `<TN>`. */
  private typeNameRef(): readonly string[] {
    const r = this.d.r;
    const id = this.d.refKey();
    const names = id === undefined ? undefined : this.typeNames.get(id);
    if (names === undefined) invalidClixml(`Unknown TNRef RefId ${id ?? '(missing)'}`, 'TNRef', r.tagPos);
    if (!r.empty) r.endTag('TNRef');
    return names;
  }

  /**
   * Reads the `<ToString>` just started (MS-PSRP 2.2.5.2.4) into `st`: the previous object of the
   * type's string when the text is, character for character, the same (see {@link repeatedText}).
   */
  private toStringText(st: ObjState): void {
    const r = this.d.r;
    const memo = this.memos.of(st.typeNames);
    const last = memo.lastToString;
    if (last !== undefined && !r.empty && r.skipText(last)) {
      r.endTag('ToString');
      st.toString = st.plainToString = last;
      return;
    }
    const start = r.pos;
    const v = decodeClixmlString(this.d.content());
    st.toString = v;
    // `</ToString>` is 11 characters: anything else between start and pos changed the text.
    if (!r.empty && r.pos - start - 11 === v.length) st.plainToString = memo.lastToString = v;
  }

  /** Reads the `<LST>`, `<IE>`, `<STK>` or `<QUE>` just started (MS-PSRP 2.2.5.2.6.1-3). */
  private list(st: ObjState, tag: 'LST' | 'IE' | 'STK' | 'QUE', depth: number): void {
    const d = this.d;
    const r = d.r;
    if (st.container !== undefined) invalidClixml('Two containers in one <Obj>', tag, r.tagPos);
    st.container = tag;
    d.checkDepth(depth + 1);
    const arr: unknown[] = [];
    st.target = arr;
    this.register(st.refId, arr);
    if (r.empty) return;
    // The items go to a stack shared by all lists (nested ones above), then into an array of
    // exactly their number: pushing onto `arr` left it room for 17 (V8's first growth), which the
    // result kept for every three-address EmailAddresses list.
    const items = this.items;
    const mark = this.itemsTop;
    while (!r.atEndTag()) {
      r.readStartTag();
      const v = d.value(depth + 2);
      items[this.itemsTop++] = v;
    }
    r.endTag(tag);
    const end = this.itemsTop;
    // Not `items.length = mark`: V8 frees the store of an array cut to 0, and the next list grew it again.
    this.itemsTop = mark;
    if (end === mark) return;
    if (d.referencedWhileOpen.has(arr)) {
      // An item refers to the list itself: it must stay this array.
      for (let i = mark; i < end; i++) arr.push(items[i]);
    } else {
      const exact = items.slice(mark, end);
      st.target = exact;
      if (st.refId !== undefined) d.refs.set(st.refId, exact);
      // Still open (its object may have members yet): it replaces the list on the open stack.
      const at = d.open.lastIndexOf(arr);
      if (at >= 0) d.open[at] = exact;
    }
  }

  /** Reads the `<DCT>` just started (MS-PSRP 2.2.5.2.6.4) into a Map. */
  private dictionary(st: ObjState, depth: number): void {
    const d = this.d;
    const r = d.r;
    if (st.container !== undefined) invalidClixml('Two containers in one <Obj>', 'DCT', r.tagPos);
    st.container = 'DCT';
    d.checkDepth(depth + 1);
    const map = new Map<unknown, unknown>();
    st.target = map;
    this.register(st.refId, map);
    if (r.empty) return;
    while (!r.atEndTag()) {
      r.readStartTag();
      this.entry(map, depth + 2);
    }
    r.endTag('DCT');
  }

  /** Reads the dictionary entry whose start tag was just read into `map`. */
  private entry(map: Map<unknown, unknown>, depth: number): void {
    const d = this.d;
    const r = d.r;
    const pos = r.tagPos;
    if (r.name !== 'En') invalidClixml('Expected <En> in <DCT>', r.name, pos);
    d.checkDepth(depth);
    let key: unknown;
    let value: unknown = null;
    let hasKey = false;
    if (!r.empty) {
      while (!r.atEndTag()) {
        r.readStartTag();
        const n = r.attrShared('N');
        const name = r.name;
        const childPos = r.tagPos;
        const v = d.value(depth + 1);
        if (n === 'Key') {
          key = v;
          hasKey = true;
        } else if (n === 'Value') value = v;
        else invalidClixml('Dictionary entry member must be Key or Value', name, childPos);
      }
      r.endTag('En');
    }
    if (!hasKey) invalidClixml('Dictionary entry without a Key', 'En', pos);
    map.set(key, value);
  }

  /**
   * Reads the `<Props>` (`isProps`) or `<MS>` just started: into the container's own properties
   * when the object is a list or dictionary, else into its member bag (made from the shape of its
   * type when there is one).
   */
  private memberSet(st: ObjState, isProps: boolean, depth: number): void {
    const target = st.target;
    if (Array.isArray(target) || target instanceof Map) {
      this.members((st.containerProps ??= {}), st, isProps, depth + 1, undefined, -1, undefined);
      return;
    }
    let bag = target;
    if (bag === undefined) {
      const shape = this.shapes.shapeFor(st.typeNames);
      if (shape !== undefined) {
        bag = shape.instantiate();
        st.shape = shape;
        st.k = 0;
      } else {
        bag = {};
      }
      st.target = bag;
      this.register(st.refId, bag);
    }
    st.k = this.members(bag, st, isProps, depth + 1, st.shape, st.k, st.plainToString);
  }

  /** Makes an object being read reachable by RefId (its members may refer back to it). */
  private register(refId: RefKey | undefined, v: object): void {
    if (refId !== undefined) this.d.refs.set(refId, v);
    this.d.open.push(v);
  }

  /**
   * Reads the members of the `<Props>` (`isProps`) or `<MS>` whose start tag was just read into
   * `bag`, recording new names in `names.adapted` or `names.extended`. While `k >= 0`, `bag` was made from
   * `shape` and the members are expected in its order: the k-th matching member fills the k-th
   * property. The first member that does not match ends that (see {@link Shape.leave}). Returns the
   * new k, or -1 once reading is generic.
   */
  private members(
    bag: Record<string, unknown>,
    memberNames: MemberNames,
    isProps: boolean,
    depth: number,
    shape: Shape | undefined,
    k: number,
    toString: string | undefined,
  ): number {
    const d = this.d;
    const r = d.r;
    if (r.empty) return k;
    d.checkDepth(depth);
    const tagName = r.name;
    while (!r.atEndTag()) {
      let name: string;
      let expectedMember = false;
      // The expected member: its start tag as the previous object of the shape had it, compared
      // as a whole; else the tag is read and its name compared (the shape's names have no `_x`
      // escapes).
      const expected = k >= 0 && k < shape!.names.length ? shape!.names[k]! : undefined;
      if (expected !== undefined) {
        const known = shape!.tags[k];
        if (known !== undefined && r.readKnownTag(known)) expectedMember = true;
        else {
          r.readStartTag();
          if (r.attrIs('N', expected)) {
            expectedMember = true;
            // Only a tag with the name alone: one with a RefId would not match the next object's.
            if (r.attrCount === 1) shape!.tags[k] = r.knownTag();
          }
        }
      } else r.readStartTag();
      if (expectedMember) name = expected!;
      else {
        const rawName = r.attrShared('N');
        if (rawName === undefined) invalidClixml('Member without a name (N)', r.name, r.tagPos);
        name = decodeClixmlString(rawName);
      }
      const tag = r.name;
      const v =
        tag === 'MS' || tag === 'Props'
          ? this.nestedMembers(depth)
          : expectedMember && (tag === 'S' || tag === 'G') && !r.empty
            ? this.repeatedText(shape!, k, tag, depth + 1, toString)
            : d.value(depth + 1);
      if (k >= 0) {
        const names = shape!.names;
        if (k < names.length && names[k] === name && k < shape!.adaptedCount === isProps) {
          bag[names[k]!] = v;
          k++;
          continue;
        }
        shape!.leave(bag, k, memberNames);
        k = -1;
      }
      if (!Object.hasOwn(bag, name)) {
        if (isProps) (memberNames.adapted ??= []).push(name);
        else (memberNames.extended ??= []).push(name);
      }
      defineData(bag, name, v);
    }
    r.endTag(tagName);
    return k;
  }

  /**
   * Reads the `<S>` or `<G>` just started as the k-th member of `shape`: when its text is, character
   * for character, the text this member had in the previous object of the shape, that object's
   * string (the same text always reads as the same value); else through {@link ObjectSource.value},
   * remembering the string when it is its text unchanged (no entity, escape, white space trimmed,
   * CDATA or comment). Values that repeat from object to object (PSComputerName, RunspaceId, an
   * organizational unit) are then one string in the result instead of one per object. `toString`
   * is the object's ToString when it is its text unchanged, tried next.
   */
  private repeatedText(
    shape: Shape,
    k: number,
    tag: 'S' | 'G',
    depth: number,
    toString: string | undefined,
  ): unknown {
    const d = this.d;
    const r = d.r;
    const last = shape.texts[k];
    if (last !== undefined && r.skipText(last)) {
      d.checkDepth(depth);
      r.endTag(tag);
      return last;
    }
    // A string member with the text of the object's own ToString (its Name, often): that string.
    if (toString !== undefined && tag === 'S' && r.skipText(toString)) {
      d.checkDepth(depth);
      r.endTag(tag);
      shape.texts[k] = toString;
      return toString;
    }
    const start = r.pos;
    const v = d.value(depth);
    // `</S>` or `</G>` is 4 characters: anything else between start and pos changed the text.
    if (typeof v === 'string' && r.pos - start - 4 === v.length) shape.texts[k] = v;
    return v;
  }

  /** A member that is itself a property set (`<MS N="...">` inside `<MS>`): a plain object. */
  private nestedMembers(depth: number): Record<string, unknown> {
    const inner: Record<string, unknown> = {};
    const innerNames: MemberNames = { adapted: undefined, extended: undefined };
    this.members(inner, innerNames, false, depth + 1, undefined, -1, undefined);
    return setMeta(inner, {
      typeNames: [],
      toStringValue: undefined,
      adapted: [],
      extended: innerNames.extended ?? [],
      container: undefined,
    });
  }

  /** The value an `<Obj>` read into `st` stands for, with its metadata. */
  private finish(st: ObjState, openMark: number): unknown {
    const refs = this.d.refs;
    const { refId, typeNames, hasBase, baseValue, container } = st;
    // An enum: TN includes System.Enum and the base is an integer.
    if (
      hasBase &&
      container === undefined &&
      typeof baseValue === 'number' &&
      this.enumTypeNames.has(typeNames)
    ) {
      const e = new PSEnumValue(baseValue, st.toString ?? String(baseValue), typeNames);
      if (refId !== undefined) refs.set(refId, e);
      return e;
    }
    // A wrapped primitive with no members: the primitive itself.
    if (hasBase && st.target === undefined) {
      if (refId !== undefined) refs.set(refId, baseValue);
      return baseValue;
    }
    if (st.target === undefined) {
      st.target = {};
      if (refId !== undefined) refs.set(refId, st.target);
    }
    this.memberNames(st);
    const adapted = st.adaptedNames;
    const extended = st.extendedNames;
    let result: object = st.target;
    if (container === 'DCT' && this.d.dictAuto && st.target instanceof Map) {
      const obj = this.dictionaryAsObject(st.target);
      if (obj !== undefined) {
        result = obj;
        if (refId !== undefined) refs.set(refId, obj);
      }
    }
    this.d.open.length = openMark;
    let meta: PSObjectMeta;
    if (hasBase || st.containerProps) {
      const own: { -readonly [K in keyof PSObjectMeta]: PSObjectMeta[K] } = {
        typeNames,
        toStringValue: st.toString,
        adapted,
        extended,
        container,
      };
      if (hasBase) own.baseValue = baseValue;
      if (st.containerProps) own.properties = st.containerProps;
      meta = own;
    } else {
      meta = this.plainMeta(typeNames, st.toString, adapted, extended, container);
    }
    // PowerShell exposes an object's members over its base (a deserialized PSObject's Properties):
    // a container's <Props>/<MS> (an XmlElement's attributes, a note on a list), and the members
    // of an object-valued base. They become readable properties here too (`x.Value`), without
    // shadowing what is already there; on a container they are non-enumerable, so it stays a clean
    // array/Map for Object.keys, spread, JSON and equality.
    if (st.containerProps) exposeMembers(result, st.containerProps, false);
    if (
      hasBase &&
      baseValue !== null &&
      typeof baseValue === 'object' &&
      Object.getPrototypeOf(baseValue) === Object.prototype
    ) {
      exposeMembers(result, baseValue as Record<string, unknown>, true);
    }
    return setMeta(result, meta);
  }

  /**
   * The metadata of an object without a base value or container properties: the previous object
   * of the type's record when every field is the same (see {@link TypeMemo}).
   */
  private plainMeta(
    typeNames: readonly string[],
    toStringValue: string | undefined,
    adapted: readonly string[],
    extended: readonly string[],
    container: ContainerKind | undefined,
  ): PSObjectMeta {
    const memo: TypeMemo = this.memos.of(typeNames);
    const last = memo.meta;
    if (
      last !== undefined &&
      last.toStringValue === toStringValue &&
      last.adapted === adapted &&
      last.extended === extended &&
      last.container === container
    ) {
      return shared(last);
    }
    const meta: PSObjectMeta = { typeNames, toStringValue, adapted, extended, container };
    memo.meta = meta;
    return meta;
  }

  /**
   * Sets the adapted and extended member names of a finished object (`st.adaptedNames`,
   * `st.extendedNames`; not a returned pair, which was a garbage array per object): the shape's
   * shared lists when it matched exactly, else the names read. Teaches the shape cache what
   * objects of its type hold.
   */
  private memberNames(st: ObjState): void {
    const shape = st.shape;
    const exact = shape !== undefined && st.k === shape.names.length;
    if (shape !== undefined && !exact && st.k >= 0)
      shape.leave(st.target as Record<string, unknown>, st.k, st);
    const adapted = st.adapted ?? NO_NAMES;
    const extended = st.extended ?? NO_NAMES;
    if (st.container === undefined && st.typeNames.length > 0) {
      this.shapes.learn(st.typeNames, shape !== undefined && !exact ? shape : undefined, adapted, extended);
    }
    st.adaptedNames = exact ? shape.adapted : adapted;
    st.extendedNames = exact ? shape.extended : extended;
  }

  /**
   * A dictionary whose keys are all strings as a plain object, or undefined (other keys, or the Map
   * was reached by a `<Ref>` while it was read and must keep its identity).
   */
  private dictionaryAsObject(map: Map<unknown, unknown>): Record<string, unknown> | undefined {
    if (this.d.referencedWhileOpen.has(map)) return undefined;
    for (const k of map.keys()) if (typeof k !== 'string') return undefined;
    const obj: Record<string, unknown> = {};
    for (const [k, v] of map) defineData(obj, k as string, v);
    return obj;
  }
}

/** Defines `members` on `target` where it has no such property yet (see the end of `finish()`). */
function exposeMembers(
  target: object,
  members: Readonly<Record<string, unknown>>,
  enumerable: boolean,
): void {
  for (const name of Object.keys(members)) {
    if (name in target) continue;
    Object.defineProperty(target, name, {
      value: members[name],
      enumerable,
      writable: true,
      configurable: true,
    });
  }
}
