// RFC 4120 5.5.1 (KRB_AP_REQ: AP-REQ, Ticket, Authenticator), 5.5.2 (KRB_AP_REP: AP-REP,
// EncAPRepPart), 5.2.9 (EncryptedData, EncryptionKey), 5.2.2 (PrincipalName), 5.9.1 (KRB-ERROR),
// 5.2.4 (UInt32: old implementations send negative sequence numbers), all in DER (X.690).
/**
 * Strict readers for the Kerberos messages a GSS context's keys come from, sans-IO. Malformed input
 * throws `ProtocolError` `PSRP_KERBEROS_MESSAGE_INVALID` naming the element, never a RangeError.
 *
 *   AP-REQ        ::= [APPLICATION 14] SEQUENCE { pvno [0] 5, msg-type [1] 14, ap-options [2] BIT STRING,
 *                                                 ticket [3] Ticket, authenticator [4] EncryptedData }
 *   Ticket        ::= [APPLICATION 1] SEQUENCE { tkt-vno [0] 5, realm [1] Realm, sname [2] PrincipalName,
 *                                                enc-part [3] EncryptedData }
 *   Authenticator ::= [APPLICATION 2] SEQUENCE { authenticator-vno [0] 5, crealm [1], cname [2],
 *                                                cksum [3] OPTIONAL, cusec [4], ctime [5],
 *                                                subkey [6] EncryptionKey OPTIONAL,
 *                                                seq-number [7] UInt32 OPTIONAL,
 *                                                authorization-data [8] OPTIONAL }
 *   AP-REP        ::= [APPLICATION 15] SEQUENCE { pvno [0] 5, msg-type [1] 15, enc-part [2] EncryptedData }
 *   EncAPRepPart  ::= [APPLICATION 27] SEQUENCE { ctime [0], cusec [1], subkey [2] OPTIONAL,
 *                                                 seq-number [3] OPTIONAL }
 *   EncryptedData ::= SEQUENCE { etype [0] Int32, kvno [1] UInt32 OPTIONAL, cipher [2] OCTET STRING }
 *   EncryptionKey ::= SEQUENCE { keytype [0] Int32, keyvalue [1] OCTET STRING }
 */
import { ProtocolError } from '../errors.js';
import { DerReader } from './der-reader.js';
import { krb5Key, type Krb5Key } from './krb5-crypto.js';

const fail = (message: string): ProtocolError =>
  new ProtocolError(`Kerberos message: ${message}`, { code: 'PSRP_KERBEROS_MESSAGE_INVALID' });

const ctx = (n: number): number => 0xa0 | n;
const app = (n: number): number => 0x60 | n;
const SEQUENCE = 0x30;
const OCTET_STRING = 0x04;
const GENERAL_STRING = 0x1b;
const GENERALIZED_TIME = 0x18;
const BIT_STRING = 0x03;

/** RFC 4120 5.2.9 EncryptedData. */
export interface EncryptedData {
  readonly etype: number;
  readonly kvno?: number;
  readonly cipher: Uint8Array;
}

/** RFC 4120 5.2.2 PrincipalName, with the realm it belongs to. */
export interface PrincipalName {
  readonly nameType: number;
  readonly components: readonly string[];
}

export interface ApReq {
  readonly apOptions: Uint8Array;
  readonly ticket: { readonly realm: string; readonly sname: PrincipalName; readonly encPart: EncryptedData };
  readonly authenticator: EncryptedData;
}

export interface Authenticator {
  readonly crealm: string;
  readonly cname: PrincipalName;
  readonly ctime: string;
  readonly cusec: number;
  readonly subkey?: Krb5Key;
  /** The initiator's initial sequence number (RFC 4121 4.2.6: its first SND_SEQ). */
  readonly seqNumber?: number;
}

export interface ApRep {
  readonly encPart: EncryptedData;
}

export interface EncApRepPart {
  readonly ctime: string;
  readonly cusec: number;
  readonly subkey?: Krb5Key;
  /** The acceptor's initial sequence number. */
  readonly seqNumber?: number;
}

function int(r: DerReader, tag: number, what: string): number {
  const e = r.enter(tag, what);
  const n = e.integer(what);
  e.done(what);
  return n;
}

/** UInt32 (RFC 4120 5.2.4); a negative value as old implementations encode it is taken modulo 2^32. */
function uint32(r: DerReader, tag: number, what: string): number {
  const n = int(r, tag, what);
  if (n < -0x80000000 || n > 0xffffffff) r.fail(`${what}: ${n} is not a 32-bit number`);
  return n < 0 ? n + 0x100000000 : n;
}

function text(r: DerReader, tag: number, type: number, what: string): string {
  const e = r.enter(tag, what);
  const v = e.primitive(type, what);
  e.done(what);
  return Buffer.from(v).toString('utf8');
}

function octets(r: DerReader, tag: number, what: string): Uint8Array {
  const e = r.enter(tag, what);
  const v = e.primitive(OCTET_STRING, what);
  e.done(what);
  return v;
}

function principalName(r: DerReader, tag: number, what: string): PrincipalName {
  const s = r.enter(tag, what).enter(SEQUENCE, what);
  const nameType = int(s, ctx(0), `${what} name-type`);
  const list = s.enter(ctx(1), `${what} name-string`).enter(SEQUENCE, `${what} name-string`);
  const components: string[] = [];
  while (!list.atEnd) {
    if (components.length >= 16) list.fail(`${what}: too many name components`);
    components.push(Buffer.from(list.primitive(GENERAL_STRING, `${what} component`)).toString('utf8'));
  }
  s.done(what);
  return { nameType, components };
}

function encryptedData(r: DerReader, tag: number, what: string): EncryptedData {
  const s = r.enter(tag, what).enter(SEQUENCE, what);
  const etype = int(s, ctx(0), `${what} etype`);
  const kvno = s.peekTag() === ctx(1) ? uint32(s, ctx(1), `${what} kvno`) : undefined;
  const cipher = octets(s, ctx(2), `${what} cipher`);
  s.done(what);
  return kvno === undefined ? { etype, cipher } : { etype, kvno, cipher };
}

function encryptionKey(r: DerReader, what: string): Krb5Key {
  const s = r.enter(SEQUENCE, what);
  const enctype = int(s, ctx(0), `${what} keytype`);
  const bytes = octets(s, ctx(1), `${what} keyvalue`);
  s.done(what);
  return krb5Key(enctype, Uint8Array.from(bytes));
}

function time(r: DerReader, tag: number, what: string): string {
  return text(r, tag, GENERALIZED_TIME, what);
}

function version(r: DerReader, tag: number, expected: number, what: string): void {
  const v = int(r, tag, what);
  if (v !== expected) r.fail(`${what} is ${v}, not ${expected}`);
}

function outer(bytes: Uint8Array, tag: number, what: string): DerReader {
  const top = new DerReader(bytes, fail);
  const body = top.enter(tag, what);
  top.done(what);
  return body.enter(SEQUENCE, what);
}

/** RFC 4120 5.5.1 AP-REQ. */
export function decodeApReq(bytes: Uint8Array): ApReq {
  const s = outer(bytes, app(14), 'AP-REQ');
  version(s, ctx(0), 5, 'AP-REQ pvno');
  version(s, ctx(1), 14, 'AP-REQ msg-type');
  const opts = s.enter(ctx(2), 'ap-options');
  const apOptions = opts.primitive(BIT_STRING, 'ap-options');
  opts.done('ap-options');
  const t = s.enter(ctx(3), 'ticket').enter(app(1), 'Ticket').enter(SEQUENCE, 'Ticket');
  version(t, ctx(0), 5, 'tkt-vno');
  const realm = text(t, ctx(1), GENERAL_STRING, 'Ticket realm');
  const sname = principalName(t, ctx(2), 'Ticket sname');
  const encPart = encryptedData(t, ctx(3), 'Ticket enc-part');
  t.done('Ticket');
  const authenticator = encryptedData(s, ctx(4), 'AP-REQ authenticator');
  s.done('AP-REQ');
  return { apOptions, ticket: { realm, sname, encPart }, authenticator };
}

/** RFC 4120 5.5.1 Authenticator (the decrypted `authenticator` of an AP-REQ, key usage 11). */
export function decodeAuthenticator(bytes: Uint8Array): Authenticator {
  const s = outer(bytes, app(2), 'Authenticator');
  version(s, ctx(0), 5, 'authenticator-vno');
  const crealm = text(s, ctx(1), GENERAL_STRING, 'crealm');
  const cname = principalName(s, ctx(2), 'cname');
  if (s.peekTag() === ctx(3)) s.read('cksum'); // RFC 4121 4.1.1 checksum: not needed here
  const cusec = int(s, ctx(4), 'cusec');
  const ctime = time(s, ctx(5), 'ctime');
  const sk = s.optional(ctx(6), 'subkey');
  const subkey = sk ? encryptionKey(sk, 'subkey') : undefined;
  sk?.done('subkey');
  const seqNumber = s.peekTag() === ctx(7) ? uint32(s, ctx(7), 'seq-number') : undefined;
  if (s.peekTag() === ctx(8)) s.read('authorization-data');
  s.done('Authenticator');
  return {
    crealm,
    cname,
    ctime,
    cusec,
    ...(subkey ? { subkey } : {}),
    ...(seqNumber === undefined ? {} : { seqNumber }),
  };
}

/** RFC 4120 5.5.2 AP-REP. */
export function decodeApRep(bytes: Uint8Array): ApRep {
  const s = outer(bytes, app(15), 'AP-REP');
  version(s, ctx(0), 5, 'AP-REP pvno');
  version(s, ctx(1), 15, 'AP-REP msg-type');
  const encPart = encryptedData(s, ctx(2), 'AP-REP enc-part');
  s.done('AP-REP');
  return { encPart };
}

/** RFC 4120 5.5.2 EncAPRepPart (the decrypted `enc-part` of an AP-REP, key usage 12). */
export function decodeEncApRepPart(bytes: Uint8Array): EncApRepPart {
  const s = outer(bytes, app(27), 'EncAPRepPart');
  const ctime = time(s, ctx(0), 'ctime');
  const cusec = int(s, ctx(1), 'cusec');
  const sk = s.optional(ctx(2), 'subkey');
  const subkey = sk ? encryptionKey(sk, 'subkey') : undefined;
  sk?.done('subkey');
  const seqNumber = s.peekTag() === ctx(3) ? uint32(s, ctx(3), 'seq-number') : undefined;
  s.done('EncAPRepPart');
  return { ctime, cusec, ...(subkey ? { subkey } : {}), ...(seqNumber === undefined ? {} : { seqNumber }) };
}

/** RFC 4120 5.2.9 EncryptionKey on its own. */
export function decodeEncryptionKey(bytes: Uint8Array): Krb5Key {
  const r = new DerReader(bytes, fail);
  const k = encryptionKey(r, 'EncryptionKey');
  r.done('EncryptionKey');
  return k;
}

/** RFC 4120 5.9.1 KRB-ERROR: its error-code [6] and e-text [11] when present. */
export function decodeKrbError(bytes: Uint8Array): { readonly errorCode: number; readonly eText?: string } {
  const s = outer(bytes, app(30), 'KRB-ERROR');
  let errorCode: number | undefined;
  let eText: string | undefined;
  while (!s.atEnd) {
    const tag = s.peekTag()!;
    if (tag === ctx(6)) errorCode = int(s, tag, 'error-code');
    else if (tag === ctx(11)) eText = text(s, tag, GENERAL_STRING, 'e-text');
    else s.read('KRB-ERROR field');
  }
  if (errorCode === undefined) return s.fail('KRB-ERROR without error-code');
  return eText === undefined ? { errorCode } : { errorCode, eText };
}
