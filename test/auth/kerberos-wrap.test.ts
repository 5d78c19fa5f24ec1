// RFC 4121 4.2.5 (RRC rotation) / MS-WSMV 2.2.9.1.1.2.2: gss_wrap tokens <-> Windows' layout.
// (Against MIT's real acceptor: test/lab/gss-kerberos.test.ts.)
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  fromWindowsWrapLayout,
  parseWrapTokenHeader,
  toWindowsWrapLayout,
  unrotateWrapToken,
} from '../../src/auth/kerberos-wrap.js';

/** A token shaped like MIT's gss_wrap output: header (RRC as given) + a body of distinct bytes. */
function token(
  plaintextLength: number,
  options: { flags?: number; ec?: number; rrc?: number; checksum?: number } = {},
): Uint8Array {
  const ec = options.ec ?? 0;
  const bodyLength = 16 + plaintextLength + ec + 16 + (options.checksum ?? 12);
  const t = new Uint8Array(16 + bodyLength);
  t.set([0x05, 0x04, options.flags ?? 0x06, 0xff], 0);
  const v = new DataView(t.buffer);
  v.setUint16(4, ec);
  v.setBigUint64(8, 0x1234n);
  for (let i = 0; i < bodyLength; i++) t[16 + i] = i % 251;
  // Apply the requested RRC as a sender would (rotate the body right).
  const rrc = options.rrc ?? 0;
  if (rrc) {
    const body = t.slice(16);
    const k = rrc % bodyLength;
    t.set(body.subarray(bodyLength - k), 16);
    t.set(body.subarray(0, bodyLength - k), 16 + k);
    v.setUint16(6, rrc);
  }
  return t;
}

describe('Kerberos wrap layout (RFC 4121 4.2.5, MS-WSMV 2.2.9.1.1.2.2)', () => {
  it('moves the 28-byte trailer of an AES-SHA1 token into a 60-byte header; the data keeps its length', () => {
    const t = token(39);
    const { header, data } = toWindowsWrapLayout(t, 39);
    expect(header.length).toBe(60);
    expect(data.length).toBe(39);
    expect(parseWrapTokenHeader(header)).toEqual({ flags: 0x06, ec: 0, rrc: 28, sequenceNumber: 0x1234n });
    const body = t.subarray(16);
    // header = token header | last 28 body bytes (encrypted header copy + HMAC) | encrypted confounder
    expect(header.subarray(16, 44)).toEqual(body.subarray(body.length - 28));
    expect(header.subarray(44, 60)).toEqual(body.subarray(0, 16));
    expect(data).toEqual(body.subarray(16, 16 + 39));
    // Joined back, it is the same token rotated by 28; unrotated, the original.
    const joined = fromWindowsWrapLayout(header, data);
    expect(unrotateWrapToken(joined)).toEqual(t);
  });

  it('undoes any RRC the token already had, and counts EC and the checksum length', () => {
    const t = token(10, { ec: 16, rrc: 5, checksum: 16 });
    const { header, data } = toWindowsWrapLayout(t, 10, 16);
    expect(parseWrapTokenHeader(header).rrc).toBe(16 + 16 + 16);
    expect(header.length).toBe(16 + 48 + 16);
    expect(unrotateWrapToken(fromWindowsWrapLayout(header, data))).toEqual(unrotateWrapToken(t));
  });

  it('round-trips any plaintext length and RRC', () => {
    fc.assert(
      fc.property(fc.nat(300), fc.nat(400), (n, rrc) => {
        const t = token(n, { rrc });
        const { header, data } = toWindowsWrapLayout(t, n);
        expect(data.length).toBe(n);
        expect(unrotateWrapToken(fromWindowsWrapLayout(header, data))).toEqual(unrotateWrapToken(t));
      }),
    );
  });

  it('refuses what is not a sealed CFX Wrap token of that length (PSRP_KERBEROS_WRAP_INVALID)', () => {
    const cases: [Uint8Array, number][] = [
      [token(5, { flags: 0x04 }), 5], // not sealed
      [token(5), 6], // another plaintext length
      [Uint8Array.from([0x04, 0x04, 0x06, 0xff, ...new Array<number>(60).fill(0)]), 4], // a MIC token id
      [Uint8Array.from([0x05, 0x04, 0x06, 0x00, ...new Array<number>(60).fill(0)]), 4], // filler
      [new Uint8Array(10), 0],
    ];
    for (const [t, n] of cases) {
      expect(() => toWindowsWrapLayout(t, n)).toThrow(
        expect.objectContaining({ code: 'PSRP_KERBEROS_WRAP_INVALID' }),
      );
    }
    expect(() => fromWindowsWrapLayout(new Uint8Array(8), new Uint8Array(8))).toThrow(/16/);
  });
});
