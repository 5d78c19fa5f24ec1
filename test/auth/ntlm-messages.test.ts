// MS-NLMP 2.2.1.1-2.2.1.3 and 2.2.2.1 codecs: layout, round trips, and hostile input (truncated or
// garbage CHALLENGE messages must throw ProtocolError PSRP_NTLM_MESSAGE_INVALID, never RangeError).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  AvId,
  buildAuthenticateMessage,
  buildChallengeMessage,
  buildNegotiateMessage,
  encodeAvPairs,
  NtlmFlags,
  parseAuthenticateMessage,
  parseAvPairs,
  parseChallengeMessage,
  parseNegotiateMessage,
} from '../../src/auth/ntlm-messages.js';
import { ProtocolError } from '../../src/errors.js';

const flags =
  NtlmFlags.NEGOTIATE_UNICODE |
  NtlmFlags.NEGOTIATE_TARGET_INFO |
  NtlmFlags.NEGOTIATE_VERSION |
  NtlmFlags.NEGOTIATE_128;

function challenge(): Buffer {
  return buildChallengeMessage({
    flags,
    serverChallenge: Buffer.from('0123456789abcdef', 'hex'),
    targetName: 'Server',
    avPairs: [
      { id: AvId.NbDomainName, value: Buffer.from('Domain', 'utf16le') },
      { id: AvId.NbComputerName, value: Buffer.from('Server', 'utf16le') },
    ],
  });
}

function expectInvalid(fn: () => unknown): ProtocolError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ProtocolError);
    expect((e as ProtocolError).code).toBe('PSRP_NTLM_MESSAGE_INVALID');
    return e as ProtocolError;
  }
  throw new Error('expected a ProtocolError');
}

describe('NEGOTIATE_MESSAGE (2.2.1.1)', () => {
  it('has the signature, type 1, the flags and the version at 32', () => {
    const m = buildNegotiateMessage(0xe2088297);
    expect(m.subarray(0, 8).toString('latin1')).toBe('NTLMSSP\0');
    expect(m.readUInt32LE(8)).toBe(1);
    expect(m.readUInt32LE(12)).toBe(0xe2088297);
    expect(m).toHaveLength(40);
    expect(m[39]).toBe(0x0f); // NTLMSSP_REVISION_W2K3
    expect(parseNegotiateMessage(m).flags).toBe(0xe2088297);
  });
});

describe('CHALLENGE_MESSAGE (2.2.1.2) and AV_PAIRs (2.2.2.1)', () => {
  it('round trips', () => {
    const c = parseChallengeMessage(challenge());
    expect(c.flags).toBe(flags);
    expect(c.serverChallenge.toString('hex')).toBe('0123456789abcdef');
    expect(c.targetName).toBe('Server');
    expect(c.avPairs.map((p) => [p.id, p.value.toString('utf16le')])).toEqual([
      [AvId.NbDomainName, 'Domain'],
      [AvId.NbComputerName, 'Server'],
    ]);
    expect(c.version).toHaveLength(8);
  });

  it('AV pairs end with MsvAvEOL and round trip', () => {
    const pairs = [{ id: AvId.Timestamp, value: Buffer.alloc(8, 1) }];
    const enc = encodeAvPairs(pairs);
    expect(enc.subarray(-4)).toEqual(Buffer.alloc(4));
    expect(parseAvPairs(enc)).toEqual(pairs);
  });

  it('refuses an AV_PAIR list without MsvAvEOL or with a value past the end', () => {
    expectInvalid(() => parseAvPairs(Buffer.from('0700080001', 'hex')));
    expectInvalid(() => parseAvPairs(Buffer.from('01000200', 'hex')));
    expectInvalid(() => parseAvPairs(Buffer.from('0100', 'hex')));
  });

  it('refuses a wrong signature or message type', () => {
    const c = challenge();
    const badSig = Buffer.from(c);
    badSig[0] = 0x4d;
    expect(expectInvalid(() => parseChallengeMessage(badSig)).element).toBe('Signature');
    expect(expectInvalid(() => parseChallengeMessage(buildNegotiateMessage(flags))).element).toBe(
      'MessageType',
    );
  });

  it('refuses every truncation of a valid challenge', () => {
    const c = challenge();
    for (let n = 0; n < c.length; n++) expectInvalid(() => parseChallengeMessage(c.subarray(0, n)));
  });

  it('refuses payload offsets and lengths outside the message', () => {
    const c = challenge();
    const farOffset = Buffer.from(c);
    farOffset.writeUInt32LE(0xfffffff0, 44); // TargetInfo offset
    expect(expectInvalid(() => parseChallengeMessage(farOffset)).element).toBe('TargetInfo');
    const longName = Buffer.from(c);
    longName.writeUInt16LE(0xffff, 12); // TargetName length
    expect(expectInvalid(() => parseChallengeMessage(longName)).element).toBe('TargetName');
  });

  it('never throws anything but PSRP_NTLM_MESSAGE_INVALID on garbage (property)', () => {
    const valid = challenge();
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.nat(valid.length), (noise, at) => {
        // Random bytes, and a valid message with random bytes written over part of it.
        for (const input of [
          Buffer.from(noise),
          Buffer.concat([valid.subarray(0, at), Buffer.from(noise)]),
        ]) {
          try {
            parseChallengeMessage(input);
          } catch (e) {
            if (!(e instanceof ProtocolError) || e.code !== 'PSRP_NTLM_MESSAGE_INVALID') throw e;
          }
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe('AUTHENTICATE_MESSAGE (2.2.1.3)', () => {
  it('round trips with the payload after the 88-byte header (Version and MIC present)', () => {
    const m = buildAuthenticateMessage({
      flags,
      lmChallengeResponse: Buffer.alloc(24),
      ntChallengeResponse: Buffer.alloc(60, 7),
      domain: 'Domain',
      user: 'User',
      workstation: 'WS',
      encryptedRandomSessionKey: Buffer.alloc(16, 9),
      mic: Buffer.alloc(16, 3),
    });
    expect(m.readUInt32LE(8)).toBe(3);
    expect(m.readUInt32LE(16)).toBe(88); // LmChallengeResponse offset
    const a = parseAuthenticateMessage(m);
    expect(a).toMatchObject({ flags, domain: 'Domain', user: 'User', workstation: 'WS' });
    expect(a.ntChallengeResponse).toEqual(Buffer.alloc(60, 7));
    expect(a.encryptedRandomSessionKey).toEqual(Buffer.alloc(16, 9));
    expect(a.mic).toEqual(Buffer.alloc(16, 3));
  });

  it('refuses every truncation', () => {
    const m = buildAuthenticateMessage({
      flags,
      lmChallengeResponse: Buffer.alloc(24),
      ntChallengeResponse: Buffer.alloc(60),
      domain: 'D',
      user: 'U',
      workstation: '',
      encryptedRandomSessionKey: Buffer.alloc(16),
    });
    for (let n = 0; n < m.length; n++) expectInvalid(() => parseAuthenticateMessage(m.subarray(0, n)));
  });
});
