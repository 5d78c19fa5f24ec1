// MS-PSRP 2.2.5.2.8-2.2.5.2.9 (Props, MS): the member layouts of the objects of one type, which
// PowerShell writes with the same members in the same order (10,000 mailboxes of ~60 members each),
// remembered so that the deserializer can build the next object of the type from a template.

import type { KnownTag } from '../internal/xml-reader.js';

/** The member names of an object read without a shape, and how often shapes of its type missed. */
interface ShapeCandidate {
  readonly adapted: readonly string[];
  readonly extended: readonly string[];
  readonly misses: number;
  /** Objects of the type read since (generically, before a shape is made). */
  seen: number;
}

/** Members from which a shape is made as soon as a second object of its type comes. */
const LARGE_SHAPE = 12;
/**
 * Objects of a type with fewer members read before a shape is made for it: a small type pays for
 * its shape (template, frozen lists) over many objects (the ADObjectId in each of 10,000
 * mailboxes), not in a document holding two or three of it.
 */
const SMALL_SHAPE_AFTER = 4;

/** The member names of an object being read, each list made when its first name comes. */
export interface MemberNames {
  adapted: string[] | undefined;
  extended: string[] | undefined;
}

/** The name list of an object without such members (shared: frozen). */
export const NO_NAMES: readonly string[] = Object.freeze([]);

/** Shapes given up after this many objects of the type did not match. */
const MAX_SHAPE_MISSES = 8;

/**
 * The member layout shared by objects of one type. An object read with a shape starts as a copy of
 * a template holding every member (JSON.parse of a fixed text, which V8 builds as a compact
 * fast-mode object; adding 60 members one by one makes a much larger dictionary-mode object) and
 * its members are filled in place; its name lists are the shape's, shared (they are frozen). An
 * object that turns out different falls back to generic reading (see {@link Shape.leave}), so the
 * result is the same either way.
 */
export class Shape {
  misses = 0;
  /** Per member, its text in the last object read with this shape, when it was a string read unchanged (see ObjectReader.repeatedText). */
  readonly texts: (string | undefined)[];
  /** Per member, its start tag in the last object read with this shape, when it had no other attribute (see XmlReader.readKnownTag). */
  readonly tags: (KnownTag | undefined)[];
  private constructor(
    readonly names: readonly string[],
    readonly adaptedCount: number,
    readonly adapted: readonly string[],
    readonly extended: readonly string[],
    private readonly json: string,
  ) {
    this.texts = new Array<string | undefined>(names.length).fill(undefined);
    this.tags = new Array<KnownTag | undefined>(names.length).fill(undefined);
  }

  /** A shape for objects with these members, or null when a shape would not help or not be safe. */
  static create(adapted: readonly string[], extended: readonly string[]): Shape | null {
    const names = [...adapted, ...extended];
    // From two members on: besides the template, a shape shares its frozen name lists, where an
    // object read generically makes two arrays of its own that the result keeps (the ADObjectId in
    // every mailbox). Special keys keep going through defineData.
    if (names.length < 2 || names.length > 1000) return null;
    // Names are matched against the raw attribute text, which equals the name only without escapes.
    if (names.some((n) => n === '__proto__' || n === 'constructor' || n === 'prototype' || /_x/i.test(n))) {
      return null;
    }
    const json = `{${names.map((n) => `${JSON.stringify(n)}:null`).join(',')}}`;
    return new Shape(
      Object.freeze(names),
      adapted.length,
      adapted.length === 0 ? NO_NAMES : Object.freeze([...adapted]),
      extended.length === 0 ? NO_NAMES : Object.freeze([...extended]),
      json,
    );
  }

  /**
   * A new object holding every member of the shape, each null. (Not a spread of a template object,
   * which is faster to make: V8 gives each copy a map of its own, so the metadata added next (a
   * symbol property then, a private field now: measured for both) costs a new map per object, and
   * the whole parse ran 2x slower.)
   */
  instantiate(): Record<string, unknown> {
    return JSON.parse(this.json) as Record<string, unknown>;
  }

  /**
   * Turns an object made from this shape whose first `k` members matched into what generic reading
   * would have made: the names so far into `into.adapted`/`into.extended`, the properties not read removed
   * (last first).
   */
  leave(bag: Record<string, unknown>, k: number, into: MemberNames): void {
    const names = this.names;
    const split = Math.min(k, this.adaptedCount);
    for (let i = 0; i < split; i++) (into.adapted ??= []).push(names[i]!);
    for (let i = this.adaptedCount; i < k; i++) (into.extended ??= []).push(names[i]!);
    for (let i = names.length - 1; i >= k; i--) delete bag[names[i]!];
    this.misses++;
  }
}

/**
 * Per type-name list (the array a `<TN>` made and its `<TNRef>`s return): the member names of the
 * first object read, then the {@link Shape} made from them, or null when objects of that type keep
 * differing. One cache per document (type names are scoped to it).
 */
export class ShapeCache {
  private readonly shapes = new Map<readonly string[], ShapeCandidate | Shape | null>();

  /**
   * The shape objects of these type names have been seen to take, once two have been read: the
   * first one's member names are only remembered (a single object, such as a PSRP message, does not
   * pay for a shape).
   */
  shapeFor(typeNames: readonly string[]): Shape | undefined {
    const known = this.shapes.get(typeNames);
    if (known === undefined || known === null || known instanceof Shape) return known ?? undefined;
    if (known.adapted.length + known.extended.length < LARGE_SHAPE && known.seen < SMALL_SHAPE_AFTER) {
      return undefined;
    }
    const shape = Shape.create(known.adapted, known.extended);
    if (shape !== null) shape.misses = known.misses;
    this.shapes.set(typeNames, shape);
    return shape ?? undefined;
  }

  /**
   * Remembers the member names of an object of these type names (see {@link shapeFor}); `missed`
   * is the shape it was read with when it did not match.
   */
  learn(
    typeNames: readonly string[],
    missed: Shape | undefined,
    adapted: readonly string[],
    extended: readonly string[],
  ): void {
    const known = this.shapes.get(typeNames);
    if (known === undefined) this.shapes.set(typeNames, { adapted, extended, misses: 0, seen: 0 });
    else if (missed !== undefined && known === missed) {
      // Objects of this type differ: follow the latest for a while, then stop using shapes for it.
      const misses = missed.misses;
      this.shapes.set(typeNames, misses < MAX_SHAPE_MISSES ? { adapted, extended, misses, seen: 0 } : null);
    } else if (known !== null && !(known instanceof Shape)) known.seen++;
  }
}
