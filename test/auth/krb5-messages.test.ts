// Strict DER readers for the Kerberos messages (src/auth/krb5-messages.ts), the GSS/SPNEGO token
// unframing (src/auth/krb5-gss-token.ts) and the MIT FILE ccache parser (src/auth/ccache.ts), on
// tokens and a cache recorded from MIT krb5 1.20.1, then truncated and corrupted: every failure is
// a typed error with a stable code, never a RangeError.
import { readFileSync } from 'node:fs';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import {
  findServiceCredentials,
  parseCcache,
  parseServicePrincipal,
  principalToString,
} from '../../src/auth/ccache.js';
import { decrypt } from '../../src/auth/krb5-crypto.js';
import { krb5ContextToken, Krb5TokenId, negTokenRespHasMechListMic } from '../../src/auth/krb5-gss-token.js';
import { encodeNegTokenResp } from '../../src/auth/spnego.js';
import {
  decodeApRep,
  decodeApReq,
  decodeAuthenticator,
  decodeEncApRepPart,
  decodeEncryptionKey,
  decodeKrbError,
} from '../../src/auth/krb5-messages.js';
import { ProtocolError } from '../../src/errors.js';

const fixture = JSON.parse(
  readFileSync(new URL('./fixtures/krb5-mit-contexts.json', import.meta.url), 'utf8'),
);
const rec = fixture.Kerberos;
const sessionKey = { enctype: rec.sessionKey.enctype, bytes: Buffer.from(rec.sessionKey.hex, 'hex') };

/** Runs `f`; it must succeed or throw a ProtocolError with `code`. */
function typedOrOk(f: () => unknown, code: string): 'ok' | 'refused' {
  try {
    f();
    return 'ok';
  } catch (e) {
    expect(e).toBeInstanceOf(ProtocolError);
    expect((e as ProtocolError).code).toBe(code);
    return 'refused';
  }
}

/** A tiny deterministic PRNG for the corruption runs. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32;
}

describe('krb5 messages (RFC 4120 5.5.1, 5.5.2)', () => {
  const apReqToken = krb5ContextToken(rec.initiatorToken);
  const apRepToken = krb5ContextToken(rec.acceptorToken);

  it('reads the AP-REQ, its Authenticator, the AP-REP and its EncAPRepPart', () => {
    expect(apReqToken).toMatchObject({ tokId: Krb5TokenId.AP_REQ, spnego: false });
    const apReq = decodeApReq(apReqToken.message);
    expect(apReq.ticket.realm).toBe('PSRP.TEST');
    expect(apReq.ticket.sname).toEqual({ nameType: 3, components: ['HTTP', 'localhost'] });
    expect(apReq.authenticator.etype).toBe(18);
    const a = decodeAuthenticator(decrypt(sessionKey, 11, apReq.authenticator.cipher));
    expect(a.crealm).toBe('PSRP.TEST');
    expect(a.cname.components).toEqual(['alice']);
    expect(a.ctime).toMatch(/^\d{14}Z$/);
    expect(a.subkey?.enctype).toBe(18);
    expect(a.subkey?.bytes.length).toBe(32);
    expect(a.seqNumber).toBeGreaterThanOrEqual(0);
    expect(apRepToken.tokId).toBe(Krb5TokenId.AP_REP);
    const part = decodeEncApRepPart(decrypt(sessionKey, 12, decodeApRep(apRepToken.message).encPart.cipher));
    expect(part).toMatchObject({ ctime: a.ctime, cusec: a.cusec });
    expect(part.subkey?.enctype).toBe(18);
    expect(part.seqNumber).toBeGreaterThanOrEqual(0);
  });

  it('SPNEGO: the NegTokenInit mechToken and the NegTokenResp responseToken', () => {
    const init = krb5ContextToken(fixture.Negotiate.initiatorToken);
    expect(init).toMatchObject({ tokId: Krb5TokenId.AP_REQ, spnego: true });
    const resp = krb5ContextToken(Buffer.from(fixture.Negotiate.acceptorToken, 'base64'));
    expect(resp).toMatchObject({ tokId: Krb5TokenId.AP_REP, spnego: true, negState: 0, mechListMic: false });
  });

  it('SPNEGO: negState and mechListMIC of a NegTokenResp; its decoding errors carry the Kerberos code', () => {
    const apRep = Buffer.from(fixture.Kerberos.acceptorToken, 'base64');
    const withMic = encodeNegTokenResp({
      negState: 'accept-incomplete',
      responseToken: apRep,
      mechListMIC: Buffer.from('0404', 'hex'),
    });
    expect(krb5ContextToken(withMic)).toMatchObject({
      tokId: Krb5TokenId.AP_REP,
      spnego: true,
      negState: 1,
      mechListMic: true,
    });
    expect(negTokenRespHasMechListMic(withMic.toString('base64'))).toBe(true);
    expect(negTokenRespHasMechListMic(encodeNegTokenResp({ negState: 'accept-completed' }))).toBe(false);
    expect(negTokenRespHasMechListMic('')).toBe(false);
    // DER wants the fields in tag order: [3] before [2] is refused, with this codec's code.
    const swapped = Buffer.from('a10c300aa3030401aaa2030401bb', 'hex');
    for (const f of [krb5ContextToken, negTokenRespHasMechListMic]) {
      expect(() => f(swapped)).toThrow(ProtocolError);
      expect(() => f(swapped)).toThrow(expect.objectContaining({ code: 'PSRP_KERBEROS_MESSAGE_INVALID' }));
    }
  });

  it('every truncation of every message is refused with PSRP_KERBEROS_MESSAGE_INVALID', () => {
    const code = 'PSRP_KERBEROS_MESSAGE_INVALID';
    const apReq = apReqToken.message;
    for (let n = 0; n < apReq.length; n++)
      expect(typedOrOk(() => decodeApReq(apReq.subarray(0, n)), code)).toBe('refused');
    const auth = decrypt(sessionKey, 11, decodeApReq(apReq).authenticator.cipher);
    for (let n = 0; n < auth.length; n++)
      expect(typedOrOk(() => decodeAuthenticator(auth.subarray(0, n)), code)).toBe('refused');
    const apRep = apRepToken.message;
    for (let n = 0; n < apRep.length; n++)
      expect(typedOrOk(() => decodeApRep(apRep.subarray(0, n)), code)).toBe('refused');
    for (const t of [rec.initiatorToken, fixture.Negotiate.initiatorToken, fixture.Negotiate.acceptorToken]) {
      const b = Buffer.from(t, 'base64');
      for (let n = 0; n < b.length; n++)
        expect(typedOrOk(() => krb5ContextToken(b.subarray(0, n)), code)).toBe('refused');
    }
    // Trailing bytes are refused too.
    expect(typedOrOk(() => decodeApReq(Buffer.concat([apReq, Buffer.from([0])])), code)).toBe('refused');
  });

  it('random corruption never escapes as anything but a typed error', () => {
    const rnd = prng(4121);
    const code = 'PSRP_KERBEROS_MESSAGE_INVALID';
    const inputs: [Uint8Array, (b: Uint8Array) => unknown][] = [
      [apReqToken.message, decodeApReq],
      [decrypt(sessionKey, 11, decodeApReq(apReqToken.message).authenticator.cipher), decodeAuthenticator],
      [decrypt(sessionKey, 12, decodeApRep(apRepToken.message).encPart.cipher), decodeEncApRepPart],
      [Buffer.from(fixture.Negotiate.initiatorToken, 'base64'), krb5ContextToken],
    ];
    for (const [input, f] of inputs) {
      for (let i = 0; i < 300; i++) {
        const b = Buffer.from(input);
        for (let k = 1 + Math.floor(rnd() * 3); k > 0; k--)
          b[Math.floor(rnd() * b.length)] = Math.floor(rnd() * 256);
        typedOrOk(() => f(b), code);
      }
    }
  });

  it('specific refusals: wrong msg-type, indefinite length, unknown mech, SPNEGO reject, KRB-ERROR', () => {
    const apRep = Buffer.from(apRepToken.message);
    expect(() => decodeApReq(apRep)).toThrow(/AP-REQ: expected tag 0x6e/);
    expect(() => decodeEncryptionKey(Buffer.from('3080a003020112a1020400', 'hex'))).toThrow(/indefinite/);
    expect(() => krb5ContextToken(Buffer.from('600c06092a864886f71201020301', 'hex'))).toThrow(
      /not the Kerberos V5 OID/,
    );
    expect(() => krb5ContextToken(Buffer.from('a1073005a0030a0102', 'hex'))).toThrow(/reject/);
    expect(() => krb5ContextToken('')).toThrow(/empty/);
    // KRB-ERROR [APPLICATION 30] with pvno, msg-type, stime, susec, error-code 41 (KRB_AP_ERR_MODIFIED), realm, sname, e-text.
    const err = Buffer.from(
      '7e' +
        '3c' +
        '3039' +
        'a003020105' +
        'a10302011e' +
        'a411180f32303236313132353135303030305a' +
        'a503020100' +
        'a603020129' +
        'a9041b02' +
        '5850' +
        'ab061b04' +
        '6f6f7073',
      'hex',
    );
    err[1] = err.length - 2;
    err[3] = err.length - 4;
    expect(decodeKrbError(err)).toEqual({ errorCode: 41, eText: 'oops' });
  });
});

describe('MIT FILE ccache (version 4, recorded)', () => {
  const bytes = Buffer.from(fixture.ccache, 'base64');

  it('reads the default principal and the tickets, skipping configuration entries', () => {
    const cc = parseCcache(bytes);
    expect(cc.version).toBe(4);
    expect(principalToString(cc.defaultPrincipal)).toBe('alice@PSRP.TEST');
    expect(cc.credentials.map((c) => principalToString(c.server))).toEqual([
      'krbtgt/PSRP.TEST@PSRP.TEST',
      'HTTP/localhost@PSRP.TEST',
    ]);
    expect(bytes.includes('X-CACHECONF:')).toBe(true); // present in the file, left out of the result
    const http = cc.credentials[1]!;
    expect(http.key.enctype).toBe(18);
    expect(Buffer.from(http.key.bytes).toString('hex')).toBe(rec.sessionKey.hex);
    expect(http.endTime).toBeGreaterThan(http.authTime);
    expect(http.ticket[0]).toBe(0x61); // Ticket ::= [APPLICATION 1]
    // Key bytes are non-enumerable: inspect and JSON show the enctype only.
    expect(JSON.stringify(http.key)).toBe('{"enctype":18}');
    expect(inspect(cc.credentials.map((c) => c.key))).not.toContain('Uint8Array');
  });

  it('finds the service ticket by principal, host-based name, any realm or the referral realm; expired ones are left out', () => {
    const cc = parseCcache(bytes);
    for (const name of [
      'HTTP/localhost@PSRP.TEST',
      'HTTP/localhost',
      'HTTP@localhost',
      'http/LOCALHOST@psrp.test',
    ])
      expect(findServiceCredentials(cc, name)).toHaveLength(1);
    expect(findServiceCredentials(cc, 'HTTP/localhost@OTHER.TEST')).toHaveLength(0);
    expect(findServiceCredentials(cc, 'HTTP/other')).toHaveLength(0);
    const http = cc.credentials[1]!;
    expect(findServiceCredentials(cc, 'HTTP@localhost', http.endTime + 1)).toHaveLength(0);
    const referral = { ...cc, credentials: [{ ...http, server: { ...http.server, realm: '' } }, http] };
    const found = findServiceCredentials(referral, 'HTTP/localhost@PSRP.TEST');
    expect(found.map((c) => c.server.realm)).toEqual(['PSRP.TEST', '']); // newest (last in file) first
    expect(parseServicePrincipal('HTTP@host.example')).toEqual({ components: ['HTTP', 'host.example'] });
  });

  it('version 3 (the enctype written twice) parses to the same credentials', () => {
    // v3 = no header; each keyblock has the 16-bit enctype twice.
    const v4 = parseCcache(bytes);
    const headerLen = bytes.readUInt16BE(2);
    const parts: Buffer[] = [Buffer.from([5, 3])];
    let p = 4 + headerLen;
    const u32 = () => {
      const n = bytes.readUInt32BE(p);
      p += 4;
      return n;
    };
    const skipData = () => {
      const n = u32();
      p += n;
    };
    const copyPrincipal = () => {
      const start = p;
      p += 4;
      const n = u32();
      for (let i = 0; i <= n; i++) skipData();
      parts.push(bytes.subarray(start, p));
    };
    copyPrincipal();
    while (p < bytes.length) {
      copyPrincipal();
      copyPrincipal();
      const enctype = bytes.subarray(p, p + 2);
      parts.push(enctype, enctype);
      p += 2;
      const start = p;
      skipData(); // key
      p += 16 + 1 + 4; // times, is_skey, flags
      for (let n = u32(); n > 0; n--) {
        p += 2;
        skipData();
      }
      for (let n = u32(); n > 0; n--) {
        p += 2;
        skipData();
      }
      skipData(); // ticket
      skipData(); // second ticket
      parts.push(bytes.subarray(start, p));
    }
    const v3 = parseCcache(Buffer.concat(parts));
    expect(v3.version).toBe(3);
    expect(v3.credentials).toEqual(v4.credentials);
  });

  it('truncations and other versions are refused with PSRP_KERBEROS_CCACHE_INVALID', () => {
    let refused = 0;
    for (let n = 0; n < bytes.length; n++) {
      // A cut exactly between two credentials is a valid, shorter cache.
      if (typedOrOk(() => parseCcache(bytes.subarray(0, n)), 'PSRP_KERBEROS_CCACHE_INVALID') === 'refused')
        refused++;
    }
    expect(refused).toBeGreaterThan(bytes.length - 5);
    expect(() => parseCcache(Buffer.from([5, 2, 0, 0]))).toThrow(/version 2/);
    expect(() => parseCcache(Buffer.from('not a cache'))).toThrow(/first byte/);
    const rnd = prng(3962);
    for (let i = 0; i < 300; i++) {
      const b = Buffer.from(bytes);
      b[Math.floor(rnd() * b.length)] = Math.floor(rnd() * 256);
      typedOrOk(() => parseCcache(b), 'PSRP_KERBEROS_CCACHE_INVALID');
    }
  });
});
