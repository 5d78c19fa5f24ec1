import { describe, expect, it } from 'vitest';
import {
  PSDateTime,
  PSDecimal,
  PSDuration,
  PSSecureString,
  PSTypedValue,
  deserializeObject,
  ps,
  serializeObject,
} from '../../src/clixml/index.js';

const d = (xml: string, preserveTypes = false): unknown => deserializeObject(xml, { preserveTypes });

describe('CLIXML primitives (MS-PSRP 2.2.5.1)', () => {
  it('maps each primitive to its JS value', () => {
    expect(d('<S>abc</S>')).toBe('abc');
    expect(d('<S />')).toBe('');
    expect(d('<C>97</C>')).toBe('a');
    expect(d('<B>true</B>')).toBe(true);
    expect(d('<B>false</B>')).toBe(false);
    expect(d('<By>255</By>')).toBe(255);
    expect(d('<SB>-128</SB>')).toBe(-128);
    expect(d('<U16>65535</U16>')).toBe(65535);
    expect(d('<I16>-32768</I16>')).toBe(-32768);
    expect(d('<U32>4294967295</U32>')).toBe(4294967295);
    expect(d('<I32>-2147483648</I32>')).toBe(-2147483648);
    expect(d('<I64>9007199254740991</I64>')).toBe(9007199254740991);
    expect(d('<I64>9223372036854775807</I64>')).toBe(9223372036854775807n);
    expect(d('<I64>-9223372036854775808</I64>')).toBe(-9223372036854775808n);
    expect(d('<U64>18446744073709551615</U64>')).toBe(18446744073709551615n);
    // Short 64-bit values take a fast path: same results as the exact BigInt path.
    expect(d('<I64>-0</I64>')).toBe(0);
    expect(d('<I64> 42 </I64>')).toBe(42);
    expect(d('<I64>-99999999999999</I64>')).toBe(-99999999999999);
    expect(d('<I64>9007199254740993</I64>')).toBe(9007199254740993n);
    expect(d('<U64>7</U64>')).toBe(7);
    expect(() => d('<U64>-1</U64>')).toThrow(/out of range/);
    expect(d('<Sg>1.5</Sg>')).toBe(1.5);
    expect(d('<Db>1.7976931348623157E+308</Db>')).toBe(Number.MAX_VALUE);
    expect(d('<Db>NaN</Db>')).toBeNaN();
    expect(d('<Db>INF</Db>')).toBe(Infinity);
    expect(d('<Db>-INF</Db>')).toBe(-Infinity);
    expect(d('<D>79228162514264337593543950335</D>')).toEqual(new PSDecimal('79228162514264337593543950335'));
    expect(d('<BA>AQID/w==</BA>')).toEqual(new Uint8Array([1, 2, 3, 255]));
    // Not canonical but base64 to .NET's Convert.FromBase64String: line breaks, unused trailing bits.
    expect(d('<BA>AQID\r\n/w==</BA>')).toEqual(new Uint8Array([1, 2, 3, 255]));
    expect(d('<BA>AR==</BA>')).toEqual(new Uint8Array([1]));
    expect(d('<BA></BA>')).toEqual(new Uint8Array([]));
    expect(d('<G>0c8b7d3e-1111-2222-3333-444455556666</G>')).toBe('0c8b7d3e-1111-2222-3333-444455556666');
    expect(d('<URI>http://x/y</URI>')).toBe('http://x/y');
    expect(d('<Nil />')).toBeNull();
    expect(d('<Version>1.1.0.1</Version>')).toBe('1.1.0.1');
    expect(d('<XD>&lt;a&gt;b&lt;/a&gt;</XD>')).toBe('<a>b</a>');
    expect(d('<SBK>Get-Date</SBK>')).toBe('Get-Date');
  });

  it('reads the usual B, I32, I64 and U64 texts in place exactly as the codecs read any other form', () => {
    // In place: `true`/`false`, up to 9 digits (I32) or 15 (I64/U64 without preserveTypes). Every
    // neighbouring form goes through the codec; both must agree.
    const cases: [string, unknown, boolean?][] = [
      ['<B>true</B>', true],
      ['<B>false</B>', false],
      ['<B> true </B>', true],
      ['<B>1</B>', true],
      ['<B>0</B>', false],
      ['<B>tr<!-- c -->ue</B>', true],
      ['<B>t&#114;ue</B>', true],
      ['<I32>0</I32>', 0],
      ['<I32>007</I32>', 7],
      ['<I32>123456789</I32>', 123456789],
      ['<I32>2147483647</I32>', 2147483647],
      ['<I32>-0</I32>', 0],
      ['<I32>-5</I32>', -5],
      ['<I32>12<!-- c -->3</I32>', 123],
      ['<I32>0123</I32>', 123, true],
      ['<I64>999999999999999</I64>', 999999999999999],
      ['<I64>9999999999999999</I64>', 9999999999999999n],
      ['<U64>999999999999999</U64>', 999999999999999],
      ['<I64>5</I64>', new PSTypedValue('I64', 5n), true],
      ['<U64>5</U64>', new PSTypedValue('U64', 5n), true],
    ];
    for (const [xml, want, preserve] of cases) expect(d(xml, preserve), xml).toEqual(want);
    for (const xml of [
      '<B>True</B>',
      '<B>truefalse</B>',
      '<I32>2147483648</I32>',
      '<I32>1a</I32>',
      '<I64>1.0</I64>',
    ]) {
      expect(() => d(xml), xml).toThrow(expect.objectContaining({ code: 'PSRP_CLIXML_INVALID' }));
    }
    expect(() => d('<I32>1</I64>')).toThrow(expect.objectContaining({ code: 'PSRP_XML_MALFORMED' }));
    expect(() => d('<B>true</S>')).toThrow(expect.objectContaining({ code: 'PSRP_XML_MALFORMED' }));
    expect(() => d('<I32>1')).toThrow(expect.objectContaining({ code: 'PSRP_XML_MALFORMED' }));
  });

  it('keeps exact types with preserveTypes, and they serialize back to the same tags', () => {
    for (const xml of [
      '<By>7</By>',
      '<SB>-7</SB>',
      '<U16>7</U16>',
      '<I16>-7</I16>',
      '<U32>7</U32>',
      '<I64>7</I64>',
      '<U64>7</U64>',
      '<Sg>1.5</Sg>',
      '<C>97</C>',
      '<G>0c8b7d3e-1111-2222-3333-444455556666</G>',
      '<URI>http://x/</URI>',
      '<Version>2.3</Version>',
      '<XD>&lt;a /&gt;</XD>',
      '<SBK>Get-Date</SBK>',
      '<I32>5</I32>',
      '<S>x</S>',
      '<Db>2.5</Db>',
      '<B>true</B>',
      '<Nil />',
      '<D>1.10</D>',
      '<TS>PT9.0269026S</TS>',
      '<DT>2021-09-28T09:53:39.1234567-07:00</DT>',
      '<BA>AQI=</BA>',
    ]) {
      expect(serializeObject(d(xml, true)), xml).toBe(xml);
    }
    expect(d('<I64>7</I64>', true)).toEqual(new PSTypedValue('I64', 7n));
  });

  it('keeps date/time text, ticks below the millisecond, and the offset', () => {
    const v = d('<DT>2021-09-28T09:53:39.1234567-07:00</DT>') as PSDateTime;
    expect(v).toBeInstanceOf(PSDateTime);
    expect(v).toBeInstanceOf(Date);
    expect(v.toISOString()).toBe('2021-09-28T16:53:39.123Z');
    expect(v.subMillisecondTicks).toBe(4567);
    expect(v.kind).toBe('offset');
    expect(v.text).toBe('2021-09-28T09:53:39.1234567-07:00');
    const u = d('<DT>2024-01-02T03:04:05Z</DT>') as PSDateTime;
    expect(u.kind).toBe('utc');
    expect(u.getTime()).toBe(Date.UTC(2024, 0, 2, 3, 4, 5));
    const min = d('<DT>0001-01-01T00:00:00</DT>') as PSDateTime;
    expect(min.getUTCFullYear()).toBe(1);
    expect(min.kind).toBe('unspecified');
    // A mutated date is written from its new value; an untouched one keeps its text.
    v.setUTCFullYear(2030);
    expect(serializeObject(v)).toBe('<DT>2030-09-28T16:53:39.1230000Z</DT>');
    expect(serializeObject(new Date(Date.UTC(2020, 1, 3)))).toBe('<DT>2020-02-03T00:00:00.0000000Z</DT>');
  });

  it('reads and writes xs:duration as exact ticks', () => {
    expect((d('<TS>PT9.0269026S</TS>') as PSDuration).ticks).toBe(90269026n);
    expect((d('<TS>-P1DT2H</TS>') as PSDuration).ticks).toBe(-(26n * 36_000_000_000n));
    expect((d('<TS>P10675199DT2H48M5.4775807S</TS>') as PSDuration).ticks).toBe(9223372036854775807n);
    expect(new PSDuration(0n).toString()).toBe('PT0S');
    expect(new PSDuration(90269026n).toString()).toBe('PT9.0269026S');
    expect(new PSDuration(-(26n * 36_000_000_000n)).toString()).toBe('-P1DT2H');
    expect(new PSDuration(864_000_000_000n).toString()).toBe('P1D');
    expect(PSDuration.fromMilliseconds(1500).toString()).toBe('PT1.5S');
    expect((d('<TS>PT1M</TS>') as PSDuration).milliseconds).toBe(60_000);
  });

  it('maps plain JS values to the natural tags', () => {
    expect(serializeObject('a<b&c>')).toBe('<S>a&lt;b&amp;c&gt;</S>');
    expect(serializeObject(42)).toBe('<I32>42</I32>');
    expect(serializeObject(2147483648)).toBe('<Db>2147483648</Db>');
    expect(serializeObject(-0)).toBe('<Db>-0</Db>');
    expect(serializeObject(0.1)).toBe('<Db>0.1</Db>');
    expect(serializeObject(1e300)).toBe('<Db>1E+300</Db>');
    expect(serializeObject(NaN)).toBe('<Db>NaN</Db>');
    expect(serializeObject(5n)).toBe('<I64>5</I64>');
    expect(serializeObject(2n ** 63n)).toBe('<U64>9223372036854775808</U64>');
    expect(serializeObject(null)).toBe('<Nil />');
    expect(serializeObject(undefined)).toBe('<Nil />');
    expect(serializeObject(true)).toBe('<B>true</B>');
    expect(serializeObject(new Uint8Array([0, 255]))).toBe('<BA>AP8=</BA>');
    expect(serializeObject(ps.char('"'))).toBe('<C>34</C>');
    expect(serializeObject(new PSDecimal('-1.50'))).toBe('<D>-1.50</D>');
  });

  it('rejects values that do not fit their type', () => {
    expect(() => serializeObject(ps.byte(256))).toThrow(/out of range/);
    expect(() => serializeObject(ps.int16(1.5))).toThrow(/integer/);
    expect(() => serializeObject(ps.char('ab'))).toThrow(/one UTF-16/);
    expect(() => serializeObject(2n ** 64n)).toThrow(/64 bits/);
    expect(() => serializeObject(Symbol('x'))).toThrow(/symbol/);
    expect(() => serializeObject(new Date(NaN))).toThrow(/invalid Date/);
  });

  it('never prints SecureString content and needs a key to send it', () => {
    const s = PSSecureString.fromPlainText('P@ssw0rd');
    expect(String(s)).toBe('[SecureString]');
    expect(JSON.stringify({ s })).toBe('{"s":"[SecureString]"}');
    expect(`${s}`).not.toContain('P@ss');
    expect(() => serializeObject(s)).toThrow(expect.objectContaining({ code: 'PSRP_SECURE_STRING_NO_KEY' }));
    // A toy cipher (XOR) is enough to prove the hook is used both ways.
    const cipher = {
      encrypt: (b: Uint8Array) => b.map((x) => x ^ 0x5a),
      decrypt: (b: Uint8Array) => b.map((x) => x ^ 0x5a),
    };
    const xml = serializeObject(s, { secureStringCipher: cipher });
    expect(xml).toMatch(/^<SS>[A-Za-z0-9+/=]+<\/SS>$/);
    const back = deserializeObject(xml, { secureStringCipher: cipher }) as PSSecureString;
    expect(back.reveal()).toBe('P@ssw0rd');
    const opaque = deserializeObject(xml) as PSSecureString;
    expect(opaque.isDecrypted).toBe(false);
    expect(() => opaque.reveal()).toThrow();
    expect(serializeObject(opaque)).toBe(xml);
  });

  it('reports invalid primitive text with a typed error', () => {
    for (const xml of [
      '<I32>abc</I32>',
      '<I32>2147483648</I32>',
      '<B>yes</B>',
      '<By>-1</By>',
      '<DT>yesterday</DT>',
      '<TS>P</TS>',
      '<BA>@@@</BA>',
      '<BA>AQ==ID</BA>',
      '<BA>AQID/w</BA>', // no padding: PowerShell refuses a length that is not a multiple of 4
      '<SS>AQ=&lt;</SS>',
      '<D>1.2.3</D>',
      '<Db>one</Db>',
      '<C>70000</C>',
      '<I64>9223372036854775808</I64>',
    ]) {
      expect(() => d(xml), xml).toThrow(expect.objectContaining({ code: 'PSRP_CLIXML_INVALID' }));
    }
  });

  it('reads a progress record (PR)', () => {
    expect(
      d(
        '<PR N="Record"><AV>Copying</AV><AI>1</AI><Nil /><PI>-1</PI><PC>50</PC><T>Processing</T><SR>-1</SR><SD>Half</SD></PR>',
      ),
    ).toEqual({
      Activity: 'Copying',
      ActivityId: 1,
      CurrentOperation: null,
      ParentActivityId: -1,
      PercentComplete: 50,
      RecordType: 'Processing',
      SecondsRemaining: -1,
      StatusDescription: 'Half',
    });
  });
});
