// A minimal, test-only NTLM acceptor (MS-NLMP 3.2.5.1 server side): it builds a CHALLENGE, then
// checks the AUTHENTICATE against a known password (NTProofStr, MIC, channel bindings, target
// name) and seals/unseals in the server-to-client direction. Not a security boundary: tests only.
import { timingSafeEqual } from 'node:crypto';
import { channelBindingsHash } from '../../src/auth/channel-bindings.js';
import {
  fileTime,
  hmacMd5,
  ntowfv2,
  NtlmSessionSecurity,
} from '../../src/auth/ntlm-crypto.js';
import type { SealedMessage } from '../../src/auth/sealing-context.js';
import {
  AUTHENTICATE_MIC_OFFSET,
  AvFlags,
  AvId,
  type AvPair,
  buildChallengeMessage,
  findAvPair,
  NtlmFlags,
  parseAuthenticateMessage,
  parseAvPairs,
  parseNegotiateMessage,
} from '../../src/auth/ntlm-messages.js';
import { rc4k } from '../../src/auth/rc4.js';

export interface TestAcceptorOptions {
  readonly user: string;
  readonly domain: string;
  readonly password: string;
  readonly serverChallenge?: Buffer;
  /** FILETIME sent as MsvAvTimestamp; `null` sends none (no MIC expected). */
  readonly timestamp?: bigint | null;
  /** When set, MsvAvChannelBindings must equal MD5(gss_channel_bindings_struct(this)). */
  readonly channelBindings?: Uint8Array;
  /** When set, MsvAvTargetName must equal it. */
  readonly targetName?: string;
  /** Flags offered in CHALLENGE (defaults to all the client may ask for). */
  readonly flags?: number;
}

export class TestNtlmAcceptor {
  readonly #o: TestAcceptorOptions;
  #negotiate: Buffer | undefined;
  #challenge: Buffer | undefined;
  #flags = 0;
  #security: NtlmSessionSecurity | undefined;
  /** What the last AUTHENTICATE carried (for assertions). */
  avPairs: readonly AvPair[] = [];
  micChecked = false;

  constructor(options: TestAcceptorOptions) {
    this.#o = options;
  }

  challenge(negotiateToken: Uint8Array): Buffer {
    this.#negotiate = Buffer.from(negotiateToken);
    const clientFlags = parseNegotiateMessage(this.#negotiate).flags;
    const offered =
      this.#o.flags ??
      NtlmFlags.NEGOTIATE_UNICODE |
        NtlmFlags.NEGOTIATE_SIGN |
        NtlmFlags.NEGOTIATE_SEAL |
        NtlmFlags.NEGOTIATE_NTLM |
        NtlmFlags.NEGOTIATE_ALWAYS_SIGN |
        NtlmFlags.TARGET_TYPE_SERVER |
        NtlmFlags.NEGOTIATE_EXTENDED_SESSIONSECURITY |
        NtlmFlags.NEGOTIATE_TARGET_INFO |
        NtlmFlags.NEGOTIATE_VERSION |
        NtlmFlags.NEGOTIATE_128 |
        NtlmFlags.NEGOTIATE_KEY_EXCH |
        NtlmFlags.NEGOTIATE_56;
    this.#flags =
      (offered & (clientFlags | NtlmFlags.TARGET_TYPE_SERVER | NtlmFlags.NEGOTIATE_TARGET_INFO)) >>> 0;
    const pairs: AvPair[] = [
      { id: AvId.NbDomainName, value: Buffer.from('DOMAIN', 'utf16le') },
      { id: AvId.NbComputerName, value: Buffer.from('SERVER', 'utf16le') },
      { id: AvId.DnsComputerName, value: Buffer.from('server.domain.test', 'utf16le') },
    ];
    const ts = this.#o.timestamp === undefined ? fileTime(Date.now()) : this.#o.timestamp;
    if (ts !== null) {
      const v = Buffer.alloc(8);
      v.writeBigUInt64LE(ts);
      pairs.push({ id: AvId.Timestamp, value: v });
    }
    this.#challenge = buildChallengeMessage({
      flags: this.#flags,
      serverChallenge: this.#o.serverChallenge ?? Buffer.from('0123456789abcdef', 'hex'),
      targetName: 'DOMAIN',
      avPairs: pairs,
    });
    return this.#challenge;
  }

  /** Verifies the AUTHENTICATE; throws an Error saying what is wrong. */
  accept(authenticateToken: Uint8Array): void {
    if (!this.#negotiate || !this.#challenge) throw new Error('accept() before challenge()');
    const message = Buffer.from(authenticateToken);
    const auth = parseAuthenticateMessage(message);
    if (auth.user.toUpperCase() !== this.#o.user.toUpperCase() || auth.domain !== this.#o.domain) {
      throw new Error(`unknown user ${auth.domain}\\${auth.user}`);
    }
    const nt = auth.ntChallengeResponse;
    if (nt.length < 16 + 28 + 4) throw new Error('NtChallengeResponse too short for NTLMv2');
    const ntProofStr = nt.subarray(0, 16);
    const temp = nt.subarray(16);
    const key = ntowfv2(this.#o.password, this.#o.user, this.#o.domain);
    const serverChallenge = this.#o.serverChallenge ?? Buffer.from('0123456789abcdef', 'hex');
    if (!timingSafeEqual(hmacMd5(key, serverChallenge, temp), ntProofStr))
      throw new Error('NTProofStr does not verify');
    const sessionBaseKey = hmacMd5(key, ntProofStr);
    const exported =
      auth.flags & NtlmFlags.NEGOTIATE_KEY_EXCH
        ? rc4k(sessionBaseKey, auth.encryptedRandomSessionKey)
        : sessionBaseKey;

    this.avPairs = parseAvPairs(temp.subarray(28, temp.length - 4));
    const avFlags = findAvPair(this.avPairs, AvId.Flags)?.readUInt32LE(0) ?? 0;
    if (this.#o.timestamp !== null) {
      if (!(avFlags & AvFlags.MIC_PRESENT) || !auth.mic) throw new Error('MIC expected');
      const zeroed = Buffer.from(message);
      zeroed.fill(0, AUTHENTICATE_MIC_OFFSET, AUTHENTICATE_MIC_OFFSET + 16);
      const mic = hmacMd5(exported, this.#negotiate, this.#challenge, zeroed);
      if (!timingSafeEqual(mic, auth.mic)) throw new Error('MIC does not verify');
      this.micChecked = true;
    }
    if (this.#o.channelBindings) {
      const cb = findAvPair(this.avPairs, AvId.ChannelBindings);
      if (!cb || !cb.equals(channelBindingsHash(this.#o.channelBindings)))
        throw new Error('channel bindings mismatch');
    }
    if (this.#o.targetName !== undefined) {
      const tn = findAvPair(this.avPairs, AvId.TargetName)?.toString('utf16le');
      if (tn !== this.#o.targetName) throw new Error(`target name mismatch: ${tn}`);
    }
    this.#security = new NtlmSessionSecurity(exported, auth.flags, 'server');
  }

  get security(): NtlmSessionSecurity {
    if (!this.#security) throw new Error('not established');
    return this.#security;
  }

  seal(plaintext: Uint8Array): SealedMessage<Buffer> {
    return this.security.seal(plaintext);
  }

  unseal(signature: Uint8Array, sealed: Uint8Array): Buffer {
    return this.security.unseal(signature, sealed);
  }
}
