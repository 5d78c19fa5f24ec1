// MS-NLMP 4.2.4 NTLMv2 Authentication test vectors (4.2.1 common values: user "User", domain
// "Domain", password "Password", server challenge 0123456789abcdef, client challenge aa×8, random
// session key 55×16, time 0; 4.2.4 AV pairs NetBIOS domain "Domain" and server "Server").
//
// Provenance of the expected values:
// - 4.2.4.4 (GSS_WrapEx: SEALKEY, SIGNKEY, sealed data, checksum, signature) were read from the
//   spec page itself (learn.microsoft.com/openspecs/windows_protocols/ms-nlmp/9cdb7bb2-…).
// - 4.2.4.1.1 NTOWFv2, 4.2.4.1.2 SessionBaseKey, 4.2.4.1.3 temp, 4.2.4.2.1 LMv2, 4.2.4.2.2
//   NTLMv2 response and 4.2.4.2.3 EncryptedRandomSessionKey: the spec sub-pages were not in the
//   stored corpus; the values below are the spec's as quoted, identically and with section
//   numbers, by several independent public test suites (C, Rust and Python NTLM implementations).
//   They are not derived from our own code.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { NtlmClientContext } from '../../src/auth/ntlm-context.js';
import {
  computeNtlmv2Response,
  ntlmv2ClientChallenge,
  ntowfv2,
  NtlmSessionSecurity,
  sealKey,
  signKey,
} from '../../src/auth/ntlm-crypto.js';
import {
  AvId,
  buildChallengeMessage,
  encodeAvPairs,
  NtlmFlags,
  parseAuthenticateMessage,
} from '../../src/auth/ntlm-messages.js';
import { rc4k } from '../../src/auth/rc4.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

const USER = 'User';
const DOMAIN = 'Domain';
const PASSWORD = 'Password';
const SERVER_CHALLENGE = hex('01 23 45 67 89 ab cd ef');
const CLIENT_CHALLENGE = hex('aa aa aa aa aa aa aa aa');
const RANDOM_SESSION_KEY = hex('55'.repeat(16));
const TIME = 0n;
/** 4.2.4: NTLMSSP_NEGOTIATE_KEY_EXCH | 56 | 128 | VERSION | TARGET_INFO | EXTENDED_SESSIONSECURITY | TARGET_TYPE_SERVER | ALWAYS_SIGN | NTLM | SEAL | SIGN | OEM | UNICODE. */
const FLAGS = hex('33 82 8a e2').readUInt32LE(0);
/** 4.2.4.1.3: the server's AV pairs as they appear in temp (domain first, then server, then EOL). */
const AV_PAIRS = [
  { id: AvId.NbDomainName, value: Buffer.from(DOMAIN, 'utf16le') },
  { id: AvId.NbComputerName, value: Buffer.from('Server', 'utf16le') },
];

const TEMP = hex(`
  01 01 00 00 00 00 00 00 00 00 00 00 00 00 00 00
  aa aa aa aa aa aa aa aa 00 00 00 00 02 00 0c 00
  44 00 6f 00 6d 00 61 00 69 00 6e 00 01 00 0c 00
  53 00 65 00 72 00 76 00 65 00 72 00 00 00 00 00
  00 00 00 00`);
const NTOWFV2 = hex('0c 86 8a 40 3b fd 7a 93 a3 00 1e f2 2e f0 2e 3f');
const SESSION_BASE_KEY = hex('8d e4 0c ca db c1 4a 82 f1 5c b0 ad 0d e9 5c a3');
const LMV2_RESPONSE = hex('86 c3 50 97 ac 9c ec 10 25 54 76 4a 57 cc cc 19 aa aa aa aa aa aa aa aa');
const NT_PROOF_STR = hex('68 cd 0a b8 51 e5 1c 96 aa bc 92 7b eb ef 6a 1c');
const ENCRYPTED_SESSION_KEY = hex('c5 da d2 54 4f c9 79 90 94 ce 1c e9 0b c9 d0 3e');
// 4.2.4.4
const PLAINTEXT = Buffer.from('Plaintext', 'utf16le');
const SEAL_KEY = hex('59 f6 00 97 3c c4 96 0a 25 48 0a 7c 19 6e 4c 58');
const SIGN_KEY = hex('47 88 dc 86 1b 47 82 f3 5d 43 fd 98 fe 1a 2d 39');
const SEALED = hex('54 e5 01 65 bf 19 36 dc 99 60 20 c1 81 1b 0f 06 fb 5f');
const SIGNATURE = hex('01 00 00 00 7f b3 8e c5 c5 5d 49 76 00 00 00 00');

describe('MS-NLMP 4.2.4 NTLMv2 test vectors', () => {
  const response = computeNtlmv2Response({
    responseKeyNT: ntowfv2(PASSWORD, USER, DOMAIN),
    serverChallenge: SERVER_CHALLENGE,
    clientChallenge: CLIENT_CHALLENGE,
    time: TIME,
    serverName: encodeAvPairs(AV_PAIRS),
  });

  it('4.2.4.1.1 NTOWFv2', () => {
    expect(ntowfv2(PASSWORD, USER, DOMAIN)).toEqual(NTOWFV2);
  });

  it('4.2.4.1.3 temp (NTLMv2_CLIENT_CHALLENGE)', () => {
    expect(ntlmv2ClientChallenge(TIME, CLIENT_CHALLENGE, encodeAvPairs(AV_PAIRS))).toEqual(TEMP);
  });

  it('4.2.4.2.1 LMv2 response', () => {
    expect(response.lmChallengeResponse).toEqual(LMV2_RESPONSE);
  });

  it('4.2.4.2.2 NTLMv2 response: NTProofStr || temp', () => {
    expect(response.ntProofStr).toEqual(NT_PROOF_STR);
    expect(response.ntChallengeResponse).toEqual(Buffer.concat([NT_PROOF_STR, TEMP]));
  });

  it('4.2.4.1.2 SessionBaseKey (= KeyExchangeKey for NTLMv2, 3.4.5.1)', () => {
    expect(response.sessionBaseKey).toEqual(SESSION_BASE_KEY);
  });

  it('4.2.4.2.3 EncryptedRandomSessionKey = RC4K(KeyExchangeKey, RandomSessionKey)', () => {
    expect(rc4k(SESSION_BASE_KEY, RANDOM_SESSION_KEY)).toEqual(ENCRYPTED_SESSION_KEY);
  });

  it('4.2.4.4 SEALKEY and SIGNKEY (client to server)', () => {
    expect(sealKey(RANDOM_SESSION_KEY, FLAGS, 'client')).toEqual(SEAL_KEY);
    expect(signKey(RANDOM_SESSION_KEY, 'client')).toEqual(SIGN_KEY);
  });

  it('3.4.5.3 SEALKEY weakens the key to 56 or 40 bits without NEGOTIATE_128', () => {
    const magic = Buffer.from('session key to client-to-server sealing key magic constant\0', 'latin1');
    const md5 = (b: Buffer): Buffer => createHash('md5').update(b).update(magic).digest();
    expect(sealKey(RANDOM_SESSION_KEY, NtlmFlags.NEGOTIATE_56, 'client')).toEqual(
      md5(RANDOM_SESSION_KEY.subarray(0, 7)),
    );
    expect(sealKey(RANDOM_SESSION_KEY, 0, 'client')).toEqual(md5(RANDOM_SESSION_KEY.subarray(0, 5)));
  });

  it('4.2.4.4 GSS_WrapEx: sealed "Plaintext" and its signature (seq 0)', () => {
    const security = new NtlmSessionSecurity(RANDOM_SESSION_KEY, FLAGS, 'client');
    const { data: sealed, header: signature } = security.seal(PLAINTEXT);
    expect(sealed).toEqual(SEALED);
    expect(signature).toEqual(SIGNATURE);
  });

  it('4.2.4.4 unsealed by the server side', () => {
    const server = new NtlmSessionSecurity(RANDOM_SESSION_KEY, FLAGS, 'server');
    // The server unseals with the client-to-server keys: it must recover the plaintext.
    expect(server.unseal(SIGNATURE, SEALED)).toEqual(PLAINTEXT);
  });

  it('the client context, given the 4.2.4 inputs, unwraps to the same session and seals the 4.2.4.4 bytes', () => {
    // The context adds MsvAvChannelBindings (and would add MsvAvFlags with a timestamp), so its
    // NTProofStr differs from 4.2.4.2.2; the key exchange and the sealing must not.
    const client = new NtlmClientContext({
      credentials: { username: `${DOMAIN}\\${USER}`, password: PASSWORD },
      clientChallenge: CLIENT_CHALLENGE,
      timestamp: TIME,
      exportedSessionKey: RANDOM_SESSION_KEY,
    });
    client.negotiate();
    const challenge = buildChallengeMessage({
      flags: FLAGS,
      serverChallenge: SERVER_CHALLENGE,
      targetName: 'Server',
      avPairs: AV_PAIRS,
    });
    const auth = parseAuthenticateMessage(client.authenticate(challenge));
    expect(auth.user).toBe(USER);
    expect(auth.domain).toBe(DOMAIN);
    expect(auth.lmChallengeResponse).toHaveLength(24);
    expect(auth.encryptedRandomSessionKey).toHaveLength(16);
    // No MsvAvTimestamp in 4.2.4: no MIC is computed and the MIC field stays zero.
    expect(auth.mic).toEqual(Buffer.alloc(16));
    expect(client.seal(PLAINTEXT)).toEqual({ header: SIGNATURE, data: SEALED });
  });
});
