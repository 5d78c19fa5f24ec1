// MS-NLMP 3.3.2 NTLM v2 Authentication (NTOWFv2, ComputeResponse, SessionBaseKey), 3.4.5.1 KXKEY,
// 3.4.5.2 SIGNKEY, 3.4.5.3 SEALKEY, 3.4.4.2 MAC with extended session security, 3.4.3 message
// confidentiality (SEAL), 2.2.2.7 NTLMv2_CLIENT_CHALLENGE, 2.2.2.9.2 NTLMSSP_MESSAGE_SIGNATURE for
// Extended Session Security, 6 cryptographic operations (HMAC_MD5, MD5, RC4K, RC4).
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { InvalidArgumentError, ProtocolError } from '../errors.js';
import type { SealedMessage } from './sealing-context.js';
import { md4 } from './md4.js';
import { NtlmFlags } from './ntlm-messages.js';
import { Rc4 } from './rc4.js';

export function hmacMd5(key: Uint8Array, ...data: Uint8Array[]): Buffer {
  const h = createHmac('md5', key);
  for (const d of data) h.update(d);
  return h.digest();
}

export function md5(...data: Uint8Array[]): Buffer {
  const h = createHash('md5');
  for (const d of data) h.update(d);
  return h.digest();
}

/** MS-NLMP 3.3.1 NTOWFv1: MD4(UNICODE(Passwd)), the "NT hash". */
export function ntowfv1(password: string): Buffer {
  return md4(Buffer.from(password, 'utf16le'));
}

/** MS-NLMP 3.3.2 NTOWFv2 = HMAC_MD5(MD4(UNICODE(Passwd)), UNICODE(ConcatenationOf(Uppercase(User), UserDom))). */
export function ntowfv2(password: string, user: string, domain: string): Buffer {
  return hmacMd5(ntowfv1(password), Buffer.from(user.toUpperCase() + domain, 'utf16le'));
}

/** Windows FILETIME (100 ns ticks since 1601-01-01 UTC) of a JavaScript time in milliseconds. */
export function fileTime(ms: number): bigint {
  return (BigInt(Math.trunc(ms)) + 11_644_473_600_000n) * 10_000n;
}

/** Inputs of MS-NLMP 3.3.2 ComputeResponse for NTLMv2. */
export interface Ntlmv2ResponseInput {
  /** NTOWFv2 (ResponseKeyNT; NTLMv2 uses the same key as ResponseKeyLM). */
  readonly responseKeyNT: Buffer;
  readonly serverChallenge: Buffer;
  readonly clientChallenge: Buffer;
  /** FILETIME for the NTLMv2_CLIENT_CHALLENGE TimeStamp. */
  readonly time: bigint;
  /** The AV_PAIR list (with its MsvAvEOL) that goes into the client challenge ("ServerName"). */
  readonly serverName: Buffer;
}

export interface Ntlmv2Response {
  readonly ntProofStr: Buffer;
  /** NTProofStr || temp (MS-NLMP 2.2.2.8 NTLMv2_RESPONSE). */
  readonly ntChallengeResponse: Buffer;
  /** LMv2 (2.2.2.4): HMAC_MD5(ResponseKeyLM, ServerChallenge || ClientChallenge) || ClientChallenge. */
  readonly lmChallengeResponse: Buffer;
  readonly sessionBaseKey: Buffer;
}

/** MS-NLMP 2.2.2.7 NTLMv2_CLIENT_CHALLENGE as 3.3.2 builds it ("temp"). */
export function ntlmv2ClientChallenge(time: bigint, clientChallenge: Buffer, serverName: Buffer): Buffer {
  const head = Buffer.alloc(28);
  head[0] = 1; // RespType
  head[1] = 1; // HiRespType
  head.writeBigUInt64LE(time, 8);
  clientChallenge.copy(head, 16, 0, 8);
  return Buffer.concat([head, serverName, Buffer.alloc(4)]);
}

/** MS-NLMP 3.3.2 ComputeResponse (NTLMv2). */
export function computeNtlmv2Response(input: Ntlmv2ResponseInput): Ntlmv2Response {
  if (input.serverChallenge.length !== 8 || input.clientChallenge.length !== 8) {
    throw new InvalidArgumentError('NTLM server and client challenges are 8 bytes each');
  }
  const temp = ntlmv2ClientChallenge(input.time, input.clientChallenge, input.serverName);
  const ntProofStr = hmacMd5(input.responseKeyNT, input.serverChallenge, temp);
  return {
    ntProofStr,
    ntChallengeResponse: Buffer.concat([ntProofStr, temp]),
    lmChallengeResponse: Buffer.concat([
      hmacMd5(input.responseKeyNT, input.serverChallenge, input.clientChallenge),
      input.clientChallenge,
    ]),
    sessionBaseKey: hmacMd5(input.responseKeyNT, ntProofStr),
  };
}

/** MS-NLMP 3.4.5.2 / 3.4.5.3 magic constants; the spec's strings include their terminating NUL. */
const MAGIC = {
  clientSign: 'session key to client-to-server signing key magic constant\0',
  serverSign: 'session key to server-to-client signing key magic constant\0',
  clientSeal: 'session key to client-to-server sealing key magic constant\0',
  serverSeal: 'session key to server-to-client sealing key magic constant\0',
} as const;

/** MS-NLMP 3.4.5.2 SIGNKEY (extended session security). */
export function signKey(exportedSessionKey: Buffer, mode: 'client' | 'server'): Buffer {
  return md5(
    exportedSessionKey,
    Buffer.from(mode === 'client' ? MAGIC.clientSign : MAGIC.serverSign, 'latin1'),
  );
}

/** MS-NLMP 3.4.5.3 SEALKEY (extended session security): 128, 56 or 40 bits of the key, then MD5 with the magic. */
export function sealKey(exportedSessionKey: Buffer, flags: number, mode: 'client' | 'server'): Buffer {
  const bytes = flags & NtlmFlags.NEGOTIATE_128 ? 16 : flags & NtlmFlags.NEGOTIATE_56 ? 7 : 5;
  return md5(
    exportedSessionKey.subarray(0, bytes),
    Buffer.from(mode === 'client' ? MAGIC.clientSeal : MAGIC.serverSeal, 'latin1'),
  );
}

/** The 16-byte NTLMSSP_MESSAGE_SIGNATURE for Extended Session Security (MS-NLMP 2.2.2.9.2). */
export const SIGNATURE_LENGTH = 16;

/**
 * MS-NLMP 3.4.4.2 MAC with extended session security: Version 1, the first 8 bytes of
 * HMAC_MD5(SigningKey, SeqNum || Message), RC4-encrypted with the sealing handle when key exchange
 * was negotiated, then SeqNum.
 */
function mac(handle: Rc4, signingKey: Buffer, seqNum: number, message: Uint8Array, keyExch: boolean): Buffer {
  const seq = Buffer.alloc(4);
  seq.writeUInt32LE(seqNum >>> 0, 0);
  let checksum = hmacMd5(signingKey, seq, message).subarray(0, 8);
  if (keyExch) checksum = handle.update(checksum);
  const signature = Buffer.alloc(SIGNATURE_LENGTH);
  signature.writeUInt32LE(1, 0);
  checksum.copy(signature, 4);
  seq.copy(signature, 12);
  return signature;
}


/** Options of `NtlmSessionSecurity.sign`/`verify`. */
export interface KeyStateOptions {
  /** Restore the RC4 handle after signing/verifying (MS-SPNG 3.3.5.1, the SPNEGO mechListMIC). */
  readonly restoreKeyState?: boolean;
}

/**
 * NTLM session security after authentication (MS-NLMP 3.4): signing and sealing with extended
 * session security, one RC4 handle and sequence number per direction. `mode` is the side this
 * object is on: a client seals with the client-to-server keys and unseals with the server-to-client
 * keys, an acceptor the other way round.
 */
export class NtlmSessionSecurity {
  readonly #sendSignKey: Buffer;
  readonly #recvSignKey: Buffer;
  #sendHandle: Rc4;
  #recvHandle: Rc4;
  readonly #keyExch: boolean;
  #sendSeq = 0;
  #recvSeq = 0;

  constructor(exportedSessionKey: Buffer, flags: number, mode: 'client' | 'server') {
    if (!(flags & NtlmFlags.NEGOTIATE_EXTENDED_SESSIONSECURITY)) {
      throw new InvalidArgumentError(
        'NTLM session security needs extended session security (NTLMv1 signing is not implemented)',
      );
    }
    const peer = mode === 'client' ? 'server' : 'client';
    this.#sendSignKey = signKey(exportedSessionKey, mode);
    this.#recvSignKey = signKey(exportedSessionKey, peer);
    this.#sendHandle = new Rc4(sealKey(exportedSessionKey, flags, mode));
    this.#recvHandle = new Rc4(sealKey(exportedSessionKey, flags, peer));
    this.#keyExch = (flags & NtlmFlags.NEGOTIATE_KEY_EXCH) !== 0;
  }

  /** The sequence number the next sealed or signed outgoing message will carry. */
  get sendSequence(): number {
    return this.#sendSeq;
  }

  /** MS-NLMP 3.4.3 SEAL / 3.4.6 GSS_WrapEx: encrypt, then sign the plaintext. */
  seal(plaintext: Uint8Array): SealedMessage<Buffer> {
    const data = this.#sendHandle.update(plaintext);
    const header = mac(this.#sendHandle, this.#sendSignKey, this.#sendSeq, plaintext, this.#keyExch);
    this.#sendSeq = (this.#sendSeq + 1) >>> 0;
    // The header is the 16-byte Message Signature (MS-NLMP 2.2.2.9.1), the data as long as the plaintext.
    return { header, data };
  }

  /**
   * MS-NLMP 3.4.7 GSS_UnwrapEx: decrypt, then check the signature against the plaintext and the
   * expected sequence number. A mismatch throws `ProtocolError` `PSRP_NTLM_SIGNATURE_INVALID`; the
   * receive state has then advanced and the context should be dropped (RC4 cannot rewind).
   */
  unseal(signature: Uint8Array, sealed: Uint8Array): Buffer {
    if (signature.length !== SIGNATURE_LENGTH)
      throw badSignature(`a signature is 16 bytes, got ${signature.length}`);
    const plaintext = this.#recvHandle.update(sealed);
    this.#verify(plaintext, signature);
    return plaintext;
  }

  /**
   * MS-NLMP 3.4.8 GSS_GetMICEx: sign without encrypting; the sequence number advances. With
   * `restoreKeyState` the RC4 handle is put back as it was before (MS-SPNG 3.3.5.1: the SPNEGO
   * mechListMIC and the first message the application signs use the same RC4 key state).
   */
  sign(message: Uint8Array, options: KeyStateOptions = {}): Buffer {
    const saved = options.restoreKeyState ? this.#sendHandle.clone() : undefined;
    const signature = mac(this.#sendHandle, this.#sendSignKey, this.#sendSeq, message, this.#keyExch);
    this.#sendSeq = (this.#sendSeq + 1) >>> 0;
    if (saved) this.#sendHandle = saved;
    return signature;
  }

  /**
   * MS-NLMP 3.4.9 GSS_VerifyMICEx: check a signature made with `sign` (the expected sequence number
   * advances). `restoreKeyState` as for `sign`, on the receiving handle.
   */
  verify(message: Uint8Array, signature: Uint8Array, options: KeyStateOptions = {}): void {
    if (signature.length !== SIGNATURE_LENGTH)
      throw badSignature(`a signature is 16 bytes, got ${signature.length}`);
    const saved = options.restoreKeyState ? this.#recvHandle.clone() : undefined;
    try {
      this.#verify(message, signature);
    } finally {
      if (saved) this.#recvHandle = saved;
    }
  }

  #verify(message: Uint8Array, signature: Uint8Array): void {
    const expected = mac(this.#recvHandle, this.#recvSignKey, this.#recvSeq, message, this.#keyExch);
    this.#recvSeq = (this.#recvSeq + 1) >>> 0;
    if (!timingSafeEqual(expected, signature)) {
      throw badSignature(
        'the message signature does not match (tampered, reordered or from another session)',
      );
    }
  }
}

function badSignature(message: string): ProtocolError {
  return new ProtocolError(`NTLM: ${message}`, {
    code: 'PSRP_NTLM_SIGNATURE_INVALID',
    element: 'NTLMSSP_MESSAGE_SIGNATURE',
  });
}
