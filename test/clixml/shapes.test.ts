/**
 * Objects of one type are read with a learned shape (a template with every member, filled in
 * place). These tests make objects of one type differ in every way a shape can miss (fewer, more,
 * reordered, duplicated, escaped or special member names, members moving between <Props> and
 * <MS>) and check that each object comes out exactly as the member list says, whatever the
 * objects before it looked like.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { deserializeClixml, encodeClixmlString, psMeta } from '../../src/clixml/index.js';

interface Member {
  readonly name: string;
  readonly value: number;
  /** In <MS> (extended) rather than <Props> (adapted). */
  readonly extended: boolean;
}

const esc = (n: string): string => encodeClixmlString(n, true);

/** A document of objects sharing one <TN> (the first) and <TNRef> (the rest). */
function document(objects: readonly (readonly Member[])[]): string {
  const body = objects.map((members, i) => {
    const tn = i === 0 ? '<TN RefId="0"><T>Test.Thing</T><T>System.Object</T></TN>' : '<TNRef RefId="0" />';
    const props = members.filter((m) => !m.extended).map((m) => `<I32 N="${esc(m.name)}">${m.value}</I32>`);
    const ms = members.filter((m) => m.extended).map((m) => `<I32 N="${esc(m.name)}">${m.value}</I32>`);
    return `<Obj RefId="${i + 1}">${tn}<Props>${props.join('')}</Props><MS>${ms.join('')}</MS></Obj>`;
  });
  return `<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04">${body.join('')}</Objs>`;
}

/** What one object must read as: last value wins, first occurrence fixes the order. */
function expected(members: readonly Member[]): {
  keys: string[];
  values: Record<string, number>;
  adapted: string[];
  extended: string[];
} {
  const keys: string[] = [];
  const values: Record<string, number> = {};
  const adapted: string[] = [];
  const extended: string[] = [];
  // Props come before MS in the document.
  for (const m of [...members.filter((x) => !x.extended), ...members.filter((x) => x.extended)]) {
    if (!keys.includes(m.name)) {
      keys.push(m.name);
      (m.extended ? extended : adapted).push(m.name);
    }
    Object.defineProperty(values, m.name, {
      value: m.value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return { keys, values, adapted, extended };
}

function check(objects: readonly (readonly Member[])[]): void {
  const got = deserializeClixml(document(objects)) as Record<string, unknown>[];
  expect(got).toHaveLength(objects.length);
  objects.forEach((members, i) => {
    const want = expected(members);
    const obj = got[i]!;
    // Integer-like keys enumerate first in any JS object; compare as sets plus values.
    expect(Object.keys(obj).sort()).toEqual([...want.keys].sort());
    if (!want.keys.some((k) => /^\d+$/.test(k))) expect(Object.keys(obj)).toEqual(want.keys);
    for (const k of want.keys)
      expect(Object.getOwnPropertyDescriptor(obj, k)?.value, `${i}.${k}`).toBe(want.values[k]);
    expect(Object.getPrototypeOf(obj)).toBe(Object.prototype);
    const meta = psMeta(obj)!;
    expect(meta.adapted).toEqual(want.adapted);
    expect(meta.extended).toEqual(want.extended);
    expect(meta.typeNames).toEqual(['Test.Thing', 'System.Object']);
  });
}

const base = (n: number, offset = 0): Member[] =>
  Array.from({ length: n }, (_, i) => ({ name: `Member${i}`, value: i + offset, extended: i >= n - 2 }));

describe('CLIXML objects read with a learned shape', () => {
  it('reads many objects of one layout, sharing nothing mutable between them', () => {
    const objects = Array.from({ length: 5 }, (_, j) => base(20, j * 100));
    check(objects);
    const got = deserializeClixml(document(objects)) as Record<string, unknown>[];
    got[3]!['Member0'] = 'changed';
    expect(got[4]!['Member0']).toBe(400);
    expect(got[2]!['Member0']).toBe(200);
  });

  it('reads objects that differ from the learned layout exactly as written', () => {
    const b = base(20);
    const cases: Member[][] = [
      b.slice(0, 10), // fewer members, stops inside <Props>
      b.slice(0, 18), // all of <Props>, no <MS>
      [...b, { name: 'Extra', value: 7, extended: false }], // one more
      [b[1]!, b[0]!, ...b.slice(2)], // reordered
      [...b.slice(0, 5), { name: 'Member2', value: 99, extended: false }, ...b.slice(5)], // duplicate
      b.map((m) => (m.name === 'Member17' ? { ...m, extended: true } : m)), // moved from Props to MS
      b.map((m) => (m.name === 'Member5' ? { ...m, name: 'has space_x and <&>' } : m)), // escaped name
      b.map((m) => (m.name === 'Member6' ? { ...m, name: '__proto__' } : m)),
      b.map((m) => (m.name === 'Member7' ? { ...m, name: '12' } : m)), // an integer-like key
      [], // no members at all
    ];
    for (const c of cases) check([b, b, c, b, c, b]);
  });

  it('reads small objects (two to eleven members) with a shape too, exactly as written', () => {
    // Two members are enough for a shape (the ADObjectId in each mailbox has five), made once a
    // few objects of the type have been read; the same deviations as above, on a small layout.
    const b = base(5);
    const warm = [b, b, b, b, b, b, b, b];
    const cases: Member[][] = [
      b.slice(0, 1),
      [...b, { name: 'Extra', value: 7, extended: true }],
      [b[1]!, b[0]!, ...b.slice(2)],
      b.map((m) => (m.name === 'Member3' ? { ...m, extended: false } : m)),
      b.map((m) => (m.name === 'Member1' ? { ...m, name: '__proto__' } : m)),
      [],
    ];
    for (const c of cases) check([...warm, c, b, c, b]);
    for (let n = 2; n < 12; n++) check(Array.from({ length: 8 }, (_, j) => base(n, j)));
    // The shape's name lists are shared between the objects that match it and cannot be changed.
    const got = deserializeClixml(document(warm)) as object[];
    expect(psMeta(got[7]!)!.adapted).toBe(psMeta(got[6]!)!.adapted);
    expect(Object.isFrozen(psMeta(got[7]!)!.adapted)).toBe(true);
    // Not for a type seen only a few times: those objects keep lists of their own.
    const few = deserializeClixml(document([b, b, b])) as object[];
    expect(psMeta(few[2]!)!.adapted).not.toBe(psMeta(few[1]!)!.adapted);
  });

  it('reuses a member text repeated from the previous object only when the text is the same', () => {
    // Raw texts of one <S> member (and one <G>) in consecutive objects of a type: repeats, texts
    // that decode to something else (entities, _x escapes, CDATA, comments, white space), and texts
    // that decode to the same string as the previous one from another raw form.
    const texts: [string, string][] = [
      ['srv01.contoso.com', 'srv01.contoso.com'],
      ['srv01.contoso.com', 'srv01.contoso.com'],
      ['a&amp;b', 'a&b'],
      ['a&amp;b', 'a&b'],
      ['a&#38;b', 'a&b'],
      ['a&b'.replace('&', '&amp;'), 'a&b'],
      ['_x0041_', 'A'],
      ['A', 'A'],
      ['_x0041_', 'A'],
      ['A<![CDATA[B]]>', 'AB'],
      ['AB', 'AB'],
      ['A<!-- c -->B', 'AB'],
      ['A B', 'A B'],
      ['A', 'A'],
      ['', ''],
      ['', ''],
      ['A', 'A'],
    ];
    const guid = (i: number): [string, string] =>
      i % 3 === 2
        ? [' 8cd61acc-b305-4a5a-b976-53af96710d8e ', '8cd61acc-b305-4a5a-b976-53af96710d8e']
        : ['8cd61acc-b305-4a5a-b976-53af96710d8e', '8cd61acc-b305-4a5a-b976-53af96710d8e'];
    const body = texts.map(([raw], i) => {
      const tn = i === 0 ? '<TN RefId="0"><T>Test.Thing</T></TN>' : '<TNRef RefId="0" />';
      return `<Obj RefId="${i}">${tn}<Props><S N="Host">${raw}</S><G N="Id">${guid(i)[0]}</G><I32 N="N">${i}</I32></Props></Obj>`;
    });
    for (const preserveTypes of [false, true]) {
      const got = deserializeClixml(`<Objs>${body.join('')}</Objs>`, { preserveTypes }) as Record<
        string,
        unknown
      >[];
      texts.forEach(([raw, want], i) => {
        expect(got[i]!['Host'], `${i}: ${raw}`).toBe(want);
        expect(String(got[i]!['Id'])).toBe(guid(i)[1]);
        expect(got[i]!['N']).toBe(i);
      });
      if (preserveTypes) expect(got[1]!['Id']).not.toBe(got[0]!['Id']); // a PSTypedValue each
    }
  });

  it('recognises a member tag written exactly as before, and reads any other spelling of it', () => {
    // Per object, the member between A and B as written; the tag of the previous object of the
    // type is compared as a whole, so every other spelling must still read as what it says.
    const forms: [string, string, unknown][] = [
      ['<S N="Host">a</S>', 'Host', 'a'],
      ['<S N="Host">b</S>', 'Host', 'b'],
      ["<S N='Host'>c</S>", 'Host', 'c'],
      ['<S N="Host">d</S>', 'Host', 'd'],
      ['<S  N="Host" >e</S>', 'Host', 'e'],
      ['<S N="Host"/>', 'Host', ''],
      ['<S N="Host" />', 'Host', ''],
      ['<Nil N="Host" />', 'Host', null],
      ['<I32 N="Host">5</I32>', 'Host', 5],
      ['<I32 N="Host">6</I32>', 'Host', 6],
      ['<S N="Ho&#115;t">f</S>', 'Host', 'f'],
      ['<S N="Ho&#115;t">g</S>', 'Host', 'g'],
      ['<S N="Host">h</S>', 'Host', 'h'],
      ['<S N="Hostx">i</S>', 'Hostx', 'i'],
      ['<S N="Hos">j</S>', 'Hos', 'j'],
      ['<S N="Host">k</S>', 'Host', 'k'],
      ['<S N="Host" Extra="1">l</S>', 'Host', 'l'],
      ['<S N="Host">m</S>', 'Host', 'm'],
    ];
    const warm = Array.from({ length: 6 }, (): [string, string, unknown] => [
      '<S N="Host">w</S>',
      'Host',
      'w',
    ]);
    const all = [...warm, ...forms];
    const body = all.map(([member], i) => {
      const tn = i === 0 ? '<TN RefId="0"><T>Test.Tagged</T></TN>' : '<TNRef RefId="0" />';
      return `<Obj RefId="${i + 1}">${tn}<Props><I32 N="A">${i}</I32>${member}<I32 N="B">${-i}</I32></Props></Obj>`;
    });
    const xml = `<Objs>${body.join('')}</Objs>`;
    const got = deserializeClixml(xml) as Record<string, unknown>[];
    all.forEach(([member, name, value], i) => {
      expect(Object.keys(got[i]!), member).toEqual(['A', name, 'B']);
      expect(got[i]![name], member).toBe(value);
      expect(got[i]!['A']).toBe(i);
      expect(psMeta(got[i]!)!.adapted).toEqual(['A', name, 'B']);
    });
    // Cut anywhere inside the last objects (in the middle of a tag that matched before too), the
    // document is refused with a typed error.
    const from = xml.length - body.slice(-3).join('').length;
    for (let cut = from; cut < xml.length - 1; cut++) {
      expect(() => deserializeClixml(xml.slice(0, cut)), `cut at ${cut}`).toThrow(
        expect.objectContaining({ code: expect.stringMatching(/^PSRP_(XML|CLIXML)_/) }) as Error,
      );
    }
  });

  it('gives up on shapes for a type whose objects keep differing, with the same results', () => {
    const objects = Array.from({ length: 40 }, (_, j) => base(12 + (j % 7), j));
    check(objects);
  });

  it('matches the member lists for generated sequences of objects (property)', () => {
    const names = fc.constantFrom(
      'A',
      'B',
      'C',
      'D',
      'E',
      'F',
      'G',
      'H',
      'I',
      'J',
      'K',
      'L',
      'M',
      'N',
      '_x0041_',
      '7',
      'toString',
    );
    const member = fc.record({ name: names, value: fc.integer({ min: -5, max: 5 }), extended: fc.boolean() });
    const layout = fc.array(member, { minLength: 0, maxLength: 18 });
    fc.assert(
      fc.property(
        fc.array(layout, { minLength: 1, maxLength: 6 }),
        fc.array(fc.nat(5), { maxLength: 12 }),
        (layouts, picks) => {
          // Mostly repeat the first layout (so shapes are learned and used), sometimes another.
          const full = [...'ABCDEFGHIJKLMN'].map((name, i) => ({ name, value: i, extended: i > 11 }));
          const pool = [full, ...layouts];
          check([full, full, ...picks.map((p) => pool[p % pool.length]!)]);
        },
      ),
      { numRuns: 200 },
    );
  });
});
