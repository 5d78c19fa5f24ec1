/**
 * Property-based tests (fast-check): for generated inputs, the codecs give back exactly what they
 * were given, and malformed input always fails with a typed error, never a hang or a crash.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeClixmlString,
  deserializeClixml,
  deserializeObject,
  encodeClixmlString,
  PSDecimal,
  PSDuration,
  ps,
  serializeClixml,
  serializeObject,
} from '../../src/clixml/index.js';
import { PsrpError } from '../../src/errors.js';
import { Defragmenter, encodeFragment, fragmentMessage } from '../../src/psrp/fragment.js';

const unxml = (s: string): string => s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&amp;/g, '&');

// Any JS string, including lone surrogates and control characters.
const anyString = fc.string({ unit: 'binary', maxLength: 60 });

const leaf = fc.oneof(
  anyString,
  fc.integer({ min: -2147483648, max: 2147483647 }),
  fc.double({ noNaN: true }).filter((d) => !Number.isInteger(d) || Math.abs(d) > 2147483647),
  fc.boolean(),
  fc.constant(null),
  fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).filter((b) => b < -9007199254740991n || b > 9007199254740991n),
  fc.uint8Array({ maxLength: 20 }),
  fc.bigInt({ min: -(2n ** 62n), max: 2n ** 62n }).map((t) => new PSDuration(t)),
  fc.tuple(fc.bigInt({ min: -(10n ** 20n), max: 10n ** 20n }), fc.nat({ max: 9 })).map(([i, s]) => new PSDecimal(s === 0 ? `${i}` : `${i}.${'5'.repeat(s)}`)),
);

const value = fc.letrec<{ v: unknown }>((tie) => ({
  v: fc.oneof(
    { depthSize: 'small' },
    leaf,
    fc.array(tie('v'), { maxLength: 4 }),
    fc.dictionary(fc.string({ minLength: 1, maxLength: 8, unit: 'binary' }).filter((k) => k !== '__proto__'), tie('v'), { maxKeys: 4 }),
  ),
})).v;

describe('properties', () => {
  it('_xHHHH_ escaping round-trips any string', () => {
    fc.assert(fc.property(anyString, (s) => decodeClixmlString(unxml(encodeClixmlString(s))) === s), { numRuns: 2000 });
  });

  it('serialize → deserialize gives back any value', () => {
    fc.assert(
      fc.property(value, (v) => {
        expect(deserializeObject(serializeObject(v))).toEqual(v);
        expect(deserializeClixml(serializeClixml(v))).toEqual([v]);
      }),
      { numRuns: 500 },
    );
  });

  it('exact types survive with preserveTypes', () => {
    const typed = fc.oneof(
      fc.integer({ min: 0, max: 255 }).map(ps.byte),
      fc.integer({ min: -32768, max: 32767 }).map(ps.int16),
      fc.integer({ min: 0, max: 4294967295 }).map(ps.uint32),
      fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).map(ps.uint64),
      fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map(ps.int64),
      fc.string({ minLength: 1, maxLength: 1 }).map(ps.char),
      fc.uuid().map(ps.guid),
    );
    fc.assert(
      fc.property(typed, (t) => {
        expect(deserializeObject(serializeObject(t), { preserveTypes: true })).toEqual(t);
      }),
      { numRuns: 1000 },
    );
  });

  it('fragments reassemble for any sizes, budgets and interleavings', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ minLength: 0, maxLength: 300 }), { minLength: 1, maxLength: 5 }),
        fc.integer({ min: 22, max: 200 }),
        fc.integer({ min: 0, max: 2 ** 31 }),
        fc.integer({ min: 1, max: 50 }),
        (messages, budget, seed, chunk) => {
          const queues = messages.map((m, i) => fragmentMessage(BigInt(i + 1), m, budget).map(encodeFragment));
          // Interleave fragments of different messages in a seeded order (each message's own order kept).
          const stream: Uint8Array[] = [];
          let s = seed;
          while (queues.some((q) => q.length > 0)) {
            const live = queues.filter((q) => q.length > 0);
            s = (s * 1103515245 + 12345) % 2 ** 31;
            stream.push(live[s % live.length]!.shift()!);
          }
          const all = Buffer.concat(stream);
          const d = new Defragmenter();
          const got: Uint8Array[] = [];
          for (let i = 0; i < all.length; i += chunk) got.push(...d.push(all.subarray(i, i + chunk)));
          d.finish();
          expect(got.map((g) => Buffer.from(g).toString('hex')).sort()).toEqual(messages.map((m) => Buffer.from(m).toString('hex')).sort());
        },
      ),
      { numRuns: 300 },
    );
  });

  it('malformed CLIXML always fails with a typed error, quickly', () => {
    const good = serializeClixml({ a: [1, 'x', { b: null }], c: 2n ** 60n });
    fc.assert(
      fc.property(fc.integer({ min: 0, max: good.length - 1 }), fc.integer({ min: 1, max: 30 }), fc.string({ maxLength: 5 }), (at, cut, junk) => {
        const bad = good.slice(0, at) + junk + good.slice(at + cut);
        try {
          deserializeClixml(bad);
        } catch (e) {
          expect(e).toBeInstanceOf(PsrpError);
        }
      }),
      { numRuns: 2000 },
    );
  });
});
