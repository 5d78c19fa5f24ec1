// The SPNEGO DER codec (src/auth/spnego.ts) against byte strings derived by hand from the ASN.1
// of RFC 4178 4.2 and the framing of RFC 2743 3.1 (X.690 DER), against tokens MIT krb5 1.20's
// SPNEGO produced with gss-ntlmssp 1.2, and against malformed input (only PSRP_SPNEGO_INVALID).
import { describe, expect, it } from 'vitest';
import {
  decodeInitialContextToken,
  decodeNegTokenInit,
  decodeNegTokenResp,
  encodeInitialContextToken,
  encodeMechTypeList,
  encodeNegTokenInit,
  encodeNegTokenResp,
  encodeOidContents,
  MAX_SPNEGO_TOKEN_LENGTH,
  MechOid,
} from '../../src/auth/spnego.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

// X.690 8.19 by hand: first octet 40*X+Y, then each arc in base 128, high bit on all but the last.
//   1.3.6.1.4.1.311.2.2.10: 40+3=0x2b, 6, 1, 4, 1, 311=2*128+55 → 82 37, 2, 2, 10
//   1.2.840.113554.1.2.2:   40+2=0x2a, 840=6*128+72 → 86 48, 113554=6*128²+119*128+18 → 86 f7 12
//   1.2.840.48018.1.2.2:    48018=2*128²+119*128+18 → 82 f7 12
//   1.3.6.1.5.5.2:          2b 06 01 05 05 02
const OID_NTLMSSP = '2b 06 01 04 01 82 37 02 02 0a';
const OID_KRB5 = '2a 86 48 86 f7 12 01 02 02';
const OID_MS_KRB5 = '2a 86 48 82 f7 12 01 02 02';
const OID_SPNEGO = '2b 06 01 05 05 02';

// NegTokenInit { mechTypes [NTLMSSP], mechToken "abcd" } inside the RFC 2743 wrapper:
//   MechTypeList  30 0c (06 0a <ntlmssp>)                     14 bytes
//   [0]           a0 0e <MechTypeList>                         16
//   mechToken     a2 06 (04 04 61 62 63 64)                     8
//   SEQUENCE      30 18 <24 bytes>                             26
//   [0] choice    a0 1a <26 bytes>                             28
//   thisMech      06 06 <spnego>                                8
//   [APPLICATION 0] 60 24 <36 bytes>                           38
const INIT = hex(
  `60 24 06 06 ${OID_SPNEGO} a0 1a 30 18 a0 0e 30 0c 06 0a ${OID_NTLMSSP} a2 06 04 04 61 62 63 64`,
);

// NegTokenResp { accept-incomplete, NTLMSSP, responseToken "xy" }:
//   a0 03 (0a 01 01) 5 + a1 0c (06 0a <ntlmssp>) 14 + a2 04 (04 02 78 79) 6 = 25 → 30 19 → a1 1b
const RESP = hex(`a1 1b 30 19 a0 03 0a 01 01 a1 0c 06 0a ${OID_NTLMSSP} a2 04 04 02 78 79`);

// MIT krb5 1.20 SPNEGO + gss-ntlmssp 1.2 as initiator (python3-gssapi, mech 1.3.6.1.5.5.2): the
// first token, and the acceptor's accept-completed answer with its mechListMIC (NTLM signature,
// version 1, sequence number 0).
const MIT_INIT = hex(
  '604806062b0601050502a03e303ca00e300c060a2b06010401823702020aa22a04284e544c4d535350000100' +
    '0000378208e200000000000000000000000000000000060200000000000f',
);
const MIT_FINAL = hex('a11b3019a0030a0100a3120410010000003652b562952bb7f400000000');

function expectInvalid(f: () => unknown): void {
  let thrown: unknown;
  try {
    f();
  } catch (err) {
    thrown = err;
  }
  expect(thrown, 'should throw').toBeDefined();
  expect((thrown as { code?: string }).code).toBe('PSRP_SPNEGO_INVALID');
}

describe('OIDs (X.690 8.19)', () => {
  it('encodes the mechanism OIDs as derived by hand', () => {
    expect(encodeOidContents(MechOid.NTLMSSP)).toEqual(hex(OID_NTLMSSP));
    expect(encodeOidContents(MechOid.KRB5)).toEqual(hex(OID_KRB5));
    expect(encodeOidContents(MechOid.MS_KRB5)).toEqual(hex(OID_MS_KRB5));
    expect(encodeOidContents(MechOid.SPNEGO)).toEqual(hex(OID_SPNEGO));
    expect(encodeOidContents('2.999.3')).toEqual(hex('88 37 03')); // 80+999=1079=8*128+55
  });

  it('refuses OIDs it cannot encode', () => {
    for (const bad of ['', '1', '3.1', '1.40', '1.2.x', '1..2', '1.02', '-1.2', `1.2.${2 ** 60}`])
      expectInvalid(() => encodeOidContents(bad));
  });

  it('round-trips every mechanism OID through a MechTypeList', () => {
    const list = [MechOid.MS_KRB5, MechOid.KRB5, MechOid.NTLMSSP, '2.999.3', '0.0'];
    const token = encodeNegTokenInit({ mechTypes: list });
    expect(decodeNegTokenInit(token).mechTypes).toEqual(list);
  });
});

describe('NegTokenInit (RFC 4178 4.2.1 in RFC 2743 3.1)', () => {
  it('encodes the hand-derived bytes', () => {
    expect(encodeNegTokenInit({ mechTypes: [MechOid.NTLMSSP], mechToken: Buffer.from('abcd') })).toEqual(
      INIT,
    );
    expect(encodeMechTypeList([MechOid.NTLMSSP])).toEqual(hex(`30 0c 06 0a ${OID_NTLMSSP}`));
  });

  it('decodes them, keeping the MechTypeList bytes a mechListMIC covers', () => {
    const init = decodeNegTokenInit(INIT);
    expect(init.mechTypes).toEqual([MechOid.NTLMSSP]);
    expect(Buffer.from(init.mechToken!).toString()).toBe('abcd');
    expect(init.reqFlags).toBeUndefined();
    expect(init.mechListMIC).toBeUndefined();
    expect(init.mechTypeList).toEqual(hex(`30 0c 06 0a ${OID_NTLMSSP}`));
  });

  it('matches what MIT krb5 SPNEGO with gss-ntlmssp sends, byte for byte', () => {
    const init = decodeNegTokenInit(MIT_INIT);
    expect(init.mechTypes).toEqual([MechOid.NTLMSSP]);
    expect(Buffer.from(init.mechToken!).subarray(0, 12)).toEqual(
      Buffer.from('NTLMSSP\0\x01\0\0\0', 'latin1'),
    );
    expect(encodeNegTokenInit({ mechTypes: init.mechTypes, mechToken: init.mechToken! })).toEqual(MIT_INIT);
  });

  it('encodes reqFlags as a DER named bit list and mechListMIC as [3]', () => {
    // mutual (bit 1) + integ (bit 6): 0100 0010 = 0x42, one unused bit → 03 02 01 42
    const flags = encodeNegTokenInit({ mechTypes: [MechOid.NTLMSSP], reqFlags: ['mutual', 'integ'] });
    expect(flags.subarray(flags.length - 6)).toEqual(hex('a1 04 03 02 01 42'));
    expect(decodeNegTokenInit(flags).reqFlags).toEqual(['mutual', 'integ']);
    // deleg (bit 0) alone: 1000 0000, seven unused bits → 03 02 07 80
    const deleg = encodeNegTokenInit({ mechTypes: [MechOid.NTLMSSP], reqFlags: ['deleg'] });
    expect(deleg.subarray(deleg.length - 6)).toEqual(hex('a1 04 03 02 07 80'));
    // no flags: 03 01 00
    const none = encodeNegTokenInit({ mechTypes: [MechOid.NTLMSSP], reqFlags: [] });
    expect(none.subarray(none.length - 5)).toEqual(hex('a1 03 03 01 00'));
    expect(decodeNegTokenInit(none).reqFlags).toEqual([]);

    const all = {
      mechTypes: [MechOid.KRB5, MechOid.NTLMSSP],
      reqFlags: ['deleg', 'mutual', 'replay', 'sequence', 'anon', 'conf', 'integ'] as const,
      mechToken: Buffer.alloc(300, 7),
      mechListMIC: Buffer.alloc(16, 9),
    };
    const token = encodeNegTokenInit(all);
    const back = decodeNegTokenInit(token);
    expect(back.mechTypes).toEqual(all.mechTypes);
    expect(back.reqFlags).toEqual(all.reqFlags);
    expect(back.mechToken).toEqual(all.mechToken);
    expect(back.mechListMIC).toEqual(all.mechListMIC);
    // a 300-byte OCTET STRING has the long length form 82 01 2c
    expect(token.includes(hex('04 82 01 2c'))).toBe(true);
  });

  it('splits and builds the RFC 2743 InitialContextToken', () => {
    const { mech, innerToken } = decodeInitialContextToken(INIT);
    expect(mech).toBe(MechOid.SPNEGO);
    expect(innerToken).toEqual(INIT.subarray(10));
    expect(encodeInitialContextToken(MechOid.SPNEGO, innerToken)).toEqual(INIT);
    expect(encodeInitialContextToken(MechOid.KRB5, hex('01 00'))).toEqual(
      hex(`60 0d 06 09 ${OID_KRB5} 01 00`),
    );
  });
});

describe('NegTokenResp (RFC 4178 4.2.2)', () => {
  it('encodes and decodes the hand-derived bytes', () => {
    const resp = {
      negState: 'accept-incomplete',
      supportedMech: MechOid.NTLMSSP,
      responseToken: Buffer.from('xy'),
    } as const;
    expect(encodeNegTokenResp(resp)).toEqual(RESP);
    const back = decodeNegTokenResp(RESP);
    expect(back.negState).toBe('accept-incomplete');
    expect(back.supportedMech).toBe(MechOid.NTLMSSP);
    expect(Buffer.from(back.responseToken!).toString()).toBe('xy');
    expect(back.mechListMIC).toBeUndefined();
  });

  it('decodes MIT’s accept-completed with a mechListMIC, and re-encodes it identically', () => {
    const resp = decodeNegTokenResp(MIT_FINAL);
    expect(resp.negState).toBe('accept-completed');
    expect(resp.supportedMech).toBeUndefined();
    expect(resp.responseToken).toBeUndefined();
    expect(Buffer.from(resp.mechListMIC!)).toEqual(hex('010000003652b562952bb7f400000000'));
    expect(encodeNegTokenResp(resp)).toEqual(MIT_FINAL);
  });

  it('encodes every negState, and an empty NegTokenResp', () => {
    const states = ['accept-completed', 'accept-incomplete', 'reject', 'request-mic'] as const;
    states.forEach((negState, n) => {
      expect(encodeNegTokenResp({ negState })).toEqual(hex(`a1 07 30 05 a0 03 0a 01 0${n}`));
      expect(decodeNegTokenResp(hex(`a1 07 30 05 a0 03 0a 01 0${n}`)).negState).toBe(negState);
    });
    expect(encodeNegTokenResp({})).toEqual(hex('a1 02 30 00'));
    expect(decodeNegTokenResp(hex('a1 02 30 00'))).toEqual({});
  });

  it('uses the one-octet long form from 128 bytes on', () => {
    // responseToken of 200 bytes: 04 81 c8, a2 81 cb; SEQUENCE 206 → 30 81 ce; a1 81 d1
    const token = encodeNegTokenResp({ responseToken: Buffer.alloc(200, 1) });
    expect(token.subarray(0, 12)).toEqual(hex('a1 81 d1 30 81 ce a2 81 cb 04 81 c8'));
    expect(token.length).toBe(3 + 0xd1);
    expect(decodeNegTokenResp(token).responseToken).toEqual(Buffer.alloc(200, 1));
  });

  it('skips extension fields ([4] and up) and accepts BER long-form lengths', () => {
    expect(decodeNegTokenResp(hex('a1 0b 30 09 a0 03 0a 01 00 a4 02 05 00')).negState).toBe(
      'accept-completed',
    );
    // 81 05 is a non-minimal (BER) length of 5: the value ends at the same place.
    expect(decodeNegTokenResp(hex('a1 08 30 81 05 a0 03 0a 01 02')).negState).toBe('reject');
  });
});

describe('malformed tokens: only PSRP_SPNEGO_INVALID', () => {
  const cases: [string, string][] = [
    ['empty', ''],
    ['one byte', 'a1'],
    ['wrong choice tag', 'a2 02 30 00'],
    ['indefinite length', 'a1 80 30 00 00 00'],
    ['5-octet length', 'a1 85 00 00 00 00 02 30 00'],
    ['length beyond the token', 'a1 05 30 00'],
    ['trailing byte', 'a1 02 30 00 00'],
    ['high tag number', 'bf 1f 02 30 00'],
    ['SEQUENCE missing', 'a1 02 31 00'],
    ['stray byte after SEQUENCE', 'a1 03 30 00 00'],
    ['non-context field', 'a1 04 30 02 04 00'],
    ['fields out of order', 'a1 0c 30 0a a2 02 04 00 a0 03 0a 01 00'],
    ['repeated field', 'a1 0c 30 0a a0 03 0a 01 00 a0 03 0a 01 00'],
    ['negState 4', 'a1 07 30 05 a0 03 0a 01 04'],
    ['negState two octets', 'a1 08 30 06 a0 04 0a 02 00 01'],
    ['negState not ENUMERATED', 'a1 07 30 05 a0 03 02 01 00'],
    ['stray bytes inside [0]', 'a1 08 30 06 a0 04 0a 01 00 00'],
    ['responseToken not OCTET STRING', 'a1 06 30 04 a2 02 05 00'],
    ['supportedMech empty OID', 'a1 06 30 04 a1 02 06 00'],
    ['OID arc with leading 0x80', 'a1 07 30 05 a1 03 06 01 80'],
    ['OID ending inside an arc', 'a1 08 30 06 a1 04 06 02 2b 86'],
    ['OID arc too large', `a1 10 30 0e a1 0c 06 0a 2b ff ff ff ff ff ff ff ff 7f`],
  ];
  it.each(cases)('NegTokenResp: %s', (_name, bytes) => expectInvalid(() => decodeNegTokenResp(hex(bytes))));

  const initCases: [string, string][] = [
    ['not APPLICATION 0', `61 24 06 06 ${OID_SPNEGO} a0 1a 30 18`],
    ['krb5 instead of SPNEGO', `60 0d 06 09 ${OID_KRB5} a0 00`],
    ['no OID', '60 02 a0 00'],
    ['NegTokenResp inside', `60 0c 06 06 ${OID_SPNEGO} a1 02 30 00`],
    ['no mechTypes', `60 0c 06 06 ${OID_SPNEGO} a0 02 30 00`],
    ['empty mechTypes', `60 10 06 06 ${OID_SPNEGO} a0 06 30 04 a0 02 30 00`],
    ['mechTypes not OIDs', `60 12 06 06 ${OID_SPNEGO} a0 08 30 06 a0 04 30 02 04 00`],
    [
      'reqFlags with 8 unused bits',
      `60 1a 06 06 ${OID_SPNEGO} a0 10 30 0e a0 06 30 04 06 02 2b 06 a1 04 03 02 08 80`,
    ],
    [
      'reqFlags empty BIT STRING',
      `60 18 06 06 ${OID_SPNEGO} a0 0e 30 0c a0 06 30 04 06 02 2b 06 a1 02 03 00`,
    ],
  ];
  it.each(initCases)('NegTokenInit: %s', (_name, bytes) =>
    expectInvalid(() => decodeNegTokenInit(hex(bytes))),
  );

  it('refuses more than 32 mechTypes and tokens over 64 KiB', () => {
    const oids = Array.from({ length: 33 }, (_, i) => `1.2.${i}`);
    expectInvalid(() => encodeMechTypeList(oids));
    const list = Buffer.concat(
      oids.map((o) =>
        Buffer.concat([hex('06'), Buffer.from([encodeOidContents(o).length]), encodeOidContents(o)]),
      ),
    );
    const seq = Buffer.concat([hex('30 81'), Buffer.from([list.length]), list]);
    const field = Buffer.concat([hex('a0 81'), Buffer.from([seq.length]), seq]);
    const body = Buffer.concat([hex('30 81'), Buffer.from([field.length]), field]);
    const choice = Buffer.concat([hex('a0 81'), Buffer.from([body.length]), body]);
    const inner = Buffer.concat([hex(`06 06 ${OID_SPNEGO}`), choice]);
    const token = Buffer.concat([hex('60 81'), Buffer.from([inner.length]), inner]);
    expectInvalid(() => decodeNegTokenInit(token));
    expect(decodeNegTokenInit(encodeNegTokenInit({ mechTypes: oids.slice(0, 32) })).mechTypes).toHaveLength(
      32,
    );

    expectInvalid(() => decodeNegTokenResp(Buffer.alloc(MAX_SPNEGO_TOKEN_LENGTH + 1)));
    const big = encodeNegTokenResp({ responseToken: Buffer.alloc(MAX_SPNEGO_TOKEN_LENGTH - 20) });
    expect(big.length).toBeLessThanOrEqual(MAX_SPNEGO_TOKEN_LENGTH);
    expect(decodeNegTokenResp(big).responseToken).toHaveLength(MAX_SPNEGO_TOKEN_LENGTH - 20);
  });

  it('throws PSRP_SPNEGO_INVALID for every truncation of valid tokens', () => {
    const full = encodeNegTokenInit({
      mechTypes: [MechOid.NTLMSSP, MechOid.KRB5],
      reqFlags: ['mutual'],
      mechToken: Buffer.alloc(150, 1),
      mechListMIC: Buffer.alloc(16, 2),
    });
    for (let n = 0; n < full.length; n++) expectInvalid(() => decodeNegTokenInit(full.subarray(0, n)));
    for (const token of [RESP, MIT_FINAL, encodeNegTokenResp({ responseToken: Buffer.alloc(300) })])
      for (let n = 0; n < token.length; n++) expectInvalid(() => decodeNegTokenResp(token.subarray(0, n)));
  });

  it('never throws anything else on 3000 mutated tokens', () => {
    let seed = 0x5eed;
    const random = (): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed / 0x80000000;
    };
    const samples = [INIT, MIT_INIT, RESP, MIT_FINAL];
    let decoded = 0;
    for (let i = 0; i < 3000; i++) {
      const token = Buffer.from(samples[i % samples.length]!);
      const edits = 1 + Math.floor(random() * 4);
      for (let e = 0; e < edits; e++) token[Math.floor(random() * token.length)] = Math.floor(random() * 256);
      const cut = random() < 0.3 ? token.subarray(0, Math.floor(random() * token.length)) : token;
      for (const decode of [decodeNegTokenInit, decodeNegTokenResp, decodeInitialContextToken]) {
        try {
          decode(cut);
          decoded++;
        } catch (err) {
          expect((err as { code?: string }).code).toBe('PSRP_SPNEGO_INVALID');
        }
      }
    }
    expect(decoded).toBeGreaterThan(0);
  });
});
