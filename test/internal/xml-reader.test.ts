import { describe, expect, it } from 'vitest';
import { XmlNames, XmlReader } from '../../src/internal/xml-reader.js';

const code = (fn: () => unknown): string => {
  try {
    fn();
  } catch (e) {
    return (e as { code: string }).code;
  }
  return 'no error';
};

describe('XmlReader cursor', () => {
  it('leaves the start tag in its fields and reads attributes in place', () => {
    const r = new XmlReader(`<Obj N="a&amp;b" RefId="12" Q='x'><S /></Obj>`);
    r.readStartTag();
    expect([r.name, r.empty, r.tagPos, r.attrCount]).toEqual(['Obj', false, 0, 3]);
    expect(r.attr('N')).toBe('a&b');
    expect(r.attr('Q')).toBe('x');
    expect(r.attr('Missing')).toBeUndefined();
    expect(r.attrIs('N', 'a&b')).toBe(true);
    expect(r.attrIs('N', 'a&amp;b')).toBe(false);
    expect(r.attrIs('Q', 'x')).toBe(true);
    expect(r.attrIs('Q', 'xx')).toBe(false);
    expect(r.attrInt('RefId')).toBe(12);
    expect(r.attrInt('Missing')).toBe(-1);
    expect(r.attrInt('Q')).toBe(-2);
    r.readStartTag();
    expect([r.name, r.empty, r.tagPos, r.attrCount]).toEqual(['S', true, 34, 0]);
    expect(r.attr('N')).toBeUndefined();
    r.endTag('Obj');
    expect(r.pos).toBe(r.src.length);
  });

  it('reads a tag seen before by its whole text, and nothing else', () => {
    const xml = `<a x="1" y='2'/><b/><a x="1" y='2'/><a x="1" y="2"/><c k="&lt;"></c><a x="1" y='2`;
    const r = new XmlReader(xml);
    r.readStartTag();
    const tag = r.knownTag()!;
    expect(tag.raw).toBe(`<a x="1" y='2'/>`);
    // Not at a match: nothing moves, and where the tag comes next is remembered.
    expect(r.readKnownTag(tag)).toBe(false);
    expect(r.pos).toBe(16);
    expect(tag.nextAt).toBe(20);
    r.readStartTag();
    expect(r.readKnownTag(tag)).toBe(true);
    expect([r.name, r.empty, r.tagPos, r.pos, r.attrCount]).toEqual(['a', true, 20, 36, 2]);
    expect([r.attr('x'), r.attr('y'), r.attrInt('x'), r.attrIs('y', '2')]).toEqual(['1', '2', 1, true]);
    // The same tag with other quotes is another text: read normally.
    expect(r.readKnownTag(tag)).toBe(false);
    r.readStartTag();
    expect(r.attr('y')).toBe('2');
    // A tag whose value needed decoding is not kept.
    r.readStartTag();
    expect(r.knownTag()).toBeUndefined();
    expect(r.attr('k')).toBe('<');
    r.endTag('c');
    // The input ends inside what would have matched: the tag comes nowhere after.
    expect(r.readKnownTag(tag)).toBe(false);
    expect(tag.nextAt).toBe(Infinity);
    expect(code(() => r.readStartTag())).toBe('PSRP_XML_MALFORMED');
  });

  it('reads only plain decimals as integers', () => {
    for (const [v, want] of [
      ['0', 0],
      ['123456789', 123456789],
      ['01', -2],
      ['-1', -2],
      ['+1', -2],
      ['1234567890', -2],
      ['', -2],
      ['1 ', -2],
      ['&#49;', -2],
    ] as const) {
      const r = new XmlReader(`<X RefId="${v}"/>`);
      r.readStartTag();
      expect(r.attrInt('RefId'), v).toBe(want);
    }
  });

  it("refuses a repeated attribute (XML 1.0 3.1 Unique Att Spec), as .NET's XmlReader does", () => {
    const r = new XmlReader('<X N="first" N="last"/>');
    expect(() => r.readStartTag()).toThrow(expect.objectContaining({ code: 'PSRP_XML_MALFORMED' }));
    // Past the linear scan: more than 16 attributes, then a repeat.
    const many = Array.from({ length: 20 }, (_, i) => `a${i}="${i}"`).join(' ');
    const r2 = new XmlReader(`<X ${many} a3="again"/>`);
    expect(() => r2.readStartTag()).toThrow(expect.objectContaining({ code: 'PSRP_XML_MALFORMED' }));
    const r3 = new XmlReader(`<X ${many}/>`);
    r3.readStartTag();
    expect(r3.attr('a19')).toBe('19');
  });

  it('checks every attribute value when the tag is read, even ones nobody asks for', () => {
    expect(code(() => new XmlReader('<X A="&xxe;"/>').readStartTag())).toBe('PSRP_XML_FORBIDDEN');
    expect(code(() => new XmlReader('<X A="a<b"/>').readStartTag())).toBe('PSRP_XML_MALFORMED');
    expect(code(() => new XmlReader('<X A="&#xFFFFFF;"/>').readStartTag())).toBe('PSRP_XML_MALFORMED');
    expect(code(() => new XmlReader('<X A="never closed').readStartTag())).toBe('PSRP_XML_MALFORMED');
    expect(code(() => new XmlReader('<X A=unquoted/>').readStartTag())).toBe('PSRP_XML_MALFORMED');
    expect(code(() => new XmlReader('</X>').readStartTag())).toBe('PSRP_XML_MALFORMED');
  });

  it('returns the known names and cached values as shared strings', () => {
    const names = new XmlNames(['Obj', 'Objs', 'S']);
    const src = '<Objs><S N="DisplayName"/><S N="DisplayName"/><Other/></Objs>';
    const r = new XmlReader(src, names);
    r.readStartTag();
    expect(r.name).toBe('Objs');
    r.readStartTag();
    const first = r.attrShared('N');
    r.readStartTag();
    const second = r.attrShared('N');
    expect(first).toBe('DisplayName');
    expect(Object.is(first, second)).toBe(true);
    r.readStartTag();
    expect(r.name).toBe('Other');
    // The same cache across readers (and documents).
    const r2 = new XmlReader('<S N="DisplayName"/>', names);
    r2.readStartTag();
    expect(r2.attrShared('N')).toBe('DisplayName');
  });

  it('shares short texts through the text cache and copies nothing else differently', () => {
    const names = new XmlNames(['S']);
    const r = new XmlReader(
      '<S>Unlimited</S><S>Unlimited</S><S>a &amp; b</S><S></S><S>x<!-- c -->y</S>',
      names,
    );
    const texts: string[] = [];
    for (let i = 0; i < 5; i++) {
      r.readStartTag();
      texts.push(r.text());
      r.endTag('S');
    }
    expect(texts).toEqual(['Unlimited', 'Unlimited', 'a & b', '', 'xy']);
    // The cache is shared across readers of the vocabulary and answers with the same text.
    const r2 = new XmlReader('<S>Unlimited</S>', names);
    r2.readStartTag();
    expect(r2.text()).toBe('Unlimited');
  });

  it('reads a literal text or a run of digits in place only when an end tag follows', () => {
    const at = (xml: string): XmlReader => {
      const r = new XmlReader(xml);
      r.readStartTag();
      return r;
    };
    const t = at('<B>true</B>');
    expect(t.skipText('true')).toBe(true);
    t.endTag('B');
    expect(t.pos).toBe(t.src.length);
    for (const xml of [
      '<B> true</B>',
      '<B>true </B>',
      '<B>truer</B>',
      '<B>true<!-- c --></B>',
      '<B>tru</B>',
      '<B>true',
    ]) {
      const r = at(xml);
      const pos = r.pos;
      expect(r.skipText('true'), xml).toBe(false);
      expect(r.pos, xml).toBe(pos);
    }
    const d = at('<I32>4096</I32>');
    expect(d.textDigits(9)).toBe(4096);
    d.endTag('I32');
    expect(d.pos).toBe(d.src.length);
    expect(at('<I64>999999999999999</I64>').textDigits(15)).toBe(999999999999999);
    expect(at('<I32>007</I32>').textDigits(9)).toBe(7);
    for (const [xml, max] of [
      ['<I32>1234567890</I32>', 9],
      ['<I64>9999999999999999</I64>', 15],
      ['<I64>9999999999999999</I64>', 99],
      ['<I32>-1</I32>', 9],
      ['<I32> 1</I32>', 9],
      ['<I32>1 </I32>', 9],
      ['<I32>1<!-- c --></I32>', 9],
      ['<I32>&#49;</I32>', 9],
      ['<I32></I32>', 9],
      ['<I32>12', 9],
    ] as const) {
      const r = at(xml);
      const pos = r.pos;
      expect(r.textDigits(max), xml).toBe(-1);
      expect(r.pos, xml).toBe(pos);
    }
  });

  it('still builds a start-tag object for the element tree', () => {
    const r = new XmlReader('<s:Envelope xmlns:s="urn:x" a="&lt;1&gt;"/>');
    expect(r.startTag()).toEqual({
      name: 's:Envelope',
      attrs: { 'xmlns:s': 'urn:x', a: '<1>' },
      empty: true,
      pos: 0,
    });
  });
});
