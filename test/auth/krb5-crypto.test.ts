// RFC 3961 A.1 (n-fold) and RFC 3962 Appendix B (string-to-key through DK, AES-CTS) vectors for
// src/auth/krb5-crypto.ts, plus the EncryptedData round trip and its integrity check.
import { pbkdf2Sync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  aesCtsDecrypt,
  aesCtsEncrypt,
  decrypt,
  deriveKey,
  encrypt,
  EncType,
  hmacSha1_96,
  nfold,
  usageKeys,
} from '../../src/auth/krb5-crypto.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

describe('n-fold (RFC 3961 A.1)', () => {
  const vectors: [number, string, string][] = [
    [64, '012345', 'be072631276b1955'],
    [56, 'password', '78a07b6caf85fa'],
    [64, 'Rough Consensus, and Running Code', 'bb6ed30870b7f0e0'],
    [168, 'password', '59e4a8ca7c0385c3c37b3f6d2000247cb6e6bd5b3e'],
    [192, 'MASSACHVSETTS INSTITVTE OF TECHNOLOGY', 'db3b0d8f0b061e603282b308a50841229ad798fab9540c1b'],
    [168, 'Q', '518a54a215a8452a518a54a215a8452a518a54a215'],
    [168, 'ba', 'fb25d531ae8974499f52fd92ea9857c4ba24cf297e'],
    [64, 'kerberos', '6b65726265726f73'],
    [128, 'kerberos', '6b65726265726f737b9b5b2b93132b93'],
    [168, 'kerberos', '8372c236344e5f1550cd0747e15d62ca7a5a3bcea4'],
    [256, 'kerberos', '6b65726265726f737b9b5b2b93132b935c9bdcdad95c9899c4cae4dee6d6cae4'],
  ];
  for (const [bits, input, out] of vectors) {
    it(`${bits}-fold("${input}")`, () => {
      expect(toHex(nfold(Buffer.from(input), bits / 8))).toBe(out);
    });
  }
});

describe('string-to-key through DK (RFC 3962 Appendix B)', () => {
  // key = DK(PBKDF2-HMAC-SHA1(pass, salt, iterations), "kerberos"): exercises DK for both key sizes.
  const vectors: [number, string, string, string, string][] = [
    [
      1,
      'password',
      'ATHENA.MIT.EDUraeburn',
      '42263c6e89f4fc28b8df68ee09799f15',
      'fe697b52bc0d3ce14432ba036a92e65bbb52280990a2fa27883998d72af30161',
    ],
    [
      2,
      'password',
      'ATHENA.MIT.EDUraeburn',
      'c651bf29e2300ac27fa469d693bdda13',
      'a2e16d16b36069c135d5e9d2e25f896102685618b95914b467c67622225824ff',
    ],
    [
      1200,
      'password',
      'ATHENA.MIT.EDUraeburn',
      '4c01cd46d632d01e6dbe230a01ed642a',
      '55a6ac740ad17b4846941051e1e8b0a7548d93b0ab30a8bc3ff16280382b8c2a',
    ],
    [
      5,
      'password',
      '\x12\x34\x56\x78\x78\x56\x34\x12',
      'e9b23d52273747dd5c35cb55be619d8e',
      '97a4e786be20d81a382d5ebc96d5909cabcdadc87ca48f574504159f16c36e31',
    ],
  ];
  for (const [iter, pass, salt, k128, k256] of vectors) {
    it(`${iter} iteration(s), salt ${JSON.stringify(salt)}`, () => {
      const s = Buffer.from(salt, 'latin1');
      const t128 = pbkdf2Sync(pass, s, iter, 16, 'sha1');
      const t256 = pbkdf2Sync(pass, s, iter, 32, 'sha1');
      expect(toHex(deriveKey(t128, Buffer.from('kerberos')))).toBe(k128);
      expect(toHex(deriveKey(t256, Buffer.from('kerberos')))).toBe(k256);
    });
  }
  it('usage keys: DK(key, usage | 0x99/0xAA/0x55) (RFC 3961 5.3, known KRB5KDF answers)', () => {
    const k = usageKeys(
      { enctype: EncType.AES128_CTS_HMAC_SHA1_96, bytes: hex('42263c6e89f4fc28b8df68ee09799f15') },
      2,
    );
    expect(toHex(k.kc)).toBe('34280a382bc92769b2da2f9ef066854b');
    expect(toHex(k.ke)).toBe('5b14fc4e250e14ddf9dccf1af6674f53');
    const k2 = usageKeys(
      {
        enctype: EncType.AES256_CTS_HMAC_SHA1_96,
        bytes: hex('fe697b52bc0d3ce14432ba036a92e65bbb52280990a2fa27883998d72af30161'),
      },
      2,
    );
    expect(toHex(k2.kc)).toBe('bfab388bdcb238e9f9c98d6a878304f04d30c82556375ac507a7a852790f4674');
  });
});

describe('AES-CTS (RFC 3962 Appendix B, key "chicken teriyaki", IV 0)', () => {
  const key = Buffer.from('chicken teriyaki');
  const input = Buffer.from("I would like the General Gau's Chicken, please, and wonton soup.");
  const vectors: [number, string][] = [
    [17, 'c6353568f2bf8cb4d8a580362da7ff7f 97'],
    [31, 'fc00783e0efdb2c1d445d4c8eff7ed22 97687268d6ecccc0c07b25e25ecfe5'],
    [32, '39312523a78662d5be7fcbcc98ebf5a8 97687268d6ecccc0c07b25e25ecfe584'],
    [47, '97687268d6ecccc0c07b25e25ecfe584 b3fffd940c16a18c1b5549d2f838029e 39312523a78662d5be7fcbcc98ebf5'],
    [
      48,
      '97687268d6ecccc0c07b25e25ecfe584 9dad8bbb96c4cdc03bc103e1a194bbd8 39312523a78662d5be7fcbcc98ebf5a8',
    ],
    [
      64,
      '97687268d6ecccc0c07b25e25ecfe584 39312523a78662d5be7fcbcc98ebf5a8 4807efe836ee89a526730dbc2f7bc840 9dad8bbb96c4cdc03bc103e1a194bbd8',
    ],
  ];
  for (const [len, out] of vectors) {
    it(`${len} bytes`, () => {
      const p = input.subarray(0, len);
      expect(toHex(aesCtsEncrypt(key, p))).toBe(out.replace(/ /g, ''));
      expect(Buffer.from(aesCtsDecrypt(key, hex(out))).toString()).toBe(p.toString());
    });
  }
  it('one block is plain AES; less than a block is refused', () => {
    expect(toHex(aesCtsDecrypt(key, aesCtsEncrypt(key, input.subarray(0, 16))))).toBe(
      toHex(input.subarray(0, 16)),
    );
    expect(() => aesCtsEncrypt(key, input.subarray(0, 15))).toThrow(RangeError);
  });
});

describe('EncryptedData with a key usage (RFC 3961 5.3)', () => {
  for (const [enctype, size] of [
    [EncType.AES128_CTS_HMAC_SHA1_96, 16],
    [EncType.AES256_CTS_HMAC_SHA1_96, 32],
  ] as const) {
    it(`enctype ${enctype}: round trip for lengths 0..70, layout, integrity`, () => {
      const key = { enctype, bytes: Buffer.alloc(size, 7) };
      for (let n = 0; n <= 70; n++) {
        const p = Buffer.alloc(n, n);
        const c = encrypt(key, 11, p);
        expect(c.length).toBe(16 + n + 12);
        expect(Buffer.from(decrypt(key, 11, c))).toEqual(p);
      }
      // Deterministic with a given confounder: the HMAC covers confounder | plaintext under Ki.
      const conf = Buffer.alloc(16, 0xc0);
      const c = encrypt(key, 24, Buffer.from('abc'), conf);
      const { ki, ke } = usageKeys(key, 24);
      expect(toHex(c.subarray(-12))).toBe(toHex(hmacSha1_96(ki, Buffer.concat([conf, Buffer.from('abc')]))));
      expect(toHex(aesCtsDecrypt(ke, c.subarray(0, -12)))).toBe(
        toHex(Buffer.concat([conf, Buffer.from('abc')])),
      );
      // Another usage, another key, a flipped bit: refused.
      expect(() => decrypt(key, 22, c)).toThrow(
        expect.objectContaining({ code: 'PSRP_KERBEROS_MESSAGE_INVALID' }),
      );
      const t = Buffer.from(c);
      t[5] = t[5]! ^ 1;
      expect(() => decrypt(key, 24, t)).toThrow(/integrity/);
    });
  }
  it('other enctypes: PSRP_KERBEROS_UNSUPPORTED', () => {
    expect(() => encrypt({ enctype: 23, bytes: Buffer.alloc(16) }, 11, Buffer.alloc(1))).toThrow(
      expect.objectContaining({ code: 'PSRP_KERBEROS_UNSUPPORTED' }),
    );
  });
});
