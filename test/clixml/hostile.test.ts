import { describe, expect, it } from 'vitest';
import { deserializeClixml, deserializeObject } from '../../src/clixml/index.js';

const code = (fn: () => unknown): string => {
  try {
    fn();
  } catch (e) {
    return (e as { code: string }).code;
  }
  return 'no error';
};

describe('CLIXML hostile input', () => {
  it('refuses DTDs and entities without expanding anything', () => {
    const bomb =
      '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]><Objs><S>&lol2;</S></Objs>';
    expect(code(() => deserializeClixml(bomb))).toBe('PSRP_XML_FORBIDDEN');
    expect(code(() => deserializeClixml('<Objs><S>&lol;</S></Objs>'))).toBe('PSRP_XML_FORBIDDEN');
    expect(code(() => deserializeClixml('<Objs><S>&#xFFFFFF;</S></Objs>'))).toBe('PSRP_XML_MALFORMED');
    expect(deserializeClixml('<Objs><S>&#65;&#x42;&amp;&quot;</S></Objs>')).toEqual(['AB&"']);
  });

  it('stops absurd nesting with a typed error, not a stack overflow', () => {
    const deep = '<Obj N="x"><MS>'.repeat(10_000) + '</MS></Obj>'.repeat(10_000);
    const t0 = Date.now();
    expect(code(() => deserializeObject(deep))).toBe('PSRP_CLIXML_TOO_DEEP');
    const lists = '<Obj><LST>'.repeat(100_000);
    expect(code(() => deserializeObject(lists))).toBe('PSRP_CLIXML_TOO_DEEP');
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(code(() => deserializeObject('<Obj><LST>'.repeat(5) + '</LST></Obj>'.repeat(5), { maxDepth: 8 }))).toBe('PSRP_CLIXML_TOO_DEEP');
  });

  it('enforces size and object-count limits', () => {
    expect(code(() => deserializeObject('<S>' + 'a'.repeat(1000) + '</S>', { maxInputLength: 100 }))).toBe('PSRP_CLIXML_TOO_LARGE');
    const many = '<Obj><LST>' + '<Obj><MS /></Obj>'.repeat(50) + '</LST></Obj>';
    expect(code(() => deserializeObject(many, { maxObjects: 10 }))).toBe('PSRP_CLIXML_TOO_LARGE');
  });

  it('reports malformed and truncated XML with offsets', () => {
    for (const xml of ['<S>abc', '<S>abc</I32>', '<Obj><MS><S N="a">b</S></Obj>', '<', '', 'plain text', '<S N=a>x</S>',
      '<Objs><S>a</S></Objs>trailing', '<Obj RefId="0"><MS><S>a</S></MS></Obj>', '<Obj><TN><X /></TN></Obj>',
      '<Ref RefId="9" />', '<Obj><TNRef RefId="3" /></Obj>', '<Unknown />', '<Obj><DCT><En><S N="Value">v</S></En></DCT></Obj>',
      '<Obj><Weird /></Obj>', '<!-- never closed']) {
      const c = code(() => deserializeClixml(xml));
      expect(['PSRP_XML_MALFORMED', 'PSRP_CLIXML_INVALID'], `${xml} → ${c}`).toContain(c);
    }
    try {
      deserializeClixml('<Objs><S>a</S><I32>x</I32></Objs>');
    } catch (e) {
      expect((e as { offset: number }).offset).toBe(14);
      expect((e as Error).message).toContain('<I32>');
    }
  });
});
