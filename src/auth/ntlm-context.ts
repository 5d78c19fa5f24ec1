// MS-NLMP 3.1.5.1 client message processing (3.1.5.1.1 NEGOTIATE, 3.1.5.1.2 CHALLENGE →
// AUTHENTICATE: AV pairs, MIC, key exchange), 3.3.2 NTLM v2 Authentication, 3.4.5.1 KXKEY (NTLMv2:
// the SessionBaseKey), 3.4 session security (see ntlm-crypto.ts), 2.2.2.1 AV_PAIR (MsvAvFlags,
// MsvAvTimestamp, MsvAvTargetName, MsvAvChannelBindings).
//
// A sans-IO client security context: tokens in, tokens out. The caller moves the tokens over HTTP
// (see ntlm-authenticator.ts) and uses `seal`/`unseal` for WinRM message encryption afterwards.
import { randomBytes } from 'node:crypto';
import { AuthenticationError, InvalidArgumentError, InvalidStateError } from '../errors.js';
import { channelBindingsHash } from './channel-bindings.js';
import {
  computeNtlmv2Response,
  fileTime,
  hmacMd5,
  ntowfv1,
  NtlmSessionSecurity,
  type KeyStateOptions,
} from './ntlm-crypto.js';
import type { SealedMessage } from './sealing-context.js';
import {
  AUTHENTICATE_MIC_OFFSET,
  AvFlags,
  AvId,
  type AvPair,
  buildAuthenticateMessage,
  buildNegotiateMessage,
  encodeAvPairs,
  findAvPair,
  NtlmFlags,
  parseChallengeMessage,
} from './ntlm-messages.js';
import { rc4k } from './rc4.js';

/** User name and password for NTLM. */
export interface NtlmCredentials {
  /** `DOMAIN\user`, `user@domain.example` (UPN, sent with an empty domain) or a bare `user`. */
  readonly username: string;
  readonly password: string;
  /** Overrides the domain taken from `username`. */
  readonly domain?: string;
}

export interface NtlmClientOptions {
  readonly credentials: NtlmCredentials;
  /** The service principal name sent as MsvAvTargetName, normally `HTTP/<host>` (see `ntlmTargetName`). */
  readonly targetName?: string;
  /**
   * Channel binding application data (RFC 5929 `tls-server-end-point`, see `tlsServerEndPoint`)
   * for https; its MD5-hashed gss_channel_bindings_struct goes into MsvAvChannelBindings. Without
   * it, 16 zero bytes are sent (as Windows clients do over plain http).
   */
  readonly channelBindings?: Uint8Array;
  /** Workstation name sent in AUTHENTICATE (empty by default). */
  readonly workstation?: string;
  /** For tests: the 8-byte client challenge (random by default). */
  readonly clientChallenge?: Uint8Array;
  /** For tests: the FILETIME used when the server sends no MsvAvTimestamp (now by default). */
  readonly timestamp?: bigint;
  /** For tests: the 16-byte exported (random) session key used with key exchange (random by default). */
  readonly exportedSessionKey?: Uint8Array;
}

/**
 * The flags the client asks for in NEGOTIATE (MS-NLMP 3.1.5.1.1, 2.2.2.5). NEGOTIATE_TARGET_INFO
 * is the server's to set (in CHALLENGE); the client echoes it in AUTHENTICATE.
 */
export const CLIENT_FLAGS =
  (NtlmFlags.NEGOTIATE_UNICODE |
    NtlmFlags.REQUEST_TARGET |
    NtlmFlags.NEGOTIATE_SIGN |
    NtlmFlags.NEGOTIATE_SEAL |
    NtlmFlags.NEGOTIATE_NTLM |
    NtlmFlags.NEGOTIATE_ALWAYS_SIGN |
    NtlmFlags.NEGOTIATE_EXTENDED_SESSIONSECURITY |
    NtlmFlags.NEGOTIATE_VERSION |
    NtlmFlags.NEGOTIATE_128 |
    NtlmFlags.NEGOTIATE_KEY_EXCH |
    NtlmFlags.NEGOTIATE_56) >>>
  0;

/** Flags without which this client refuses the server's CHALLENGE. */
const REQUIRED_FLAGS =
  NtlmFlags.NEGOTIATE_UNICODE |
  NtlmFlags.NEGOTIATE_EXTENDED_SESSIONSECURITY |
  NtlmFlags.NEGOTIATE_TARGET_INFO;

/** `HTTP/<host>`: the SPN form WinRM uses for MsvAvTargetName (and Kerberos). */
export function ntlmTargetName(host: string): string {
  return `HTTP/${host.replace(/^\[|\]$/g, '')}`;
}

/** Splits `DOMAIN\user` into its parts; a UPN or bare name keeps an empty domain (MS-NLMP 3.1.5.1.2). */
export function splitUsername(username: string): { user: string; domain: string } {
  const slash = username.indexOf('\\');
  if (slash >= 0) return { domain: username.slice(0, slash), user: username.slice(slash + 1) };
  return { domain: '', user: username };
}

export type NtlmContextState = 'initial' | 'negotiated' | 'established';

/**
 * An NTLMv2 client security context (MS-NLMP 3.1.5.1) with extended session security, key
 * exchange, MIC, channel bindings and target name. Secrets (NT hash, session keys) live in
 * `#private` fields and never show up in `util.inspect` or `JSON.stringify`.
 */
export class NtlmClientContext {
  readonly mechanism = 'ntlm';
  readonly user: string;
  readonly domain: string;
  readonly #ntHash: Buffer;
  readonly #options: NtlmClientOptions;
  #state: NtlmContextState = 'initial';
  #negotiate: Buffer | undefined;
  #flags = 0;
  #security: NtlmSessionSecurity | undefined;

  constructor(options: NtlmClientOptions) {
    const { username, password } = options.credentials;
    if (typeof username !== 'string' || username.length === 0)
      throw new InvalidArgumentError('NTLM needs a user name');
    if (typeof password !== 'string') throw new InvalidArgumentError('NTLM needs a password string');
    if (options.clientChallenge !== undefined && options.clientChallenge.length !== 8) {
      throw new InvalidArgumentError('clientChallenge must be 8 bytes');
    }
    if (options.exportedSessionKey !== undefined && options.exportedSessionKey.length !== 16) {
      throw new InvalidArgumentError('exportedSessionKey must be 16 bytes');
    }
    const split = splitUsername(username);
    this.user = split.user;
    this.domain = options.credentials.domain ?? split.domain;
    this.#ntHash = ntowfv1(password);
    this.#options = options;
  }

  get state(): NtlmContextState {
    return this.#state;
  }

  get established(): boolean {
    return this.#state === 'established';
  }

  /** The flags both sides agreed on (those in AUTHENTICATE); 0 before the CHALLENGE. */
  get negotiatedFlags(): number {
    return this.#flags;
  }

  /** Step 1: the NEGOTIATE_MESSAGE (MS-NLMP 2.2.1.1). */
  negotiate(): Buffer {
    if (this.#state !== 'initial')
      throw new InvalidStateError('send NTLM NEGOTIATE', this.#state, ['initial']);
    this.#negotiate = buildNegotiateMessage(CLIENT_FLAGS);
    this.#state = 'negotiated';
    return this.#negotiate;
  }

  /**
   * Step 2: takes the server's CHALLENGE_MESSAGE and returns the AUTHENTICATE_MESSAGE. A malformed
   * challenge throws `ProtocolError` `PSRP_NTLM_MESSAGE_INVALID`; one without NTLMv2 support
   * (Unicode, extended session security, target info) throws `AuthenticationError`
   * `PSRP_NTLM_NEGOTIATION_FAILED`.
   */
  authenticate(challengeToken: Uint8Array, channelBindings?: Uint8Array): Buffer {
    if (this.#state !== 'negotiated' || !this.#negotiate) {
      throw new InvalidStateError('answer an NTLM CHALLENGE', this.#state, ['negotiated']);
    }
    const challengeBytes = Buffer.from(challengeToken);
    const challenge = parseChallengeMessage(challengeBytes);
    const missing = REQUIRED_FLAGS & ~challenge.flags;
    if (missing) {
      throw new AuthenticationError(
        `The server's NTLM challenge lacks flags 0x${(missing >>> 0).toString(16)} (Unicode, extended session security, target info) that NTLMv2 with message encryption needs`,
        { mechanism: 'ntlm', code: 'PSRP_NTLM_NEGOTIATION_FAILED' },
      );
    }
    const flags = ((CLIENT_FLAGS | NtlmFlags.NEGOTIATE_TARGET_INFO) & challenge.flags) >>> 0;
    const o = this.#options;
    // The binding data may only be known now: the TLS connection opens with the first request.
    const bindings = channelBindings ?? o.channelBindings;

    // 3.1.5.1.2: the server's AV pairs, plus MsvAvFlags (MIC present) when it sent a timestamp,
    // MsvAvChannelBindings and MsvAvTargetName.
    const serverTime = findAvPair(challenge.avPairs, AvId.Timestamp);
    const withMic = serverTime !== undefined && serverTime.length === 8;
    const pairs: AvPair[] = challenge.avPairs.filter(
      (p) => p.id !== AvId.Flags && p.id !== AvId.ChannelBindings && p.id !== AvId.TargetName,
    );
    const serverAvFlags = findAvPair(challenge.avPairs, AvId.Flags);
    const avFlags =
      (serverAvFlags?.length === 4 ? serverAvFlags.readUInt32LE(0) : 0) | (withMic ? AvFlags.MIC_PRESENT : 0);
    if (avFlags !== 0) pairs.push({ id: AvId.Flags, value: u32(avFlags) });
    pairs.push({
      id: AvId.ChannelBindings,
      value: bindings ? channelBindingsHash(bindings) : Buffer.alloc(16),
    });
    if (o.targetName !== undefined)
      pairs.push({ id: AvId.TargetName, value: Buffer.from(o.targetName, 'utf16le') });

    const responseKeyNT = hmacMd5(
      this.#ntHash,
      Buffer.from(this.user.toUpperCase() + this.domain, 'utf16le'),
    );
    const clientChallenge = o.clientChallenge ? Buffer.from(o.clientChallenge) : randomBytes(8);
    const time = withMic ? serverTime.readBigUInt64LE(0) : (o.timestamp ?? fileTime(Date.now()));
    const response = computeNtlmv2Response({
      responseKeyNT,
      serverChallenge: challenge.serverChallenge,
      clientChallenge,
      time,
      serverName: encodeAvPairs(pairs),
    });

    // 3.4.5.1 KXKEY for NTLMv2 is the SessionBaseKey; with NEGOTIATE_KEY_EXCH the exported key is
    // random and travels RC4K-encrypted with it (3.1.5.1.2).
    const keyExchangeKey = response.sessionBaseKey;
    let exportedSessionKey: Buffer = keyExchangeKey;
    let encryptedRandomSessionKey: Buffer = Buffer.alloc(0);
    if (flags & NtlmFlags.NEGOTIATE_KEY_EXCH) {
      exportedSessionKey = o.exportedSessionKey ? Buffer.from(o.exportedSessionKey) : randomBytes(16);
      encryptedRandomSessionKey = rc4k(keyExchangeKey, exportedSessionKey);
    }

    const message = buildAuthenticateMessage({
      flags,
      // 3.1.5.1.2: with MsvAvTimestamp the client sends Z(24) instead of the LMv2 response.
      lmChallengeResponse: withMic ? Buffer.alloc(24) : response.lmChallengeResponse,
      ntChallengeResponse: response.ntChallengeResponse,
      domain: this.domain,
      user: this.user,
      workstation: o.workstation ?? '',
      encryptedRandomSessionKey,
    });
    if (withMic) {
      // MIC = HMAC_MD5(ExportedSessionKey, NEGOTIATE || CHALLENGE || AUTHENTICATE with a zero MIC).
      hmacMd5(exportedSessionKey, this.#negotiate, challengeBytes, message).copy(
        message,
        AUTHENTICATE_MIC_OFFSET,
      );
    }

    this.#flags = flags;
    this.#security = new NtlmSessionSecurity(exportedSessionKey, flags, 'client');
    this.#state = 'established';
    this.#negotiate = undefined;
    return message;
  }

  /** Session security for message encryption (WinRM `multipart/encrypted`), once established. */
  get security(): NtlmSessionSecurity {
    if (!this.#security)
      throw new InvalidStateError('use NTLM session security', this.#state, ['established']);
    return this.#security;
  }

  /** Encrypts and signs one client-to-server message (MS-NLMP 3.4.6 GSS_WrapEx). */
  seal(plaintext: Uint8Array): SealedMessage<Buffer> {
    return this.security.seal(plaintext);
  }

  /** Decrypts one server-to-client message and checks its signature (MS-NLMP 3.4.7 GSS_UnwrapEx). */
  unseal(signature: Uint8Array, sealed: Uint8Array): Buffer {
    return this.security.unseal(signature, sealed);
  }

  /** Signs one client-to-server message without encrypting it (MS-NLMP 3.4.8 GSS_GetMICEx). */
  sign(message: Uint8Array, options?: KeyStateOptions): Buffer {
    return this.security.sign(message, options);
  }

  /**
   * Checks a server-to-client signature (MS-NLMP 3.4.9 GSS_VerifyMICEx); a mismatch throws
   * `ProtocolError` `PSRP_NTLM_SIGNATURE_INVALID`.
   */
  verify(message: Uint8Array, signature: Uint8Array, options?: KeyStateOptions): void {
    this.security.verify(message, signature, options);
  }

  toJSON(): { mechanism: string; user: string; domain: string; state: NtlmContextState } {
    return { mechanism: this.mechanism, user: this.user, domain: this.domain, state: this.#state };
  }
}

function u32(value: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(value >>> 0, 0);
  return b;
}
