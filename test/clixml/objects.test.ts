import { describe, expect, it, vi } from 'vitest';
import type * as Clixml from '../../src/clixml/index.js';
import {
  PS_META,
  PSEnumValue,
  createPSObject,
  deserializeClixml,
  deserializeObject,
  psEnum,
  psMeta,
  serializeClixml,
  serializeObject,
} from '../../src/clixml/index.js';

describe('CLIXML complex objects (MS-PSRP 2.2.5.2)', () => {
  it('reads adapted and extended members as plain properties, metadata out of sight', () => {
    const v = deserializeObject(
      '<Obj RefId="0"><TN RefId="0"><T>System.IO.FileInfo</T><T>System.Object</T></TN><ToString>C:\\a.txt</ToString>' +
        '<Props><S N="Name">a.txt</S><I64 N="Length">12</I64></Props><MS><S N="PSComputerName">srv</S></MS></Obj>',
    ) as Record<string, unknown>;
    expect(v).toEqual({ Name: 'a.txt', Length: 12, PSComputerName: 'srv' });
    expect(Object.keys(v)).toEqual(['Name', 'Length', 'PSComputerName']);
    expect(JSON.stringify(v)).toBe('{"Name":"a.txt","Length":12,"PSComputerName":"srv"}');
    const meta = psMeta(v)!;
    expect(meta.typeNames).toEqual(['System.IO.FileInfo', 'System.Object']);
    expect(meta.toStringValue).toBe('C:\\a.txt');
    expect(meta.adapted).toEqual(['Name', 'Length']);
    expect(meta.extended).toEqual(['PSComputerName']);
  });

  it('keeps metadata out of every reflection, and reads metadata attached by hand', () => {
    const v = deserializeObject(
      '<Obj RefId="0"><TN RefId="0"><T>Thing</T></TN><Props><S N="A">a</S></Props></Obj>',
    ) as Record<string, unknown>;
    expect(Object.getOwnPropertySymbols(v)).toEqual([]);
    expect(Reflect.ownKeys(v)).toEqual(['A']);
    expect({ ...v }).toEqual({ A: 'a' });
    expect(psMeta({ ...v })).toBeUndefined();
    expect(psMeta(structuredClone(v))).toBeUndefined();
    expect(psMeta(v)!.typeNames).toEqual(['Thing']);
    // An array and a Map carry it too, and stay clean.
    const list = deserializeObject('<Obj RefId="0"><TN RefId="0"><T>L</T></TN><LST><I32>1</I32></LST></Obj>');
    expect(Reflect.ownKeys(list as object)).toEqual(['0', 'length']);
    expect(psMeta(list)!.container).toBe('LST');
    // Metadata attached by hand under PS_META is read and written back.
    const hand = {
      X: 1,
      [PS_META]: {
        typeNames: ['My.Type'],
        toStringValue: 't',
        adapted: ['X'],
        extended: [],
        container: undefined,
      },
    };
    expect(psMeta(hand)!.typeNames).toEqual(['My.Type']);
    expect(serializeObject(hand)).toContain('<T>My.Type</T>');
    // The metadata of createPSObject survives a serialize/deserialize round trip.
    const made = createPSObject({ typeNames: ['Made'], properties: { P: 1 } });
    expect(psMeta(deserializeObject(serializeObject(made)))!.typeNames).toEqual(['Made']);
  });

  it('shares one metadata field between two loaded copies of the module', async () => {
    vi.resetModules();
    // Another URL for the same file: a second instance of the module, as a second copy of psrp.
    const copy = '../../src/clixml/index.js?copy';
    const other = (await import(/* @vite-ignore */ copy)) as typeof Clixml;
    expect(other.psMeta).not.toBe(psMeta);
    const fromOther = other.createPSObject({ typeNames: ['Other'] });
    expect(psMeta(fromOther)!.typeNames).toEqual(['Other']);
    const fromHere = createPSObject({ typeNames: ['Here'] });
    expect(other.psMeta(fromHere)!.typeNames).toEqual(['Here']);
  });

  it('shares the metadata record and ToString of consecutive objects of a type when they are the same', () => {
    // Type A (twelve members: read with a shape from its second object on, whose member lists are
    // shared): one object to learn it, the same ToString three times, then another, then the
    // first again (as a character reference); a base value and container members each keep a
    // record of their own.
    const props = (i: number): string =>
      `<Props>${Array.from({ length: 12 }, (_, k) => `<I32 N="P${k}">${i}</I32>`).join('')}</Props>`;
    const a = (i: number, ts: string, extra = ''): string =>
      `<Obj RefId="${i}">${i === 1 ? '<TN RefId="0"><T>A</T></TN>' : '<TNRef RefId="0" />'}<ToString>${ts}</ToString>${extra}${props(i)}</Obj>`;
    const objs = [
      a(1, 'ou/Users'),
      a(2, 'ou/Users'),
      a(3, 'ou/Users'),
      a(4, 'ou/Users'),
      a(5, 'ou/Other'),
      a(6, 'ou&#x2F;Users'),
      a(7, 'ou/Users', '<S>base</S>'),
      '<Obj RefId="8"><TN RefId="1"><T>L</T></TN><LST><I32>1</I32></LST></Obj>',
      '<Obj RefId="9"><TNRef RefId="1" /><LST><I32>2</I32></LST></Obj>',
      '<Obj RefId="10"><TNRef RefId="1" /><LST><I32>3</I32></LST><Props><S N="Note">x</S></Props></Obj>',
    ];
    const got = deserializeClixml(`<Objs>${objs.join('')}</Objs>`) as object[];
    const m = got.map((o) => psMeta(o)!);
    expect(m.map((x) => x.toStringValue)).toEqual([
      'ou/Users',
      'ou/Users',
      'ou/Users',
      'ou/Users',
      'ou/Other',
      'ou/Users',
      'ou/Users',
      undefined,
      undefined,
      undefined,
    ]);
    expect(m[0]!.adapted).toHaveLength(12);
    expect(m[2]).toBe(m[1]);
    expect(m[3]).toBe(m[1]);
    expect(m[4]).not.toBe(m[1]);
    expect(m[5]).not.toBe(m[4]);
    expect(m[5]!.toStringValue).toBe('ou/Users');
    expect(m[6]).not.toBe(m[5]);
    expect(m[6]!.baseValue).toBe('base');
    expect(m[8]).toBe(m[7]);
    expect(m[9]).not.toBe(m[8]);
    expect(m[9]!.properties).toEqual({ Note: 'x' });
    expect(got.map((o) => (o as Record<string, unknown>)['P0'])).toEqual([
      1,
      2,
      3,
      4,
      5,
      6,
      7,
      undefined,
      undefined,
      undefined,
    ]);
    // A shared record is frozen; one of its own is not (it may be shared later).
    expect(Object.isFrozen(m[1])).toBe(true);
    expect(Object.isFrozen(m[4])).toBe(false);
    expect(() => {
      (m[1] as { toStringValue: string }).toStringValue = 'changed';
    }).toThrow(TypeError);
    expect(m[2]!.toStringValue).toBe('ou/Users');
    // Values are never shared: each enum <Obj> is its own PSEnumValue (a round trip writes what it read).
    const e = '<TN RefId="2"><T>E</T><T>System.Enum</T></TN>';
    const enums = deserializeClixml(
      `<Objs><Obj RefId="1">${e}<ToString>Red</ToString><I32>1</I32></Obj><Obj RefId="2"><TNRef RefId="2" /><ToString>Red</ToString><I32>1</I32></Obj></Objs>`,
    );
    expect(enums[0]).toBeInstanceOf(PSEnumValue);
    expect(enums[1]).not.toBe(enums[0]);
  });

  it('reads a member that repeats the object ToString as its own text says', () => {
    const tn = (i: number): string => (i === 0 ? '<TN RefId="0"><T>T</T></TN>' : '<TNRef RefId="0" />');
    // ToString and Name per object: [ToString raw, Name raw, Name value].
    const rows: [string, string, string][] = [
      ['Alice Smith 100', 'Alice Smith 100', 'Alice Smith 100'],
      ['Bob Okafor 101', 'Bob Okafor 101', 'Bob Okafor 101'],
      ['_x0041_ Chen 102', '_x0041_ Chen 102', 'A Chen 102'],
      ['Dana Garcia 103', '_x0044_ana Garcia 103', 'Dana Garcia 103'],
      ['a &amp; b and more', 'a &amp; b and more', 'a & b and more'],
      ['Eve Tanaka 104', 'Eve Tanaka 104 ', 'Eve Tanaka 104 '],
      ['Femi Nguyen 105', 'Femi Nguyen 105', 'Femi Nguyen 105'],
    ];
    const body = rows.map(
      ([ts, name], i) =>
        `<Obj RefId="${i + 1}">${tn(i)}<ToString>${ts}</ToString><Props><S N="Name">${name}</S><I32 N="N">${i}</I32></Props></Obj>`,
    );
    const got = deserializeClixml(`<Objs>${body.join('')}</Objs>`) as Record<string, unknown>[];
    rows.forEach(([, , want], i) => expect(got[i]!['Name'], `row ${i}`).toBe(want));
    // A ToString decoded from an entity is never matched against raw text: a bare & is refused.
    const bad = [
      ...body.slice(0, 4),
      `<Obj RefId="9">${tn(1)}<ToString>a &amp; b and more</ToString><Props><S N="Name">a & b and more</S><I32 N="N">9</I32></Props></Obj>`,
    ];
    expect(() => deserializeClixml(`<Objs>${bad.join('')}</Objs>`)).toThrow(
      expect.objectContaining({ code: 'PSRP_XML_MALFORMED' }) as Error,
    );
  });

  it('resolves RefIds numbered out of document order, far ahead, as strings, and redefined', () => {
    // Each outer object numbered after its members (ids ahead of the count), one id far ahead, a
    // string id; then a <Ref> to each. Every Ref must reach the object its RefId last named.
    const item = (outer: number, inner: number): string =>
      `<Obj RefId="${outer}"><MS><Obj N="inner" RefId="${inner}"><MS><I32 N="n">${inner}</I32></MS></Obj></MS></Obj>`;
    const xml =
      '<Objs>' +
      item(1, 0) +
      item(3, 2) +
      item(70, 4) +
      item(100000, 5) +
      '<Obj RefId="x1"><MS><I32 N="n">-1</I32></MS></Obj>' +
      '<Obj RefId="0"><MS><S N="again">yes</S></MS></Obj>' +
      '<Ref RefId="1" /><Ref RefId="2" /><Ref RefId="70" /><Ref RefId="4" /><Ref RefId="100000" /><Ref RefId="5" /><Ref RefId="x1" /><Ref RefId="0" />' +
      '</Objs>';
    const v = deserializeClixml(xml) as Record<string, unknown>[];
    const [a, b, c, far, str, again, ...refs] = v;
    expect(refs).toHaveLength(8);
    expect(refs[0]).toBe(a);
    expect(refs[1]).toBe(b!.inner);
    expect(refs[2]).toBe(c);
    expect(refs[3]).toBe(c!.inner);
    expect(refs[4]).toBe(far);
    expect(refs[5]).toBe(far!.inner);
    expect(refs[6]).toBe(str);
    expect(refs[7]).toBe(again);
    expect(refs[7]).not.toBe(a!.inner);
    expect(() => deserializeClixml('<Objs><Obj RefId="5" /><Ref RefId="3" /></Objs>')).toThrow(
      expect.objectContaining({ code: 'PSRP_CLIXML_INVALID' }),
    );
  });

  it('keeps a list the same array for Refs inside it, after it, and from its own members', () => {
    const v = deserializeClixml(
      '<Objs>' +
        '<Obj RefId="0"><LST><S>a</S><Ref RefId="0" /><Obj RefId="1"><LST><I32>1</I32><I32>2</I32></LST></Obj></LST></Obj>' +
        '<Obj RefId="2"><LST><S>x</S><S>y</S></LST><MS><Ref N="Self" RefId="2" /><Ref N="Inner" RefId="1" /></MS></Obj>' +
        '<Ref RefId="0" /><Ref RefId="1" /><Ref RefId="2" />' +
        '</Objs>',
    ) as unknown[][];
    const [selfList, withMembers, r0, r1, r2] = v;
    expect(selfList).toHaveLength(3);
    expect(selfList![1]).toBe(selfList);
    expect(selfList![2]).toEqual([1, 2]);
    expect(r0).toBe(selfList);
    expect(r1).toBe(selfList![2]);
    expect(withMembers).toEqual(['x', 'y']);
    expect((withMembers as unknown as { Self: unknown }).Self).toBe(withMembers);
    expect((withMembers as unknown as { Inner: unknown }).Inner).toBe(selfList![2]);
    expect(r2).toBe(withMembers);
    expect(psMeta(withMembers)!.container).toBe('LST');
  });

  it('resolves TNRef, shared references and cycles to the same JS objects', () => {
    const v = deserializeObject(
      '<Obj RefId="0"><TN RefId="0"><T>A</T></TN><MS>' +
        '<Obj N="x" RefId="1"><TNRef RefId="0" /><MS><Ref N="self" RefId="1" /><Ref N="root" RefId="0" /></MS></Obj>' +
        '<Ref N="y" RefId="1" /></MS></Obj>',
    ) as { x: { self: unknown; root: unknown }; y: unknown };
    expect(v.y).toBe(v.x);
    expect(v.x.self).toBe(v.x);
    expect(v.x.root).toBe(v);
    expect(psMeta(v.x)!.typeNames).toEqual(['A']);
    // Writing it back keeps the graph: Ref for repeats and cycles, TNRef for repeated type names.
    const xml = serializeObject(v);
    expect(xml).toContain('<Ref N="self" RefId="1" />');
    expect(xml).toContain('<TNRef RefId="0" />');
    const again = deserializeObject(xml) as typeof v;
    expect(again.x.self).toBe(again.x);
    expect(again.y).toBe(again.x);
  });

  it('reads enums as value + name', () => {
    const e = deserializeObject(
      '<Obj RefId="0"><TN RefId="0"><T>System.ConsoleColor</T><T>System.Enum</T><T>System.ValueType</T><T>System.Object</T></TN><ToString>Red</ToString><I32>12</I32></Obj>',
    ) as PSEnumValue;
    expect(e).toBeInstanceOf(PSEnumValue);
    expect(e.value).toBe(12);
    expect(e.name).toBe('Red');
    expect(`${e}`).toBe('Red');
    expect(+e).toBe(12);
    expect(JSON.stringify({ e })).toBe('{"e":"Red"}');
    expect(serializeObject(psEnum('System.ConsoleColor', 'Red', 12))).toBe(
      '<Obj RefId="0"><TN RefId="0"><T>System.ConsoleColor</T><T>System.Enum</T><T>System.ValueType</T><T>System.Object</T></TN><ToString>Red</ToString><I32>12</I32></Obj>',
    );
  });

  it('reads LST/IE/STK/QUE as arrays and keeps the container kind', () => {
    for (const tag of ['LST', 'IE', 'STK', 'QUE']) {
      const v = deserializeObject(
        `<Obj RefId="0"><TN RefId="0"><T>X</T></TN><${tag}><I32>1</I32><S>a</S></${tag}></Obj>`,
      );
      expect(v).toEqual([1, 'a']);
      expect(psMeta(v)!.container).toBe(tag);
      expect(serializeObject(v)).toContain(`<${tag}><I32>1</I32><S>a</S></${tag}>`);
    }
    // A container object's own properties stay in metadata, the array stays clean.
    const mv = deserializeObject(
      '<Obj RefId="0"><TN RefId="0"><T>MV</T></TN><LST><S>a</S></LST><Props><B N="IsReadOnly">true</B></Props></Obj>',
    );
    expect(mv).toEqual(['a']);
    expect(psMeta(mv)!.properties).toEqual({ IsReadOnly: true });
    expect(serializeObject(mv)).toContain('<Props><B N="IsReadOnly">true</B></Props>');
  });

  it('reads DCT as a plain object when every key is a string, else as a Map', () => {
    const ht = deserializeObject(
      '<Obj RefId="0"><TN RefId="0"><T>System.Collections.Hashtable</T><T>System.Object</T></TN><DCT>' +
        '<En><S N="Key">a</S><I32 N="Value">1</I32></En><En><S N="Key">__proto__</S><B N="Value">true</B></En></DCT></Obj>',
    ) as Record<string, unknown>;
    expect(Object.keys(ht)).toEqual(['a', '__proto__']);
    expect(ht['a']).toBe(1);
    expect(Object.getPrototypeOf(ht)).toBe(Object.prototype); // no prototype pollution
    expect(psMeta(ht)!.container).toBe('DCT');
    expect(serializeObject(ht)).toContain('<DCT><En><S N="Key">a</S><I32 N="Value">1</I32></En>');
    const m = deserializeObject(
      '<Obj RefId="0"><DCT><En><I32 N="Key">1</I32><S N="Value">one</S></En></DCT></Obj>',
    ) as Map<unknown, unknown>;
    expect(m).toBeInstanceOf(Map);
    expect(m.get(1)).toBe('one');
    const asMap = deserializeObject(
      '<Obj RefId="0"><DCT><En><S N="Key">k</S><S N="Value">v</S></En></DCT></Obj>',
      { dictionaries: 'map' },
    );
    expect(asMap).toEqual(new Map([['k', 'v']]));
    expect(serializeObject(new Map<unknown, unknown>([[1, 'x']]))).toBe(
      '<Obj RefId="0"><TN RefId="0"><T>System.Collections.Hashtable</T><T>System.Object</T></TN><DCT><En><I32 N="Key">1</I32><S N="Value">x</S></En></DCT></Obj>',
    );
  });

  it('reads nested property sets and wrapped primitives', () => {
    const v = deserializeObject('<Obj RefId="0"><MS><MS N="Set"><S N="a">1</S></MS></MS></Obj>') as {
      Set: { a: string };
    };
    expect(v.Set.a).toBe('1');
    expect(
      deserializeObject(
        '<Obj RefId="0"><TN RefId="0"><T>System.String</T></TN><ToString>hi</ToString><S>hi</S></Obj>',
      ),
    ).toBe('hi');
    const noted = deserializeObject(
      '<Obj RefId="0"><ToString>hi</ToString><S>hi</S><MS><S N="PSComputerName">srv</S></MS></Obj>',
    );
    expect(noted).toEqual({ PSComputerName: 'srv' });
    expect(psMeta(noted)!.baseValue).toBe('hi');
    expect(serializeObject(noted)).toBe(
      '<Obj RefId="0"><ToString>hi</ToString><S>hi</S><MS><S N="PSComputerName">srv</S></MS></Obj>',
    );
  });

  it('writes plain objects as PSCustomObject, arrays as object[], and createPSObject with its members', () => {
    expect(serializeObject({ a: 1, b: ['x'] })).toBe(
      '<Obj RefId="0"><TN RefId="0"><T>System.Management.Automation.PSCustomObject</T><T>System.Object</T></TN><MS>' +
        '<I32 N="a">1</I32><Obj N="b" RefId="1"><TN RefId="1"><T>System.Object[]</T><T>System.Array</T><T>System.Object</T></TN><LST><S>x</S></LST></Obj></MS></Obj>',
    );
    const o = createPSObject({
      typeNames: ['My.Type'],
      toStringValue: 'mine',
      properties: { A: 1 },
      extendedProperties: { B: 2 },
    });
    expect(o).toEqual({ A: 1, B: 2 });
    expect(serializeObject(o)).toBe(
      '<Obj RefId="0"><TN RefId="0"><T>My.Type</T></TN><ToString>mine</ToString><Props><I32 N="A">1</I32></Props><MS><I32 N="B">2</I32></MS></Obj>',
    );
  });

  it('reads and writes Export-Clixml documents', () => {
    const xml = serializeClixml([1, 'two', { three: 3 }], { multiple: true });
    expect(
      xml.startsWith('<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04">'),
    ).toBe(true);
    expect(deserializeClixml(xml)).toEqual([1, 'two', { three: 3 }]);
    expect(
      deserializeClixml('\ufeff<?xml version="1.0"?>\n<!-- c --><Objs Version="1.1.0.1"><S>a</S></Objs>\n'),
    ).toEqual(['a']);
    expect(deserializeClixml('<Obj RefId="0"><MS><S N="a">b</S></MS></Obj>')).toEqual([{ a: 'b' }]);
    expect(deserializeClixml('<Objs />')).toEqual([]);
    expect(deserializeClixml(serializeClixml([1, 2]))).toEqual([[1, 2]]);
  });
});

describe('enums re-exported by PowerShell', () => {
  it('recognises Deserialized.System.Enum type names (Export-Clixml of remoting output)', () => {
    const e = deserializeObject(
      '<Obj RefId="0"><TN RefId="0"><T>Deserialized.Microsoft.Exchange.Data.Directory.Recipient.RecipientTypeDetails</T><T>Deserialized.System.Enum</T><T>Deserialized.System.ValueType</T><T>Deserialized.System.Object</T></TN><ToString>UserMailbox</ToString><I64>1</I64></Obj>',
    ) as PSEnumValue;
    expect(e).toBeInstanceOf(PSEnumValue);
    expect(e.name).toBe('UserMailbox');
    expect(e.value).toBe(1);
  });
});
