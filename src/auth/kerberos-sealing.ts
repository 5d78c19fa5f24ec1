// RFC 4121 2 (the context key: the acceptor subkey when the acceptor sent one, else the initiator
// subkey), 4.1.1/4.2.6 (initial sequence numbers from the Authenticator and EncAPRepPart),
// 4.2.2 (Flags: SentByAcceptor, Sealed, AcceptorSubkey), 4.2.4 (sealed Wrap tokens:
// E(confounder | plaintext | filler | header), RRC 0 in the encrypted copy), 4.2.5 (RRC rotation),
// 4.2.6.2 (the Wrap token header), 2 (key usages 22 KG-USAGE-ACCEPTOR-SEAL, 24
// KG-USAGE-INITIATOR-SEAL); RFC 4120 7.5.1 (key usage 11 Authenticator, 12 EncAPRepPart);
// MS-WSMV 2.2.9.1.1.2.2 / MS-KILE 3.4.5.4.1 (Windows' header/data split, EC 0, RRC 28).
/**
 * Kerberos message sealing for WinRM over plain http without a native wrap(), sans-IO: the GSS
 * context's keys are recovered from what the client already has — the ticket session key (from the
 * credential cache), our own AP-REQ (the first token) and the server's AP-REP (the mutual-auth
 * token) — and RFC 4121 CFX Wrap tokens are made and checked here, in Windows' IOV layout.
 *
 *   client → server: header (60) = 05 04 | flags 06 (or 02) | FF | EC 0 | RRC 28 | SND_SEQ (8)
 *                                  | last 16 bytes of E(...) | HMAC (12) | first 16 bytes of E(...)
 *                    data (n)    = the rest of E(...): E = AES-CTS(Ke24, confounder | plaintext | header with RRC 0)
 *   server → client: the same with usage 22 and flag SentByAcceptor (0x01).
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { ProtocolError } from '../errors.js';
import {
  AES_SHA1_HMAC_LENGTH,
  aesCtsDecrypt,
  aesCtsEncrypt,
  aesKeyLength,
  decrypt,
  hmacSha1_96,
  usageKeys,
  type Krb5Key,
  type UsageKeys,
} from './krb5-crypto.js';
import { krb5ContextToken, Krb5TokenId, negTokenRespHasMechListMic } from './krb5-gss-token.js';
import {
  decodeApRep,
  decodeApReq,
  decodeAuthenticator,
  decodeEncApRepPart,
  decodeKrbError,
} from './krb5-messages.js';
import { parseWrapTokenHeader, toWindowsWrapLayout, WrapFlags } from './kerberos-wrap.js';
import type { SealingContext } from './sealing-context.js';

/** RFC 4121 2 / RFC 4120 7.5.1 key usages. */
export const KeyUsage = {
  AP_REQ_AUTHENTICATOR: 11,
  AP_REP_ENCPART: 12,
  ACCEPTOR_SEAL: 22,
  INITIATOR_SEAL: 24,
} as const;

export const SPNEGO_SESSION_ENCRYPTED = 'application/HTTP-SPNEGO-session-encrypted';
export const KERBEROS_SESSION_ENCRYPTED = 'application/HTTP-Kerberos-session-encrypted';

export interface KerberosSealerOptions {
  /**
   * The session key of the service ticket the AP-REQ carries (the ccache entry for the SPN). Several
   * candidates may be given (e.g. every unexpired entry for the SPN, newest first): the one that
   * decrypts the Authenticator is used.
   */
  readonly sessionKey: Krb5Key | readonly Krb5Key[];
  /** Our first context token (`step('')`), base64 or bytes: SPNEGO NegTokenInit or krb5 AP-REQ. */
  readonly initiatorToken: Uint8Array | string;
  /**
   * The server's final token (from `WWW-Authenticate`), base64 or bytes: SPNEGO NegTokenResp or
   * krb5 AP-REP. Without it (no mutual authentication) the initiator subkey and sequence number are
   * used both ways (RFC 4121 4.1).
   */
  readonly acceptorToken?: Uint8Array | string;
  /**
   * What our last `step(acceptorToken)` returned, if anything (base64 or bytes). Under SPNEGO it may
   * be a NegTokenResp with our mechListMIC (when the server picked a mechanism other than our first
   * choice): that krb5 MIC token used our first sequence number, so sealing starts at the next one.
   */
  readonly initiatorFinalToken?: Uint8Array | string;
  /** `Negotiate` → SPNEGO protocol string, `Kerberos` → Kerberos protocol string (MS-WSMV 2.2.9.1.1). */
  readonly scheme: 'Negotiate' | 'Kerberos';
}

const invalid = (message: string): ProtocolError =>
  new ProtocolError(`Kerberos sealing: ${message}`, { code: 'PSRP_KERBEROS_MESSAGE_INVALID' });

const unsealFailed = (message: string): ProtocolError =>
  new ProtocolError(`Kerberos message from the server does not unseal: ${message}`, {
    code: 'PSRP_KERBEROS_UNSEAL_FAILED',
  });

const CONFOUNDER = 16;
const HEADER = 16;
const EC = 0;
const U64 = (1n << 64n) - 1n;

function rotateLeft(bytes: Uint8Array, n: number): Uint8Array {
  const len = bytes.length;
  if (len === 0) return bytes;
  const k = n % len;
  const out = new Uint8Array(len);
  out.set(bytes.subarray(k), 0);
  out.set(bytes.subarray(0, k), len - k);
  return out;
}

function wrapHeader(flags: number, rrc: number, seq: bigint): Uint8Array {
  const h = new Uint8Array(HEADER);
  const v = new DataView(h.buffer);
  h[0] = 0x05;
  h[1] = 0x04;
  h[2] = flags;
  h[3] = 0xff;
  v.setUint16(4, EC);
  v.setUint16(6, rrc);
  v.setBigUint64(8, seq);
  return h;
}

/**
 * A sealing context for one authenticated connection: `seal` / `unseal` in Windows' layout (the
 * `MessageSealer` / `SealingContext` shape). Keys live in private fields only.
 */
export class KerberosSealingContext implements SealingContext {
  readonly protocol: string;
  /** The context key's enctype (17 or 18). */
  readonly enctype: number;
  /** True when the server sent a subkey (flag AcceptorSubkey in every token). */
  readonly acceptorSubkey: boolean;
  readonly #send: UsageKeys;
  readonly #receive: UsageKeys;
  #sendSeq: bigint;
  #receiveSeq: bigint;

  constructor(options: KerberosSealerOptions) {
    this.protocol = options.scheme === 'Kerberos' ? KERBEROS_SESSION_ENCRYPTED : SPNEGO_SESSION_ENCRYPTED;
    const candidates = Array.isArray(options.sessionKey)
      ? (options.sessionKey as readonly Krb5Key[])
      : [options.sessionKey as Krb5Key];
    if (candidates.length === 0) throw invalid('no ticket session key given');

    const init = krb5ContextToken(options.initiatorToken);
    if (init.tokId !== Krb5TokenId.AP_REQ) throw invalid('the initiator token is not a krb5 AP-REQ');
    const apReq = decodeApReq(init.message);
    aesKeyLength(apReq.authenticator.etype); // PSRP_KERBEROS_UNSUPPORTED for RC4 and others
    let sessionKey: Krb5Key | undefined;
    let plain: Uint8Array | undefined;
    for (const k of candidates) {
      if (k.enctype !== apReq.authenticator.etype) continue;
      try {
        plain = decrypt(k, KeyUsage.AP_REQ_AUTHENTICATOR, apReq.authenticator.cipher);
        sessionKey = k;
        break;
      } catch {
        // another candidate
      }
    }
    if (!sessionKey || !plain)
      throw invalid(
        `none of the ${candidates.length} ticket session key(s) decrypts the AP-REQ's Authenticator (enctype ${apReq.authenticator.etype}): the credential cache holds another ticket than the one sent`,
      );
    const authenticator = decodeAuthenticator(plain);
    const initiatorKey = authenticator.subkey ?? sessionKey;
    let contextKey = initiatorKey;
    let acceptorSubkey = false;
    let initiatorSeq = BigInt(authenticator.seqNumber ?? 0);
    let acceptorSeq = initiatorSeq;
    if (options.initiatorFinalToken !== undefined && negTokenRespHasMechListMic(options.initiatorFinalToken))
      initiatorSeq += 1n;
    if (options.acceptorToken !== undefined) {
      const rep = krb5ContextToken(options.acceptorToken);
      if (rep.tokId === Krb5TokenId.KRB_ERROR) {
        const e = decodeKrbError(rep.message);
        throw invalid(`the server answered KRB-ERROR ${e.errorCode}${e.eText ? ` (${e.eText})` : ''}`);
      }
      if (rep.tokId !== Krb5TokenId.AP_REP) throw invalid('the acceptor token is not a krb5 AP-REP');
      const apRep = decodeApRep(rep.message);
      if (apRep.encPart.etype !== sessionKey.enctype)
        throw invalid(
          `the AP-REP is encrypted with enctype ${apRep.encPart.etype}, the ticket has ${sessionKey.enctype}`,
        );
      const part = decodeEncApRepPart(decrypt(sessionKey, KeyUsage.AP_REP_ENCPART, apRep.encPart.cipher));
      if (part.ctime !== authenticator.ctime || part.cusec !== authenticator.cusec)
        throw invalid('the AP-REP does not answer our AP-REQ (ctime/cusec differ)');
      if (part.subkey) {
        contextKey = part.subkey;
        acceptorSubkey = true;
      }
      acceptorSeq = BigInt(part.seqNumber ?? 0);
      // A SPNEGO mechListMIC from the acceptor is a krb5 MIC token: it used the acceptor's first
      // sequence number (RFC 4121 4.2.6.1 and 4.2.6.2 share SND_SEQ).
      if (rep.mechListMic) acceptorSeq += 1n;
    }
    aesKeyLength(contextKey.enctype);
    this.enctype = contextKey.enctype;
    this.acceptorSubkey = acceptorSubkey;
    this.#send = usageKeys(contextKey, KeyUsage.INITIATOR_SEAL);
    this.#receive = usageKeys(contextKey, KeyUsage.ACCEPTOR_SEAL);
    this.#sendSeq = initiatorSeq;
    this.#receiveSeq = acceptorSeq;
  }

  /** Seals one message: Windows' 60-byte header and the encrypted data (the plaintext's length). */
  seal(plaintext: Uint8Array): { header: Uint8Array; data: Uint8Array } {
    const flags = WrapFlags.SEALED | (this.acceptorSubkey ? WrapFlags.ACCEPTOR_SUBKEY : 0);
    const seq = this.#sendSeq;
    this.#sendSeq = (this.#sendSeq + 1n) & U64;
    const header0 = wrapHeader(flags, 0, seq);
    const basic = new Uint8Array(CONFOUNDER + plaintext.length + EC + HEADER);
    basic.set(randomBytes(CONFOUNDER), 0);
    basic.set(plaintext, CONFOUNDER);
    basic.set(header0, CONFOUNDER + plaintext.length + EC);
    const c = aesCtsEncrypt(this.#send.ke, basic);
    const token = new Uint8Array(HEADER + c.length + AES_SHA1_HMAC_LENGTH);
    token.set(header0, 0);
    token.set(c, HEADER);
    token.set(hmacSha1_96(this.#send.ki, basic), HEADER + c.length);
    return toWindowsWrapLayout(token, plaintext.length, AES_SHA1_HMAC_LENGTH);
  }

  /**
   * Unseals one message from the server: checks the token header (sealed, sent by the acceptor, the
   * AcceptorSubkey flag as negotiated), the HMAC, the encrypted header copy and the sequence number
   * (each message the next one). Failures throw `ProtocolError` `PSRP_KERBEROS_UNSEAL_FAILED`.
   */
  unseal(header: Uint8Array, data: Uint8Array): Uint8Array {
    const token = new Uint8Array(header.length + data.length);
    token.set(header, 0);
    token.set(data, header.length);
    let h;
    try {
      h = parseWrapTokenHeader(token);
    } catch (e) {
      throw unsealFailed((e as Error).message);
    }
    if (!(h.flags & WrapFlags.SENT_BY_ACCEPTOR))
      throw unsealFailed('flag SentByAcceptor is not set (a reflected message?)');
    if (!(h.flags & WrapFlags.SEALED)) throw unsealFailed('the message is not sealed (no confidentiality)');
    if (Boolean(h.flags & WrapFlags.ACCEPTOR_SUBKEY) !== this.acceptorSubkey)
      throw unsealFailed(
        `flag AcceptorSubkey is ${h.flags & WrapFlags.ACCEPTOR_SUBKEY ? 'set' : 'not set'}, the context says otherwise`,
      );
    const body = rotateLeft(token.subarray(HEADER), h.rrc); // RFC 4121 4.2.5: undo the rotation
    if (body.length < CONFOUNDER + h.ec + HEADER + AES_SHA1_HMAC_LENGTH) throw unsealFailed('too short');
    const c = body.subarray(0, body.length - AES_SHA1_HMAC_LENGTH);
    const mac = body.subarray(body.length - AES_SHA1_HMAC_LENGTH);
    const basic = aesCtsDecrypt(this.#receive.ke, c);
    if (!timingSafeEqual(hmacSha1_96(this.#receive.ki, basic), mac))
      throw unsealFailed('the checksum does not match (altered, or another context)');
    // The encrypted header copy must be the token header with RRC 0 (RFC 4121 4.2.4).
    const copy = basic.subarray(basic.length - HEADER);
    const expected = wrapHeader(h.flags, 0, h.sequenceNumber);
    new DataView(expected.buffer).setUint16(4, h.ec);
    if (!timingSafeEqual(copy, expected))
      throw unsealFailed('the encrypted header copy differs from the header');
    if (h.sequenceNumber !== this.#receiveSeq)
      throw unsealFailed(
        `sequence number ${h.sequenceNumber}, expected ${this.#receiveSeq} (replayed, reordered or lost)`,
      );
    this.#receiveSeq = (this.#receiveSeq + 1n) & U64;
    return basic.slice(CONFOUNDER, basic.length - HEADER - h.ec);
  }
}

/**
 * Builds the sealing context of an established Kerberos (or SPNEGO-negotiated Kerberos) context
 * from the ticket session key, our first token and the server's final token. Throws
 * `AuthenticationError` `PSRP_KERBEROS_UNSUPPORTED` for enctypes other than AES-SHA1 (17, 18), and
 * `ProtocolError` `PSRP_KERBEROS_MESSAGE_INVALID` when the tokens do not parse or no key decrypts them.
 */
export function kerberosSealer(options: KerberosSealerOptions): KerberosSealingContext {
  return new KerberosSealingContext(options);
}
