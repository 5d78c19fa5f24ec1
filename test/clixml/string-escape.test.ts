import { describe, expect, it } from 'vitest';
import {
  decodeClixmlString,
  deserializeObject,
  encodeClixmlString,
  serializeObject,
} from '../../src/clixml/index.js';

// Control characters, escape look-alikes, lone surrogates, an astral character and XML specials.
const NASTY = 'a\u0000b\tc\r\nd_x0041_e_X0041_f\ud800g\udc00h😀i\u007fj\u0085k&<>"\'_l_x_m\ufffe';

describe('CLIXML string escaping (MS-PSRP 2.2.5.3.2)', () => {
  it('escapes what XML cannot carry and the _x look-alikes', () => {
    expect(encodeClixmlString('Order\nDetails')).toBe('Order_x000A_Details');
    expect(encodeClixmlString('Order_x0020_')).toBe('Order_x005F_x0020_');
    expect(encodeClixmlString('😀')).toBe('_xD83D__xDE00_');
    expect(encodeClixmlString('a_b')).toBe('a_b');
    expect(encodeClixmlString('plain')).toBe('plain');
  });
  it('decodes escapes, including surrogate pairs and Exchange CRLF', () => {
    expect(decodeClixmlString('_xD83D__xDE00_')).toBe('😀');
    expect(decodeClixmlString('line1_x000D__x000A_line2')).toBe('line1\r\nline2');
    expect(decodeClixmlString('_x005F_x0020_')).toBe('_x0020_');
    // Upper-case X too, wherever it comes relative to lower-case escapes.
    expect(decodeClixmlString('_X0041__x0042_')).toBe('AB');
    expect(decodeClixmlString('a_b_X0041_')).toBe('a_bA');
    expect(decodeClixmlString('no_escape_here_')).toBe('no_escape_here_');
    expect(decodeClixmlString('_x12_ _xZZZZ_ _x004')).toBe('_x12_ _xZZZZ_ _x004');
  });
  it('round-trips a nasty string exactly, in values and in property names', () => {
    expect(
      decodeClixmlString(
        encodeClixmlString(NASTY).replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&'),
      ),
    ).toBe(NASTY);
    expect(deserializeObject(serializeObject(NASTY))).toBe(NASTY);
    const obj = { [NASTY]: NASTY };
    expect(deserializeObject(serializeObject(obj))).toEqual(obj);
  });
  it('round-trips every single UTF-16 code unit', () => {
    let all = '';
    for (let c = 0; c < 0x10000; c++) all += String.fromCharCode(c);
    expect(deserializeObject(serializeObject(all))).toBe(all);
  });
});
