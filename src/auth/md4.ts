// RFC 1320 The MD4 Message-Digest Algorithm (3.1 padding, 3.2 length, 3.3 buffer, 3.4 rounds).
// MS-NLMP 3.3.1 NTOWFv1 = MD4(UNICODE(Passwd)) needs it; Node 20's OpenSSL 3 only has MD4 in the
// legacy provider, which Node does not load, so createHash('md4') throws. MD4 is broken as a
// general hash: use it only where NTLM requires it.

const S1 = [3, 7, 11, 19] as const;
const S2 = [3, 5, 9, 13] as const;
const S3 = [3, 9, 11, 15] as const;
/** RFC 1320 3.4 round 2 and round 3 word orders. */
const R2 = [0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15] as const;
const R3 = [0, 8, 4, 12, 2, 10, 6, 14, 1, 9, 5, 13, 3, 11, 7, 15] as const;

function rotl(x: number, n: number): number {
  return ((x << n) | (x >>> (32 - n))) >>> 0;
}

/** The 16-byte MD4 digest of `data`. */
export function md4(data: Uint8Array): Buffer {
  // 3.1 + 3.2: append 0x80, zeros to 56 mod 64, then the bit length as a 64-bit little-endian value.
  const bitLength = BigInt(data.length) * 8n;
  const padded = Buffer.alloc((Math.floor((data.length + 8) / 64) + 1) * 64);
  padded.set(data, 0);
  padded[data.length] = 0x80;
  padded.writeBigUInt64LE(bitLength & 0xffffffffffffffffn, padded.length - 8);

  // 3.3: the initial buffer.
  let a = 0x67452301;
  let b = 0xefcdab89;
  let c = 0x98badcfe;
  let d = 0x10325476;
  const x = new Uint32Array(16);

  for (let block = 0; block < padded.length; block += 64) {
    for (let i = 0; i < 16; i++) x[i] = padded.readUInt32LE(block + i * 4);
    const aa = a;
    const bb = b;
    const cc = c;
    const dd = d;
    const word = (k: number): number => x[k] ?? 0;

    // Round 1: F(X,Y,Z) = XY v not(X) Z.
    for (let i = 0; i < 16; i++) {
      const f = ((b & c) | (~b & d)) >>> 0;
      const t = rotl((a + f + word(i)) >>> 0, S1[i % 4] ?? 0);
      [a, b, c, d] = [d, t, b, c];
    }
    // Round 2: G(X,Y,Z) = XY v XZ v YZ, plus 0x5A827999.
    for (let i = 0; i < 16; i++) {
      const g = ((b & c) | (b & d) | (c & d)) >>> 0;
      const t = rotl((a + g + word(R2[i] ?? 0) + 0x5a827999) >>> 0, S2[i % 4] ?? 0);
      [a, b, c, d] = [d, t, b, c];
    }
    // Round 3: H(X,Y,Z) = X xor Y xor Z, plus 0x6ED9EBA1.
    for (let i = 0; i < 16; i++) {
      const h = (b ^ c ^ d) >>> 0;
      const t = rotl((a + h + word(R3[i] ?? 0) + 0x6ed9eba1) >>> 0, S3[i % 4] ?? 0);
      [a, b, c, d] = [d, t, b, c];
    }

    a = (a + aa) >>> 0;
    b = (b + bb) >>> 0;
    c = (c + cc) >>> 0;
    d = (d + dd) >>> 0;
  }

  // 3.5: the digest is A, B, C, D, each little-endian.
  const out = Buffer.alloc(16);
  out.writeUInt32LE(a, 0);
  out.writeUInt32LE(b, 4);
  out.writeUInt32LE(c, 8);
  out.writeUInt32LE(d, 12);
  return out;
}
