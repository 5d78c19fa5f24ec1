// RFC 2743 3.1 (InitialContextToken: [APPLICATION 0] IMPLICIT SEQUENCE { thisMech OID, innerToken }),
// RFC 4121 4.1 (krb5 context tokens: TOK_ID 01 00 KRB_AP_REQ, 02 00 KRB_AP_REP, 03 00 KRB_ERROR),
// RFC 4178 4.2 (SPNEGO NegotiationToken: negTokenInit [0] with mechToken [2], negTokenResp [1] with
// negState [0], responseToken [2], mechListMIC [3]).
/**
 * Finds the Kerberos message inside a GSS-API context token as `kerberos`/GSSAPI produce and
 * WinRM carries them: a krb5 mechanism token (RFC 2743 framing + TOK_ID), or the same wrapped in
 * SPNEGO (the first NegTokenInit's mechToken, or a NegTokenResp's responseToken, decoded by
 * src/auth/spnego.ts). Sans-IO; malformed input throws `ProtocolError` `PSRP_KERBEROS_MESSAGE_INVALID`.
 */
import { ProtocolError } from '../errors.js';
import { DerReader } from './der-reader.js';
import {
  decodeInitialContextToken,
  decodeNegTokenInit,
  decodeNegTokenResp,
  MechOid,
  NEG_STATES,
} from './spnego.js';

const fail = (message: string): ProtocolError =>
  new ProtocolError(`Kerberos GSS token: ${message}`, { code: 'PSRP_KERBEROS_MESSAGE_INVALID' });

/** DER contents of the OIDs involved. */
const KRB5_OID = Buffer.from('2a864886f712010202', 'hex'); // 1.2.840.113554.1.2.2
const MS_KRB5_OID = Buffer.from('2a864882f712010202', 'hex'); // 1.2.840.48018.1.2.2 (Windows)

/** RFC 4121 4.1 TOK_ID values of context-establishment tokens. */
export const Krb5TokenId = { AP_REQ: 0x0100, AP_REP: 0x0200, KRB_ERROR: 0x0300 } as const;

export interface Krb5ContextToken {
  /** TOK_ID (01 00 AP-REQ, 02 00 AP-REP, 03 00 KRB-ERROR). */
  readonly tokId: number;
  /** The DER Kerberos message (AP-REQ, AP-REP or KRB-ERROR). */
  readonly message: Uint8Array;
  /** True when the token came wrapped in SPNEGO. */
  readonly spnego: boolean;
  /** SPNEGO only: the NegTokenResp carried a mechListMIC (a krb5 MIC token, which used a sequence number). */
  readonly mechListMic: boolean;
  /** SPNEGO NegTokenResp only: negState (0 accept-completed, 1 accept-incomplete, 2 reject, 3 request-mic). */
  readonly negState?: number;
}

const eq = (a: Uint8Array, b: Uint8Array): boolean => Buffer.compare(a, b) === 0;

/** A krb5 mechanism token: RFC 2743 framing with the krb5 OID, TOK_ID, message. */
function krb5Token(bytes: Uint8Array): { tokId: number; message: Uint8Array } {
  const top = new DerReader(bytes, fail);
  const body = top.enter(0x60, 'InitialContextToken');
  top.done('InitialContextToken');
  const oid = body.primitive(0x06, 'thisMech');
  if (!eq(oid, KRB5_OID) && !eq(oid, MS_KRB5_OID)) body.fail('thisMech is not the Kerberos V5 OID');
  const inner = body.rest();
  if (inner.length < 3) throw fail('innerToken is truncated');
  return { tokId: (inner[0]! << 8) | inner[1]!, message: inner.subarray(2) };
}

/** Runs a SPNEGO decoder (src/auth/spnego.ts), its `PSRP_SPNEGO_INVALID` rethrown as this codec's error. */
function spnego<T>(decode: () => T): T {
  try {
    return decode();
  } catch (e) {
    if (e instanceof ProtocolError && e.code === 'PSRP_SPNEGO_INVALID') {
      throw new ProtocolError(`Kerberos GSS token: ${e.message}`, {
        code: 'PSRP_KERBEROS_MESSAGE_INVALID',
        cause: e,
        ...(e.offset === undefined ? {} : { offset: e.offset }),
        ...(e.element === undefined ? {} : { element: e.element }),
      });
    }
    throw e;
  }
}

/**
 * The Kerberos message of a context token: `token` is the krb5 token itself or a SPNEGO token
 * carrying one (base64 as in HTTP headers, or bytes).
 */
export function krb5ContextToken(token: Uint8Array | string): Krb5ContextToken {
  const bytes = typeof token === 'string' ? Buffer.from(token, 'base64') : token;
  if (bytes.length === 0) throw fail('empty token');
  if (bytes[0] === 0x60) {
    // Either krb5 framing or the SPNEGO initial token (the same framing with the SPNEGO OID).
    const { mech } = spnego(() => decodeInitialContextToken(bytes));
    if (mech !== MechOid.SPNEGO) return { ...krb5Token(bytes), spnego: false, mechListMic: false };
    const { mechToken } = spnego(() => decodeNegTokenInit(bytes));
    if (!mechToken) throw fail('the SPNEGO NegTokenInit carries no mechToken (no optimistic Kerberos token)');
    return { ...krb5Token(mechToken), spnego: true, mechListMic: false };
  }
  if (bytes[0] === 0xa1) {
    const resp = spnego(() => decodeNegTokenResp(bytes));
    if (resp.negState === 'reject') throw fail('the SPNEGO acceptor rejected the context (negState reject)');
    if (!resp.responseToken) throw fail('the SPNEGO NegTokenResp carries no responseToken');
    return {
      ...krb5Token(resp.responseToken),
      spnego: true,
      mechListMic: resp.mechListMIC !== undefined,
      ...(resp.negState === undefined ? {} : { negState: NEG_STATES.indexOf(resp.negState) }),
    };
  }
  throw fail(`unknown token (first byte 0x${bytes[0]!.toString(16)})`);
}

/**
 * True when `token` (base64 or bytes) is a SPNEGO NegTokenResp carrying a mechListMIC: what an
 * initiator's last token holds when SPNEGO needed MICs (RFC 4178 5). With Kerberos the MIC is a krb5
 * MIC token, which used that side's next sequence number. An empty token is false.
 */
export function negTokenRespHasMechListMic(token: Uint8Array | string): boolean {
  const bytes = typeof token === 'string' ? Buffer.from(token, 'base64') : token;
  if (bytes.length === 0) return false;
  return spnego(() => decodeNegTokenResp(bytes)).mechListMIC !== undefined;
}
