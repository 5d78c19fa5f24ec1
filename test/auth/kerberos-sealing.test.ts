// The TypeScript CFX sealing context (src/auth/kerberos-sealing.ts) against contexts recorded from
// MIT krb5 1.20.1 (test/auth/fixtures/krb5-mit-contexts.json: kerberos@7's first token, the lab
// acceptor's AP-REP, the ticket session key from the ccache, and messages MIT sealed with
// gss_wrap_iov): keys and sequence numbers recovered, MIT's messages unsealed in order, and every
// refusal (tampered, out of order, reflected, wrong flags, wrong key, unsupported enctype).
import { readFileSync } from 'node:fs';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { EncType, type Krb5Key } from '../../src/auth/krb5-crypto.js';
import { krb5ContextToken } from '../../src/auth/krb5-gss-token.js';
import {
  kerberosSealer,
  KERBEROS_SESSION_ENCRYPTED,
  SPNEGO_SESSION_ENCRYPTED,
} from '../../src/auth/kerberos-sealing.js';
import { parseWrapTokenHeader } from '../../src/auth/kerberos-wrap.js';

interface Recorded {
  initiatorToken: string;
  acceptorToken: string;
  sessionKey: { enctype: number; hex: string };
  acceptorWrapped: { plaintext: string; header: string; data: string }[];
}
const fixture = JSON.parse(
  readFileSync(new URL('./fixtures/krb5-mit-contexts.json', import.meta.url), 'utf8'),
) as Record<'Kerberos' | 'Negotiate', Recorded>;

const keyOf = (r: Recorded): Krb5Key => ({
  enctype: r.sessionKey.enctype,
  bytes: Buffer.from(r.sessionKey.hex, 'hex'),
});
const hex = (s: string): Buffer => Buffer.from(s, 'hex');

for (const scheme of ['Kerberos', 'Negotiate'] as const) {
  const rec = fixture[scheme];
  const make = () =>
    kerberosSealer({
      sessionKey: keyOf(rec),
      initiatorToken: rec.initiatorToken,
      acceptorToken: rec.acceptorToken,
      scheme,
    });

  describe(`kerberosSealer, ${scheme} (recorded from MIT)`, () => {
    it('recovers the context: acceptor subkey (aes256), protocol string', () => {
      const s = make();
      expect(s.enctype).toBe(EncType.AES256_CTS_HMAC_SHA1_96);
      expect(s.acceptorSubkey).toBe(true);
      expect(s.protocol).toBe(scheme === 'Kerberos' ? KERBEROS_SESSION_ENCRYPTED : SPNEGO_SESSION_ENCRYPTED);
      expect(krb5ContextToken(rec.initiatorToken).spnego).toBe(scheme === 'Negotiate');
    });

    it('keeps keys out of inspect and JSON', () => {
      const s = make();
      const shown = inspect(s, { depth: 5 }) + JSON.stringify(s);
      expect(shown).toContain('protocol');
      expect(shown).not.toMatch(/Uint8Array|Buffer|ke:|ki:/);
      expect(shown).not.toContain(rec.sessionKey.hex.slice(0, 16));
    });

    it("unseals MIT's gss_wrap_iov messages in order (including an empty one)", () => {
      const s = make();
      for (const w of rec.acceptorWrapped) {
        expect(parseWrapTokenHeader(hex(w.header))).toMatchObject({ flags: 0x07, ec: 0, rrc: 28 });
        expect(Buffer.from(s.unseal(hex(w.header), hex(w.data))).toString()).toBe(w.plaintext);
      }
    });

    it('seals in the Windows layout: 60-byte header, flags 06, EC 0, RRC 28, sequence numbers counting up', () => {
      const s = make();
      const a = s.seal(Buffer.from('hello'));
      const b = s.seal(Buffer.from('x'.repeat(1000)));
      expect(a.header.length).toBe(60);
      expect(a.data.length).toBe(5);
      expect(b.data.length).toBe(1000);
      const ha = parseWrapTokenHeader(a.header);
      const hb = parseWrapTokenHeader(b.header);
      expect(ha).toMatchObject({ flags: 0x06, ec: 0, rrc: 28 });
      expect(hb.sequenceNumber).toBe(ha.sequenceNumber + 1n);
      // Not the plaintext, and a fresh confounder each time.
      expect(Buffer.from(a.data).toString()).not.toBe('hello');
      expect(Buffer.from(s.seal(Buffer.from('hello')).data)).not.toEqual(Buffer.from(a.data));
      // Our own message is no acceptor message: flag SentByAcceptor missing (a reflection).
      expect(() => make().unseal(a.header, a.data)).toThrow(
        expect.objectContaining({
          code: 'PSRP_KERBEROS_UNSEAL_FAILED',
          message: expect.stringMatching(/SentByAcceptor/),
        }),
      );
    });

    it('refuses a tampered message, and one out of order', () => {
      const [first, second] = rec.acceptorWrapped;
      const data = hex(first!.data);
      data[3] = data[3]! ^ 0x01;
      expect(() => make().unseal(hex(first!.header), data)).toThrow(/checksum/);
      const header = hex(first!.header);
      header[20] = header[20]! ^ 0x80; // inside the rotated encrypted part
      expect(() => make().unseal(header, hex(first!.data))).toThrow(/checksum/);
      const seqChanged = hex(first!.header);
      seqChanged[15] = seqChanged[15]! ^ 0x01; // the clear SND_SEQ differs from the encrypted copy
      expect(() => make().unseal(seqChanged, hex(first!.data))).toThrow(/header copy|checksum/);
      expect(() => make().unseal(hex(second!.header), hex(second!.data))).toThrow(
        expect.objectContaining({
          code: 'PSRP_KERBEROS_UNSEAL_FAILED',
          message: expect.stringMatching(/sequence number/),
        }),
      );
      // A replay of an already unsealed message is refused too.
      const s = make();
      s.unseal(hex(first!.header), hex(first!.data));
      expect(() => s.unseal(hex(first!.header), hex(first!.data))).toThrow(/sequence number/);
      // Flag AcceptorSubkey removed: refused before any crypto.
      const flags = hex(first!.header);
      flags[2] = 0x03;
      expect(() => make().unseal(flags, hex(first!.data))).toThrow(/AcceptorSubkey/);
    });

    it('picks the session key that decrypts the Authenticator among several; none → PSRP_KERBEROS_MESSAGE_INVALID', () => {
      const wrong = { enctype: 18, bytes: Buffer.alloc(32, 1) };
      const s = kerberosSealer({
        sessionKey: [wrong, keyOf(rec)],
        initiatorToken: rec.initiatorToken,
        acceptorToken: rec.acceptorToken,
        scheme,
      });
      const w = rec.acceptorWrapped[0]!;
      expect(Buffer.from(s.unseal(hex(w.header), hex(w.data))).toString()).toBe(w.plaintext);
      expect(() =>
        kerberosSealer({
          sessionKey: wrong,
          initiatorToken: rec.initiatorToken,
          acceptorToken: rec.acceptorToken,
          scheme,
        }),
      ).toThrow(
        expect.objectContaining({
          code: 'PSRP_KERBEROS_MESSAGE_INVALID',
          message: expect.stringMatching(/decrypts/),
        }),
      );
    });

    it('an AP-REP of another context, or tokens swapped, are refused', () => {
      const other = fixture[scheme === 'Kerberos' ? 'Negotiate' : 'Kerberos'];
      expect(() =>
        kerberosSealer({
          sessionKey: keyOf(rec),
          initiatorToken: rec.initiatorToken,
          acceptorToken: other.acceptorToken,
          scheme,
        }),
      ).toThrow(/ctime\/cusec|integrity/);
      expect(() =>
        kerberosSealer({
          sessionKey: keyOf(rec),
          initiatorToken: rec.acceptorToken,
          acceptorToken: rec.initiatorToken,
          scheme,
        }),
      ).toThrow(expect.objectContaining({ code: 'PSRP_KERBEROS_MESSAGE_INVALID' }));
    });
  });
}

describe('kerberosSealer: SPNEGO mechListMIC tokens use a sequence number (RFC 4121 4.2.6)', () => {
  const rec = fixture.Negotiate;
  const MIC = Buffer.from('a306040401020304', 'hex'); // mechListMIC [3] OCTET STRING 01020304

  it("our final NegTokenResp with a mechListMIC: sealing starts at the Authenticator's number + 1", () => {
    const plain = kerberosSealer({
      sessionKey: keyOf(rec),
      initiatorToken: rec.initiatorToken,
      acceptorToken: rec.acceptorToken,
      scheme: 'Negotiate',
    });
    const withMic = kerberosSealer({
      sessionKey: keyOf(rec),
      initiatorToken: rec.initiatorToken,
      acceptorToken: rec.acceptorToken,
      initiatorFinalToken: Buffer.concat([Buffer.from('a10a3008', 'hex'), MIC]),
      scheme: 'Negotiate',
    });
    const a = parseWrapTokenHeader(plain.seal(Buffer.from('x')).header).sequenceNumber;
    expect(parseWrapTokenHeader(withMic.seal(Buffer.from('x')).header).sequenceNumber).toBe(a + 1n);
    // An empty final token, or one without a MIC, changes nothing.
    for (const initiatorFinalToken of ['', Buffer.from('a1073005a0030a0100', 'hex')]) {
      const s = kerberosSealer({
        sessionKey: keyOf(rec),
        initiatorToken: rec.initiatorToken,
        acceptorToken: rec.acceptorToken,
        initiatorFinalToken,
        scheme: 'Negotiate',
      });
      expect(parseWrapTokenHeader(s.seal(Buffer.from('x')).header).sequenceNumber).toBe(a);
    }
  });

  it("the server's NegTokenResp with a mechListMIC: its first sealed message is expected at its number + 1", () => {
    const resp = Buffer.from(rec.acceptorToken, 'base64');
    // a1 81 LL 30 81 LL ...: append the MIC field inside the SEQUENCE and grow both lengths.
    expect(resp.subarray(0, 2).toString('hex') + resp.subarray(3, 5).toString('hex')).toBe('a1813081');
    const grown = Buffer.concat([resp, MIC]);
    grown[2] = grown[2]! + MIC.length;
    grown[5] = grown[5]! + MIC.length;
    const s = kerberosSealer({
      sessionKey: keyOf(rec),
      initiatorToken: rec.initiatorToken,
      acceptorToken: grown,
      scheme: 'Negotiate',
    });
    const w = rec.acceptorWrapped[0]!;
    expect(() => s.unseal(hex(w.header), hex(w.data))).toThrow(/sequence number \d+, expected \d+/);
  });
});

describe('kerberosSealer: enctypes', () => {
  it('an RC4-HMAC (23) Authenticator: PSRP_KERBEROS_UNSUPPORTED', () => {
    const rec = fixture.Kerberos;
    const token = Buffer.from(rec.initiatorToken, 'base64');
    // The Authenticator's EncryptedData is the last element of the AP-REQ: its etype [0] INTEGER 18.
    const at = token.lastIndexOf(Buffer.from('a003020112', 'hex'));
    expect(at).toBeGreaterThan(0);
    token[at + 4] = 23;
    expect(() =>
      kerberosSealer({
        sessionKey: { enctype: 23, bytes: Buffer.alloc(16) },
        initiatorToken: token,
        scheme: 'Kerberos',
      }),
    ).toThrow(expect.objectContaining({ code: 'PSRP_KERBEROS_UNSUPPORTED', mechanism: 'kerberos' }));
  });

  it('without an acceptor token (no mutual authentication) the initiator subkey is used both ways', () => {
    const rec = fixture.Kerberos;
    const s = kerberosSealer({
      sessionKey: keyOf(rec),
      initiatorToken: rec.initiatorToken,
      scheme: 'Kerberos',
    });
    expect(s.acceptorSubkey).toBe(false);
    expect(parseWrapTokenHeader(s.seal(Buffer.from('x')).header).flags).toBe(0x02);
  });
});
