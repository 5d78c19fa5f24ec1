// RFC 1320 A.5 (MD4 test suite) and RFC 6229 (RC4 keystream) vectors.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { md4 } from '../../src/auth/md4.js';
import { Rc4, rc4k } from '../../src/auth/rc4.js';
import { InvalidArgumentError } from '../../src/errors.js';

describe('md4 (RFC 1320 A.5 test suite)', () => {
  const suite: [string, string][] = [
    ['', '31d6cfe0d16ae931b73c59d7e0c089c0'],
    ['a', 'bde52cb31de33e46245e05fbdbd6fb24'],
    ['abc', 'a448017aaf21d8525fc10ae87aa6729d'],
    ['message digest', 'd9130a8164549fe818874806e1c7014b'],
    ['abcdefghijklmnopqrstuvwxyz', 'd79e1c308aa5bbcdeea8ed63df412da9'],
    ['ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789', '043f8582f241db351ce627e153e7f0e4'],
    ['1234567890'.repeat(8), 'e33b4ddc9c38f2199c3e7b164fcc0536'],
  ];
  it.each(suite)('MD4(%j)', (input, digest) => {
    expect(md4(Buffer.from(input, 'latin1')).toString('hex')).toBe(digest);
  });

  it('pads correctly around the 55/56/64-byte block boundaries', () => {
    // Lengths where the padding needs one or two blocks; the digest must be stable and 16 bytes.
    for (const n of [55, 56, 57, 63, 64, 65, 119, 120]) {
      const d = md4(Buffer.alloc(n, 0x61));
      expect(d).toHaveLength(16);
      expect(md4(Buffer.alloc(n, 0x61))).toEqual(d);
    }
  });

  it('gives the NT hash of "Password" (MS-NLMP 4.2.2.1.2 NTOWFv1)', () => {
    expect(md4(Buffer.from('Password', 'utf16le')).toString('hex')).toBe('a4f49c406510bdcab6824ee7c30fd852');
  });
});

describe('rc4', () => {
  it('matches RFC 6229 for a 40-bit key (offset 0)', () => {
    expect(rc4k(Buffer.from('0102030405', 'hex'), Buffer.alloc(16)).toString('hex')).toBe(
      'b2396305f03dc027ccc3524a0a1118a8',
    );
  });

  it('matches RFC 6229 for a 128-bit key (offset 0)', () => {
    expect(
      rc4k(Buffer.from('0102030405060708090a0b0c0d0e0f10', 'hex'), Buffer.alloc(16)).toString('hex'),
    ).toBe('9ac7cc9a609d1ef7b2932899cde41b97');
  });

  it('matches the classic ASCII vectors', () => {
    expect(rc4k(Buffer.from('Key'), Buffer.from('Plaintext')).toString('hex')).toBe('bbf316e8d940af0ad3');
    expect(rc4k(Buffer.from('Wiki'), Buffer.from('pedia')).toString('hex')).toBe('1021bf0420');
    expect(rc4k(Buffer.from('Secret'), Buffer.from('Attack at dawn')).toString('hex')).toBe(
      '45a01f645fc35b383552544b9bf5',
    );
  });

  it('continues the keystream across calls (MS-NLMP 3.1.5.1 RC4(handle, message))', () => {
    const key = Buffer.from('0102030405060708090a0b0c0d0e0f10', 'hex');
    const handle = new Rc4(key);
    handle.update(Buffer.alloc(4000));
    handle.update(Buffer.alloc(96));
    // Keystream bytes 4096..4111, cross-checked with OpenSSL's legacy-provider RC4
    // (`head -c 4112 /dev/zero | openssl enc -rc4 -K 0102…10 -provider legacy | tail -c 16`).
    expect(handle.update(Buffer.alloc(16)).toString('hex')).toBe('a36a4c301ae8ac13610ccbc12256cacc');
  });

  it('clone() copies the keystream position and then runs independently (MS-SPNG 3.3.5.1)', () => {
    const key = Buffer.from('0102030405060708090a0b0c0d0e0f10', 'hex');
    const handle = new Rc4(key);
    handle.update(Buffer.alloc(4000));
    const copy = handle.clone();
    handle.update(Buffer.alloc(96));
    expect(handle.update(Buffer.alloc(16)).toString('hex')).toBe('a36a4c301ae8ac13610ccbc12256cacc');
    // The copy is still at offset 4000, whatever the original did since.
    copy.update(Buffer.alloc(96));
    expect(copy.update(Buffer.alloc(16)).toString('hex')).toBe('a36a4c301ae8ac13610ccbc12256cacc');
  });

  it('splitting a message anywhere gives the same ciphertext', () => {
    const key = randomBytes(16);
    const data = randomBytes(1000);
    const whole = rc4k(key, data);
    const h = new Rc4(key);
    const parts = Buffer.concat([
      h.update(data.subarray(0, 1)),
      h.update(data.subarray(1, 517)),
      h.update(data.subarray(517)),
    ]);
    expect(parts).toEqual(whole);
    expect(rc4k(key, whole)).toEqual(data);
  });

  it('refuses an empty key', () => {
    expect(() => new Rc4(Buffer.alloc(0))).toThrow(InvalidArgumentError);
  });
});
