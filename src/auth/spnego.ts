// RFC 4178 4.2 (SPNEGO NegotiationToken: 4.2.1 NegTokenInit, 4.2.2 NegTokenResp, 4.1 MechTypeList
// and ContextFlags), RFC 2743 3.1 (the GSS-API InitialContextToken framing: [APPLICATION 0] with
// the mechanism OID, here 1.3.6.1.5.5.2), encoded with ITU-T X.690 DER (8.1.2 identifiers, 8.1.3
// lengths, 8.4 ENUMERATED, 8.6 BIT STRING, 8.7 OCTET STRING, 8.9/8.10 SEQUENCE, 8.14 explicit
// tags, 8.19 OBJECT IDENTIFIER).
//
// A minimal codec for exactly these structures, not a general ASN.1 library. Decoding is strict and
// bounds-checked: any malformed input throws `ProtocolError` `PSRP_SPNEGO_INVALID` with the offset
// and element, never a RangeError. The structure is walked iteratively to its fixed depth (no
// recursion on input), tokens are limited to 64 KiB and mechanism lists to 32 entries.
//
//   NegotiationToken ::= CHOICE { negTokenInit [0] NegTokenInit, negTokenResp [1] NegTokenResp }
//   NegTokenInit ::= SEQUENCE { mechTypes [0] MechTypeList, reqFlags [1] ContextFlags OPTIONAL,
//                               mechToken [2] OCTET STRING OPTIONAL,
//                               mechListMIC [3] OCTET STRING OPTIONAL, ... }
//   NegTokenResp ::= SEQUENCE { negState [0] ENUMERATED { accept-completed (0),
//                               accept-incomplete (1), reject (2), request-mic (3) } OPTIONAL,
//                               supportedMech [1] MechType OPTIONAL,
//                               responseToken [2] OCTET STRING OPTIONAL,
//                               mechListMIC [3] OCTET STRING OPTIONAL, ... }
//   (the module uses EXPLICIT TAGS; the initial NegTokenInit travels inside the RFC 2743 wrapper,
//   every later token is a bare NegotiationToken)
import { ProtocolError } from '../errors.js';
import { DerReader } from './der-reader.js';

/** Mechanism OIDs (dotted) that SPNEGO lists. */
export const MechOid = {
  /** SPNEGO itself (RFC 4178), the `thisMech` of the initial token. */
  SPNEGO: '1.3.6.1.5.5.2',
  /** NTLMSSP, as SPNEGO lists the NTLM mechanism (MS-NLMP, MS-SPNG). */
  NTLMSSP: '1.3.6.1.4.1.311.2.2.10',
  /** Kerberos V5 (RFC 4121 / RFC 1964). */
  KRB5: '1.2.840.113554.1.2.2',
  /** The Kerberos OID as early Windows encoded it (113554 truncated to 16 bits: 48018); Windows still lists it. */
  MS_KRB5: '1.2.840.48018.1.2.2',
} as const;

/** RFC 4178 4.2.1 ContextFlags, in bit order (delegFlag is bit 0). */
export const CONTEXT_FLAGS = ['deleg', 'mutual', 'replay', 'sequence', 'anon', 'conf', 'integ'] as const;
export type ContextFlag = (typeof CONTEXT_FLAGS)[number];

/** RFC 4178 4.2.2 negState values, by their ENUMERATED number. */
export const NEG_STATES = ['accept-completed', 'accept-incomplete', 'reject', 'request-mic'] as const;
export type NegState = (typeof NEG_STATES)[number];

/** RFC 4178 4.2.1 NegTokenInit. */
export interface NegTokenInit {
  /** Mechanism OIDs, most preferred first (at least one). */
  readonly mechTypes: readonly string[];
  readonly reqFlags?: readonly ContextFlag[];
  /** The optimistic token of the first mechanism. */
  readonly mechToken?: Uint8Array;
  readonly mechListMIC?: Uint8Array;
}

/** A decoded NegTokenInit, with the MechTypeList bytes as received (what a mechListMIC covers). */
export interface DecodedNegTokenInit extends NegTokenInit {
  readonly mechTypeList: Buffer;
}

/** RFC 4178 4.2.2 NegTokenResp. */
export interface NegTokenResp {
  readonly negState?: NegState;
  readonly supportedMech?: string;
  readonly responseToken?: Uint8Array;
  readonly mechListMIC?: Uint8Array;
}

/** Largest token accepted (HTTP header tokens are far smaller; Kerberos tickets stay well below). */
export const MAX_SPNEGO_TOKEN_LENGTH = 64 * 1024;
/** Most mechanism OIDs accepted in a MechTypeList. */
export const MAX_MECH_TYPES = 32;
/** Longest OID encoding accepted (contents octets). */
const MAX_OID_LENGTH = 64;

const TAG = {
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  OID: 0x06,
  ENUMERATED: 0x0a,
  SEQUENCE: 0x30,
  /** [APPLICATION 0], constructed: RFC 2743 3.1 InitialContextToken. */
  APPLICATION_0: 0x60,
} as const;

/** [n] constructed, context-specific (X.690 8.1.2: class bits 10, constructed bit 1). */
const context = (n: number): number => 0xa0 | n;

function invalid(message: string, offset: number, element: string): ProtocolError {
  return new ProtocolError(`Invalid SPNEGO token: ${message}`, {
    code: 'PSRP_SPNEGO_INVALID',
    offset,
    element,
  });
}

// ---------------------------------------------------------------------------------------------
// Encoding (X.690 DER)

/** X.690 8.1.3: the definite length, short form below 128, else the minimal long form. */
function encodeLength(length: number): Buffer {
  if (length < 0x80) return Buffer.from([length]);
  const bytes: number[] = [];
  for (let n = length; n > 0; n = Math.floor(n / 256)) bytes.unshift(n & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

function tlv(tag: number, ...content: Uint8Array[]): Buffer {
  const body = Buffer.concat(content);
  return Buffer.concat([Buffer.from([tag]), encodeLength(body.length), body]);
}

/** X.690 8.19: an OBJECT IDENTIFIER from its dotted form (contents octets only). */
export function encodeOidContents(oid: string): Buffer {
  const arcs = oid.split('.').map((a) => (/^(0|[1-9][0-9]*)$/.test(a) ? Number(a) : NaN));
  const [first, second] = arcs;
  if (
    arcs.length < 2 ||
    arcs.some((a) => !Number.isSafeInteger(a)) ||
    first === undefined ||
    second === undefined ||
    first > 2 ||
    (first < 2 && second >= 40)
  ) {
    throw new ProtocolError(`Cannot encode OID "${oid}"`, { code: 'PSRP_SPNEGO_INVALID', element: 'OID' });
  }
  const out: number[] = [];
  for (const arc of [first * 40 + second, ...arcs.slice(2)]) {
    const group: number[] = [arc % 128];
    for (let n = Math.floor(arc / 128); n > 0; n = Math.floor(n / 128)) group.unshift(0x80 | (n % 128));
    out.push(...group);
  }
  return Buffer.from(out);
}

const encodeOid = (oid: string): Buffer => tlv(TAG.OID, encodeOidContents(oid));

/** RFC 4178 4.1 MechTypeList: the DER SEQUENCE OF OID that a mechListMIC is computed over. */
export function encodeMechTypeList(mechTypes: readonly string[]): Buffer {
  if (mechTypes.length === 0 || mechTypes.length > MAX_MECH_TYPES) {
    throw new ProtocolError(`A MechTypeList holds 1 to ${MAX_MECH_TYPES} OIDs`, {
      code: 'PSRP_SPNEGO_INVALID',
      element: 'mechTypes',
    });
  }
  return tlv(TAG.SEQUENCE, ...mechTypes.map(encodeOid));
}

/** X.690 8.6 with 11.2.2 (named bit list: trailing zero bits dropped). */
function encodeContextFlags(flags: readonly ContextFlag[]): Buffer {
  let byte = 0;
  let highest = -1;
  for (const flag of flags) {
    const bit = CONTEXT_FLAGS.indexOf(flag);
    if (bit < 0)
      throw new ProtocolError(`Unknown ContextFlag "${String(flag)}"`, {
        code: 'PSRP_SPNEGO_INVALID',
        element: 'reqFlags',
      });
    byte |= 0x80 >> bit;
    highest = Math.max(highest, bit);
  }
  return highest < 0
    ? tlv(TAG.BIT_STRING, Buffer.from([0]))
    : tlv(TAG.BIT_STRING, Buffer.from([7 - highest, byte]));
}

/** RFC 2743 3.1: `[APPLICATION 0] IMPLICIT SEQUENCE { thisMech MechType, innerContextToken ANY }`. */
export function encodeInitialContextToken(mech: string, innerToken: Uint8Array): Buffer {
  return tlv(TAG.APPLICATION_0, encodeOid(mech), innerToken);
}

/** RFC 4178 4.2.1: the client's first token, a NegTokenInit inside the RFC 2743 wrapper. */
export function encodeNegTokenInit(init: NegTokenInit): Buffer {
  const fields: Buffer[] = [tlv(context(0), encodeMechTypeList(init.mechTypes))];
  if (init.reqFlags !== undefined) fields.push(tlv(context(1), encodeContextFlags(init.reqFlags)));
  if (init.mechToken !== undefined) fields.push(tlv(context(2), tlv(TAG.OCTET_STRING, init.mechToken)));
  if (init.mechListMIC !== undefined) fields.push(tlv(context(3), tlv(TAG.OCTET_STRING, init.mechListMIC)));
  return encodeInitialContextToken(MechOid.SPNEGO, tlv(context(0), tlv(TAG.SEQUENCE, ...fields)));
}

/** RFC 4178 4.2.2: a NegTokenResp (`[1]` of NegotiationToken, without the RFC 2743 wrapper). */
export function encodeNegTokenResp(resp: NegTokenResp): Buffer {
  const fields: Buffer[] = [];
  if (resp.negState !== undefined) {
    const value = NEG_STATES.indexOf(resp.negState);
    if (value < 0)
      throw new ProtocolError(`Unknown negState "${String(resp.negState)}"`, {
        code: 'PSRP_SPNEGO_INVALID',
        element: 'negState',
      });
    fields.push(tlv(context(0), tlv(TAG.ENUMERATED, Buffer.from([value]))));
  }
  if (resp.supportedMech !== undefined) fields.push(tlv(context(1), encodeOid(resp.supportedMech)));
  if (resp.responseToken !== undefined)
    fields.push(tlv(context(2), tlv(TAG.OCTET_STRING, resp.responseToken)));
  if (resp.mechListMIC !== undefined) fields.push(tlv(context(3), tlv(TAG.OCTET_STRING, resp.mechListMIC)));
  return tlv(context(1), tlv(TAG.SEQUENCE, ...fields));
}

// ---------------------------------------------------------------------------------------------
// Decoding

/** One decoded TLV: its tag and where its contents lie in the token. */
interface Tlv {
  readonly tag: number;
  /** Offset of the identifier octet. */
  readonly at: number;
  /** Contents: [start, end). */
  readonly start: number;
  readonly end: number;
}

/**
 * Reads the TLV at `pos`, which must end by `limit`, with the shared strict DER reader (low tag
 * numbers, definite lengths of at most 4 octets); a failure is `PSRP_SPNEGO_INVALID` at `pos`.
 */
function readTlv(token: Buffer, pos: number, limit: number, element: string): Tlv {
  const e = new DerReader(token, (message) => invalid(message, pos, element), pos, limit).read(element);
  const start = e.value.byteOffset - token.byteOffset;
  return { tag: e.tag, at: pos, start, end: start + e.value.length };
}

/** Reads a TLV that must have tag `tag`. */
function expectTlv(token: Buffer, pos: number, limit: number, tag: number, element: string): Tlv {
  const t = readTlv(token, pos, limit, element);
  if (t.tag !== tag)
    throw invalid(`${element}: expected tag 0x${hex(tag)}, got 0x${hex(t.tag)}`, pos, element);
  return t;
}

/** Reads a TLV with tag `tag` that fills [pos, limit) exactly (the inside of an explicit tag). */
function soleTlv(token: Buffer, pos: number, limit: number, tag: number, element: string): Tlv {
  const t = expectTlv(token, pos, limit, tag, element);
  if (t.end !== limit)
    throw invalid(`${element} is followed by ${limit - t.end} stray bytes`, t.end, element);
  return t;
}

const hex = (n: number): string => n.toString(16).padStart(2, '0');

/** X.690 8.19: the dotted form of an OBJECT IDENTIFIER's contents. */
function decodeOid(token: Buffer, t: Tlv, element: string): string {
  const length = t.end - t.start;
  if (length === 0 || length > MAX_OID_LENGTH)
    throw invalid(`${element}: an OID of ${length} bytes`, t.at, element);
  const arcs: number[] = [];
  let value = 0;
  let fresh = true;
  for (let p = t.start; p < t.end; p++) {
    const b = token[p] ?? 0;
    if (fresh && b === 0x80) throw invalid(`${element}: OID arc with a leading 0x80 (not DER)`, p, element);
    if (value > (Number.MAX_SAFE_INTEGER - 127) / 128)
      throw invalid(`${element}: OID arc too large`, p, element);
    value = value * 128 + (b & 0x7f);
    fresh = (b & 0x80) === 0;
    if (fresh) {
      if (arcs.length === 0)
        arcs.push(value < 40 ? 0 : value < 80 ? 1 : 2, value < 80 ? value % 40 : value - 80);
      else arcs.push(value);
      value = 0;
    }
  }
  if (!fresh) throw invalid(`${element}: OID ends inside an arc`, t.end - 1, element);
  return arcs.join('.');
}

function decodeMechTypeList(token: Buffer, t: Tlv): string[] {
  const mechs: string[] = [];
  for (let p = t.start; p < t.end;) {
    if (mechs.length === MAX_MECH_TYPES)
      throw invalid(`more than ${MAX_MECH_TYPES} mechTypes`, p, 'mechTypes');
    const oid = expectTlv(token, p, t.end, TAG.OID, 'mechTypes');
    mechs.push(decodeOid(token, oid, 'mechTypes'));
    p = oid.end;
  }
  if (mechs.length === 0) throw invalid('mechTypes is empty', t.at, 'mechTypes');
  return mechs;
}

function decodeContextFlags(token: Buffer, t: Tlv): ContextFlag[] {
  const length = t.end - t.start;
  const unused = token[t.start] ?? 0;
  if (length === 0 || unused > 7 || (length === 1 && unused !== 0))
    throw invalid('reqFlags is not a valid BIT STRING', t.at, 'reqFlags');
  const first = length > 1 ? (token[t.start + 1] ?? 0) : 0;
  // Bits beyond integFlag (7 and later) are not defined by RFC 4178: ignored.
  return CONTEXT_FLAGS.filter((_, bit) => (first & (0x80 >> bit)) !== 0);
}

function decodeNegState(token: Buffer, t: Tlv): NegState {
  const state = t.end - t.start === 1 ? NEG_STATES[token[t.start] ?? 0xff] : undefined;
  if (state === undefined) throw invalid('negState is not 0 to 3', t.at, 'negState');
  return state;
}

function checkSize(token: Uint8Array): Buffer {
  if (token.length > MAX_SPNEGO_TOKEN_LENGTH)
    throw invalid(`a token of ${token.length} bytes exceeds ${MAX_SPNEGO_TOKEN_LENGTH}`, 0, 'token');
  return Buffer.from(token.buffer, token.byteOffset, token.length);
}

/**
 * Walks the fields of a SEQUENCE of explicitly tagged optional components ([0], [1], ...), in
 * strictly increasing tag order as DER requires. `known` is how many tags the structure defines;
 * higher tags are extension additions (the `...` of RFC 4178) and are skipped once checked as TLVs.
 */
function fields(token: Buffer, seq: Tlv, known: number, element: string): Map<number, Tlv> {
  const found = new Map<number, Tlv>();
  let last = -1;
  for (let p = seq.start; p < seq.end;) {
    const field = readTlv(token, p, seq.end, element);
    const n = field.tag & 0x1f;
    if ((field.tag & 0xe0) !== 0xa0)
      throw invalid(`${element}: expected a context tag, got 0x${hex(field.tag)}`, p, element);
    if (n <= last) throw invalid(`${element}: field [${n}] out of order or repeated`, p, element);
    last = n;
    if (n < known) found.set(n, field);
    p = field.end;
  }
  return found;
}

/**
 * RFC 2743 3.1: splits an InitialContextToken into its mechanism OID and inner token (the rest
 * of the [APPLICATION 0] contents). Throws `PSRP_SPNEGO_INVALID` when it is not one.
 */
export function decodeInitialContextToken(token: Uint8Array): { mech: string; innerToken: Buffer } {
  const buf = checkSize(token);
  const outer = soleTlv(buf, 0, buf.length, TAG.APPLICATION_0, 'InitialContextToken');
  const oid = expectTlv(buf, outer.start, outer.end, TAG.OID, 'thisMech');
  return { mech: decodeOid(buf, oid, 'thisMech'), innerToken: buf.subarray(oid.end, outer.end) };
}

/** RFC 4178 4.2.1: decodes the initiator's first token (RFC 2743 wrapper, SPNEGO OID, NegTokenInit). */
export function decodeNegTokenInit(token: Uint8Array): DecodedNegTokenInit {
  const buf = checkSize(token);
  const outer = soleTlv(buf, 0, buf.length, TAG.APPLICATION_0, 'InitialContextToken');
  const oid = expectTlv(buf, outer.start, outer.end, TAG.OID, 'thisMech');
  const mech = decodeOid(buf, oid, 'thisMech');
  if (mech !== MechOid.SPNEGO) throw invalid(`thisMech is ${mech}, not SPNEGO`, oid.at, 'thisMech');
  const choice = soleTlv(buf, oid.end, outer.end, context(0), 'negTokenInit');
  const seq = soleTlv(buf, choice.start, choice.end, TAG.SEQUENCE, 'NegTokenInit');
  const f = fields(buf, seq, 4, 'NegTokenInit');

  const mechTypesField = f.get(0);
  if (!mechTypesField) throw invalid('NegTokenInit has no mechTypes', seq.at, 'mechTypes');
  const list = soleTlv(buf, mechTypesField.start, mechTypesField.end, TAG.SEQUENCE, 'mechTypes');
  const result: {
    mechTypes: string[];
    mechTypeList: Buffer;
    reqFlags?: ContextFlag[];
    mechToken?: Buffer;
    mechListMIC?: Buffer;
  } = {
    mechTypes: decodeMechTypeList(buf, list),
    mechTypeList: Buffer.from(buf.subarray(list.at, list.end)),
  };
  const flags = f.get(1);
  if (flags)
    result.reqFlags = decodeContextFlags(
      buf,
      soleTlv(buf, flags.start, flags.end, TAG.BIT_STRING, 'reqFlags'),
    );
  const mechToken = f.get(2);
  if (mechToken) result.mechToken = octets(buf, mechToken, 'mechToken');
  const mic = f.get(3);
  if (mic) result.mechListMIC = octets(buf, mic, 'mechListMIC');
  return result;
}

/** RFC 4178 4.2.2: decodes a NegTokenResp (a bare `[1]` NegotiationToken). */
export function decodeNegTokenResp(token: Uint8Array): NegTokenResp {
  const buf = checkSize(token);
  const choice = soleTlv(buf, 0, buf.length, context(1), 'negTokenResp');
  const seq = soleTlv(buf, choice.start, choice.end, TAG.SEQUENCE, 'NegTokenResp');
  const f = fields(buf, seq, 4, 'NegTokenResp');
  const result: {
    negState?: NegState;
    supportedMech?: string;
    responseToken?: Buffer;
    mechListMIC?: Buffer;
  } = {};
  const state = f.get(0);
  if (state)
    result.negState = decodeNegState(buf, soleTlv(buf, state.start, state.end, TAG.ENUMERATED, 'negState'));
  const mech = f.get(1);
  if (mech)
    result.supportedMech = decodeOid(
      buf,
      soleTlv(buf, mech.start, mech.end, TAG.OID, 'supportedMech'),
      'supportedMech',
    );
  const response = f.get(2);
  if (response) result.responseToken = octets(buf, response, 'responseToken');
  const mic = f.get(3);
  if (mic) result.mechListMIC = octets(buf, mic, 'mechListMIC');
  return result;
}

/** The OCTET STRING inside an explicit tag, copied out of the token. */
function octets(token: Buffer, field: Tlv, element: string): Buffer {
  const t = soleTlv(token, field.start, field.end, TAG.OCTET_STRING, element);
  return Buffer.from(token.subarray(t.start, t.end));
}
