/**
 * More property-based tests (fast-check) for the codecs, beyond roundtrip.property.test.ts:
 * every numeric width, dates, PowerShell objects with metadata, Maps, deep mixed nesting; the
 * fragmenter for any fragment size and any interleaving fast-check can shrink; the `_xHHHH_`
 * layer for any string, including what it must never emit.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  createPSObject,
  decodeClixmlString,
  deserializeClixml,
  deserializeObject,
  encodeClixmlString,
  PSDateTime,
  psMeta,
  ps,
  serializeClixml,
  serializeObject,
} from '../../src/clixml/index.js';
import { PsrpError } from '../../src/errors.js';
import {
  Defragmenter,
  encodeFragment,
  FRAGMENT_HEADER_SIZE,
  fragmentMessage,
} from '../../src/psrp/fragment.js';

/** Any UTF-16 string: lone surrogates, controls, U+FFFE/U+FFFF, astral pairs, `_x0041_` look-alikes. */
const anyString = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({
    unit: fc.constantFrom(
      '_',
      'x',
      'X',
      '0',
      '0',
      '4',
      '1',
      'F',
      '\uD800',
      '\uDC00',
      '\u0000',
      '\uFFFF',
      '&',
      '<',
      ']',
    ),
    maxLength: 30,
  }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
);

/** Each .NET numeric width at its edges and in between, as the exact typed value. */
const typedNumber = fc.oneof(
  fc.integer({ min: 0, max: 255 }).map(ps.byte),
  fc.integer({ min: -128, max: 127 }).map(ps.sbyte),
  fc.integer({ min: -32768, max: 32767 }).map(ps.int16),
  fc.integer({ min: 0, max: 65535 }).map(ps.uint16),
  fc.integer({ min: 0, max: 4294967295 }).map(ps.uint32),
  fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map(ps.int64),
  fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).map(ps.uint64),
  fc.float({ noNaN: true, noDefaultInfinity: true }).map((f) => ps.single(f)),
);

/** Plain numbers: int32 stays a number; doubles (any, including ±Infinity, NaN and -0) too. */
const plainNumber = fc.oneof(fc.integer({ min: -2147483648, max: 2147483647 }), fc.double());

/** .NET DateTime range, millisecond precision. */
const date = fc.date({ min: new Date(-62135596800000), max: new Date(253402300799999), noInvalidDate: true });

const key = fc.string({ minLength: 1, maxLength: 8, unit: 'binary' }).filter((k) => k !== '__proto__');

const nested = fc.letrec<{ v: unknown }>((tie) => ({
  v: fc.oneof(
    { depthSize: 'small', maxDepth: 5 },
    anyString,
    plainNumber,
    fc
      .bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n })
      .filter((b) => b < -9007199254740991n || b > 9007199254740991n),
    date,
    fc.constant(null),
    fc.array(tie('v'), { maxLength: 4 }),
    fc.dictionary(key, tie('v'), { maxKeys: 4 }),
    fc
      .array(fc.tuple(fc.oneof(key, fc.integer()), tie('v')), { maxLength: 3 })
      .map((entries) => new Map(entries)),
    fc
      .record({
        typeNames: fc.array(fc.string({ minLength: 1, maxLength: 12, unit: 'binary' }), {
          minLength: 1,
          maxLength: 3,
        }),
        toStringValue: fc.option(anyString, { nil: undefined }),
        properties: fc.dictionary(key, tie('v'), { maxKeys: 3 }),
        extendedProperties: fc.dictionary(key, tie('v'), { maxKeys: 3 }),
      })
      .map((o) => {
        // Keys must be unique across adapted and extended members.
        const ext = Object.fromEntries(
          Object.entries(o.extendedProperties).filter(([k]) => !(k in o.properties)),
        );
        return createPSObject({
          typeNames: o.typeNames,
          properties: o.properties,
          extendedProperties: ext,
          ...(o.toStringValue !== undefined ? { toStringValue: o.toStringValue } : {}),
        });
      }),
  ),
})).v;

/** Deep comparison of an original `a` with what came back `b`: dates by time, Maps by entries, PS metadata where `a` has it. */
function same(a: unknown, b: unknown): boolean {
  if (typeof a === 'number' && typeof b === 'number') return Object.is(a, b);
  if (a instanceof Date) return b instanceof Date && a.getTime() === b.getTime();
  if (a instanceof Map) {
    if (!(b instanceof Map) || a.size !== b.size) return false;
    const bEntries = [...b.entries()];
    return [...a.entries()].every(
      ([k, v], i) => bEntries[i] !== undefined && same(k, bEntries[i][0]) && same(v, bEntries[i][1]),
    );
  }
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((x, i) => same(x, b[i]));
  if (a !== null && typeof a === 'object') {
    if (b === null || typeof b !== 'object' || Array.isArray(b)) return false;
    const ma = psMeta(a);
    if (ma) {
      const mb = psMeta(b);
      if (
        !mb ||
        JSON.stringify(ma.typeNames) !== JSON.stringify(mb.typeNames) ||
        ma.toStringValue !== mb.toStringValue
      )
        return false;
      if (
        JSON.stringify(ma.adapted) !== JSON.stringify(mb.adapted) ||
        JSON.stringify(ma.extended) !== JSON.stringify(mb.extended)
      )
        return false;
    }
    const ka = Object.keys(a);
    const kb = Object.keys(b);
    const ra = a as Record<string, unknown>;
    const rb = b as Record<string, unknown>;
    return ka.length === kb.length && ka.every((k, i) => kb[i] === k && same(ra[k], rb[k]));
  }
  return a === b;
}

describe('CLIXML round trip (properties)', () => {
  it('every numeric width keeps its exact type and value', () => {
    fc.assert(
      fc.property(typedNumber, (t) => {
        const back = deserializeObject(serializeObject(t), { preserveTypes: true });
        expect(back).toEqual(t);
        // And the plain reading gives the same magnitude (bigint above 2^53, number below).
        const plain = deserializeObject(serializeObject(t));
        expect(typeof plain === 'bigint' ? plain : BigInt(Math.trunc(Number(plain)))).toBe(
          typeof t.value === 'bigint' ? t.value : BigInt(Math.trunc(t.value)),
        );
      }),
      { numRuns: 2000 },
    );
  });

  it('plain numbers (int32, any double including NaN, ±Infinity, -0) come back identical', () => {
    fc.assert(
      fc.property(plainNumber, (n) => Object.is(deserializeObject(serializeObject(n)), n)),
      { numRuns: 2000 },
    );
  });

  it('dates come back as the same instant, over the whole .NET range', () => {
    fc.assert(
      fc.property(date, (d) => {
        const back = deserializeObject(serializeObject(d));
        expect(back).toBeInstanceOf(PSDateTime);
        expect((back as Date).getTime()).toBe(d.getTime());
      }),
      { numRuns: 1000 },
    );
  });

  it('nested lists, dictionaries, Maps and PowerShell objects (with type names) round-trip', () => {
    fc.assert(
      fc.property(nested, (v) => {
        // Maps come back as Maps with `dictionaries: 'map'` (by default string-keyed ones become objects).
        expect(same(v, deserializeObject(serializeObject(v), { dictionaries: 'map' }))).toBe(true);
        const [doc] = deserializeClixml(serializeClixml(v), { dictionaries: 'map' });
        expect(same(v, doc)).toBe(true);
      }),
      { numRuns: 400 },
    );
  });
});

describe('fragmenter and defragmenter (properties)', () => {
  /** Messages, a fragment size, and a schedule: which message's next fragment goes next. */
  const scenario = fc
    .record({
      messages: fc.array(fc.uint8Array({ maxLength: 2000 }), { minLength: 1, maxLength: 6 }),
      maxFragment: fc.oneof(
        fc.integer({ min: FRAGMENT_HEADER_SIZE + 1, max: 64 }),
        fc.integer({ min: 65, max: 70_000 }),
      ),
      picks: fc.array(fc.nat(), { maxLength: 400 }),
      cuts: fc.array(fc.integer({ min: 1, max: 97 }), { minLength: 1, maxLength: 8 }),
    })
    .map((s) => s);

  it('any max fragment size and any interleaving of several objects reassembles every message exactly', () => {
    fc.assert(
      fc.property(scenario, ({ messages, maxFragment, picks, cuts }) => {
        const queues = messages.map((m, i) => fragmentMessage(BigInt(i + 1), m, maxFragment));
        for (const q of queues) {
          for (const f of q) expect(encodeFragment(f).length).toBeLessThanOrEqual(maxFragment);
          expect(q[0]!.start && q.at(-1)!.end).toBe(true);
        }
        const order: Uint8Array[] = [];
        let p = 0;
        while (queues.some((q) => q.length > 0)) {
          const live = queues.filter((q) => q.length > 0);
          order.push(encodeFragment(live[(picks[p++] ?? 0) % live.length]!.shift()!));
        }
        const all = Buffer.concat(order);
        const d = new Defragmenter();
        const got: Uint8Array[] = [];
        // Cut the byte stream at arbitrary, varying places.
        for (let i = 0, c = 0; i < all.length; c++) {
          const n = cuts[c % cuts.length]!;
          got.push(...d.push(all.subarray(i, i + n)));
          i += n;
        }
        d.finish();
        const hex = (xs: readonly Uint8Array[]): string[] =>
          xs.map((x) => Buffer.from(x).toString('hex')).sort();
        expect(hex(got)).toEqual(hex(messages));
      }),
      { numRuns: 300 },
    );
  });

  it('a stream cut short always ends in PSRP_FRAGMENT_TRUNCATED at finish()', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 500 }),
        fc.integer({ min: 22, max: 120 }),
        fc.nat(),
        (m, size, at) => {
          const all = Buffer.concat(fragmentMessage(7n, m, size).map(encodeFragment));
          const cut = 1 + (at % (all.length - 1)); // at least one byte, strictly shorter than the stream
          const d = new Defragmenter();
          expect(d.push(all.subarray(0, cut))).toEqual([]);
          expect(() => d.finish()).toThrow(
            expect.objectContaining({ code: 'PSRP_FRAGMENT_TRUNCATED' }) as Error,
          );
        },
      ),
      { numRuns: 500 },
    );
  });

  it('arbitrary bytes give messages or a typed PsrpError, never anything else', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 80 }), { maxLength: 6 }), (chunks) => {
        const d = new Defragmenter({ maxMessageBytes: 1 << 20 });
        try {
          for (const c of chunks) d.push(c);
          d.finish();
        } catch (e) {
          expect(e).toBeInstanceOf(PsrpError);
          expect((e as PsrpError).code).toMatch(
            /^PSRP_(FRAGMENT_INVALID|FRAGMENT_TRUNCATED|MESSAGE_TOO_LARGE)$/,
          );
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe('_xHHHH_ escaping (properties)', () => {
  const unxml = (s: string): string =>
    s
      .replace(/&lt;/g, '<')
      .replace(/&gt;/g, '>')
      .replace(/&quot;/g, '"')
      .replace(/&amp;/g, '&');

  it('encode → decode is the identity for any string, in text and in attributes', () => {
    fc.assert(
      fc.property(anyString, (s) => {
        expect(decodeClixmlString(unxml(encodeClixmlString(s)))).toBe(s);
        expect(decodeClixmlString(unxml(encodeClixmlString(s, true)))).toBe(s);
      }),
      { numRuns: 3000 },
    );
  });

  it('the encoded form holds only characters XML 1.0 can carry, and no raw markup', () => {
    fc.assert(
      fc.property(anyString, (s) => {
        const e = encodeClixmlString(s, true);
        // eslint-disable-next-line no-control-regex
        expect(e).not.toMatch(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uD800-\uDFFF\uFFFE\uFFFF<>"]/);
        expect(e.replace(/&(lt|gt|amp|quot);/g, '')).not.toContain('&');
      }),
      { numRuns: 3000 },
    );
  });

  it('decoding any text never throws and leaves text without escapes untouched', () => {
    fc.assert(
      fc.property(anyString, (s) => {
        const out = decodeClixmlString(s);
        expect(typeof out).toBe('string');
        if (!/_[xX][0-9A-Fa-f]{4}_/.test(s)) expect(out).toBe(s);
      }),
      { numRuns: 3000 },
    );
  });

  it('strings survive as property names and values through a whole document', () => {
    fc.assert(
      fc.property(
        anyString.filter((k) => k.length > 0 && k !== '__proto__'),
        anyString,
        (k, v) => {
          const o = createPSObject({ extendedProperties: { [k]: v } });
          const back = deserializeClixml(serializeClixml(o))[0] as Record<string, unknown>;
          expect(Object.keys(back)).toEqual([k]);
          expect(back[k]).toBe(v);
        },
      ),
      { numRuns: 1000 },
    );
  });
});
