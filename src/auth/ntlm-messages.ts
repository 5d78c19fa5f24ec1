// MS-NLMP 2.2.1.1 NEGOTIATE_MESSAGE, 2.2.1.2 CHALLENGE_MESSAGE, 2.2.1.3 AUTHENTICATE_MESSAGE,
// 2.2.2.1 AV_PAIR, 2.2.2.5 NEGOTIATE flags, 2.2.2.10 VERSION; 2.2 (all fields little-endian,
// payload fields located by Len/MaxLen/BufferOffset triples).
//
// Parsing is bounds-checked everywhere: a truncated or garbage message throws a `ProtocolError`
// with code `PSRP_NTLM_MESSAGE_INVALID` (and the offending `offset`/`element`), never a RangeError.
import { ProtocolError } from '../errors.js';

/** MS-NLMP 2.2.2.5 NEGOTIATE flags (the names drop the `NTLMSSP_` prefix). */
export const NtlmFlags = {
  NEGOTIATE_UNICODE: 0x00000001,
  NEGOTIATE_OEM: 0x00000002,
  REQUEST_TARGET: 0x00000004,
  NEGOTIATE_SIGN: 0x00000010,
  NEGOTIATE_SEAL: 0x00000020,
  NEGOTIATE_DATAGRAM: 0x00000040,
  NEGOTIATE_LM_KEY: 0x00000080,
  NEGOTIATE_NTLM: 0x00000200,
  ANONYMOUS: 0x00000800,
  NEGOTIATE_OEM_DOMAIN_SUPPLIED: 0x00001000,
  NEGOTIATE_OEM_WORKSTATION_SUPPLIED: 0x00002000,
  NEGOTIATE_ALWAYS_SIGN: 0x00008000,
  TARGET_TYPE_DOMAIN: 0x00010000,
  TARGET_TYPE_SERVER: 0x00020000,
  NEGOTIATE_EXTENDED_SESSIONSECURITY: 0x00080000,
  NEGOTIATE_IDENTIFY: 0x00100000,
  REQUEST_NON_NT_SESSION_KEY: 0x00400000,
  NEGOTIATE_TARGET_INFO: 0x00800000,
  NEGOTIATE_VERSION: 0x02000000,
  NEGOTIATE_128: 0x20000000,
  NEGOTIATE_KEY_EXCH: 0x40000000,
  NEGOTIATE_56: 0x80000000,
} as const;

/** MS-NLMP 2.2.2.1 AvId values. */
export const AvId = {
  EOL: 0x0000,
  NbComputerName: 0x0001,
  NbDomainName: 0x0002,
  DnsComputerName: 0x0003,
  DnsDomainName: 0x0004,
  DnsTreeName: 0x0005,
  Flags: 0x0006,
  Timestamp: 0x0007,
  SingleHost: 0x0008,
  TargetName: 0x0009,
  ChannelBindings: 0x000a,
} as const;

/** MS-NLMP 2.2.2.1 MsvAvFlags bits. */
export const AvFlags = {
  ACCOUNT_AUTHENTICATION_CONSTRAINED: 0x1,
  MIC_PRESENT: 0x2,
  SPN_UNTRUSTED: 0x4,
} as const;

/** One AV_PAIR (MS-NLMP 2.2.2.1); `value` is the raw bytes (strings are UTF-16LE). */
export interface AvPair {
  readonly id: number;
  readonly value: Buffer;
}

/** `NTLMSSP\0` (MS-NLMP 2.2.1.1 Signature). */
export const NTLMSSP_SIGNATURE = Buffer.from('NTLMSSP\0', 'latin1');
export const MessageType = { Negotiate: 1, Challenge: 2, Authenticate: 3 } as const;

/** MS-NLMP 2.2.1.3: the MIC sits at offset 72 when the Version field (8 bytes at 64) is present. */
export const AUTHENTICATE_MIC_OFFSET = 72;
const AUTHENTICATE_HEADER_LENGTH = 88;
const CHALLENGE_HEADER_LENGTH = 56;
const NEGOTIATE_HEADER_LENGTH = 40;

/**
 * MS-NLMP 2.2.2.10 VERSION. Only informational (3.1.5.1.1: never used for decisions); we send
 * 10.0 build 0 with NTLMSSP_REVISION_W2K3 (0x0F).
 */
export const DEFAULT_VERSION = Buffer.from([10, 0, 0, 0, 0, 0, 0, 0x0f]);

function invalid(message: string, offset?: number, element?: string): ProtocolError {
  return new ProtocolError(`Invalid NTLM message: ${message}`, {
    code: 'PSRP_NTLM_MESSAGE_INVALID',
    ...(offset === undefined ? {} : { offset }),
    ...(element === undefined ? {} : { element }),
  });
}

/** Reads one Len/MaxLen/BufferOffset field (2.2.1.x `...Fields`) and returns its payload bytes. */
function readPayload(message: Buffer, fieldOffset: number, element: string): Buffer {
  if (fieldOffset + 8 > message.length) throw invalid(`${element} field is truncated`, fieldOffset, element);
  const length = message.readUInt16LE(fieldOffset);
  const offset = message.readUInt32LE(fieldOffset + 4);
  if (length === 0) return Buffer.alloc(0);
  if (offset > message.length || length > message.length - offset) {
    throw invalid(
      `${element} (${length} bytes at ${offset}) lies outside the ${message.length}-byte message`,
      fieldOffset,
      element,
    );
  }
  return Buffer.from(message.subarray(offset, offset + length));
}

function checkHeader(message: Uint8Array, type: number, minLength: number, name: string): Buffer {
  const buf = Buffer.from(message.buffer, message.byteOffset, message.byteLength);
  if (buf.length < 12)
    throw invalid(`${name} is ${buf.length} bytes, shorter than its header`, 0, 'Signature');
  if (!buf.subarray(0, 8).equals(NTLMSSP_SIGNATURE)) throw invalid('no NTLMSSP signature', 0, 'Signature');
  const actual = buf.readUInt32LE(8);
  if (actual !== type)
    throw invalid(`expected a ${name} (type ${type}), got type ${actual}`, 8, 'MessageType');
  if (buf.length < minLength)
    throw invalid(
      `${name} is ${buf.length} bytes, shorter than its ${minLength}-byte header`,
      buf.length,
      name,
    );
  return buf;
}

/** Decodes an AV_PAIR list (MS-NLMP 2.2.2.1), stopping at MsvAvEOL. The EOL is not returned. */
export function parseAvPairs(data: Uint8Array): AvPair[] {
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const pairs: AvPair[] = [];
  let offset = 0;
  while (offset < buf.length) {
    if (offset + 4 > buf.length) throw invalid('AV_PAIR header is truncated', offset, 'AvPair');
    const id = buf.readUInt16LE(offset);
    const length = buf.readUInt16LE(offset + 2);
    if (offset + 4 + length > buf.length)
      throw invalid(`AV_PAIR ${id} value (${length} bytes) is truncated`, offset, 'AvPair');
    if (id === AvId.EOL) return pairs;
    pairs.push({ id, value: Buffer.from(buf.subarray(offset + 4, offset + 4 + length)) });
    offset += 4 + length;
  }
  throw invalid('AV_PAIR list has no MsvAvEOL', offset, 'AvPair');
}

/** Encodes AV_PAIRs followed by MsvAvEOL (MS-NLMP 2.2.2.1). */
export function encodeAvPairs(pairs: readonly AvPair[]): Buffer {
  const parts: Buffer[] = [];
  for (const { id, value } of pairs) {
    if (id === AvId.EOL) continue;
    const header = Buffer.alloc(4);
    header.writeUInt16LE(id, 0);
    header.writeUInt16LE(value.length, 2);
    parts.push(header, value);
  }
  parts.push(Buffer.alloc(4));
  return Buffer.concat(parts);
}

/** The value of the first AV_PAIR with `id`, or undefined. */
export function findAvPair(pairs: readonly AvPair[], id: number): Buffer | undefined {
  return pairs.find((p) => p.id === id)?.value;
}

/** Builds a payload-carrying message: fixed header with Len/MaxLen/BufferOffset fields, then the payload. */
function assemble(header: Buffer, fields: readonly { at: number; data: Buffer }[]): Buffer {
  let offset = header.length;
  for (const { at, data } of fields) {
    if (data.length > 0xffff)
      throw invalid(`a payload field of ${data.length} bytes does not fit in 16 bits`, at);
    header.writeUInt16LE(data.length, at);
    header.writeUInt16LE(data.length, at + 2);
    header.writeUInt32LE(offset, at + 4);
    offset += data.length;
  }
  return Buffer.concat([header, ...fields.map((f) => f.data)]);
}

/** MS-NLMP 2.2.1.1. Domain and workstation are not sent (no OEM_*_SUPPLIED flags). */
export function buildNegotiateMessage(flags: number, version: Buffer = DEFAULT_VERSION): Buffer {
  const header = Buffer.alloc(NEGOTIATE_HEADER_LENGTH);
  NTLMSSP_SIGNATURE.copy(header, 0);
  header.writeUInt32LE(MessageType.Negotiate, 8);
  header.writeUInt32LE(flags >>> 0, 12);
  if (flags & NtlmFlags.NEGOTIATE_VERSION) version.copy(header, 32, 0, 8);
  return assemble(header, [
    { at: 16, data: Buffer.alloc(0) },
    { at: 24, data: Buffer.alloc(0) },
  ]);
}

/** A decoded NEGOTIATE_MESSAGE (MS-NLMP 2.2.1.1). */
export interface NegotiateMessage {
  readonly flags: number;
}

export function parseNegotiateMessage(message: Uint8Array): NegotiateMessage {
  const buf = checkHeader(message, MessageType.Negotiate, 16, 'NEGOTIATE_MESSAGE');
  return { flags: buf.readUInt32LE(12) };
}

/** A decoded CHALLENGE_MESSAGE (MS-NLMP 2.2.1.2). */
export interface ChallengeMessage {
  readonly flags: number;
  /** 8 bytes. */
  readonly serverChallenge: Buffer;
  readonly targetName: string;
  /** The raw TargetInfo bytes (an AV_PAIR list), empty when absent. */
  readonly targetInfo: Buffer;
  readonly avPairs: readonly AvPair[];
  /** 8 bytes when NEGOTIATE_VERSION is set. */
  readonly version: Buffer | undefined;
}

function decodeString(data: Buffer, unicode: boolean, element: string, offset: number): string {
  if (!unicode) return data.toString('latin1');
  if (data.length % 2 !== 0)
    throw invalid(`${element} has an odd number of bytes for UTF-16`, offset, element);
  return data.toString('utf16le');
}

export function parseChallengeMessage(message: Uint8Array): ChallengeMessage {
  // 2.2.1.2: the fixed part up to and including TargetInfoFields is 48 bytes; Version follows.
  const buf = checkHeader(message, MessageType.Challenge, 48, 'CHALLENGE_MESSAGE');
  const flags = buf.readUInt32LE(20);
  const unicode = (flags & NtlmFlags.NEGOTIATE_UNICODE) !== 0;
  const targetName = decodeString(readPayload(buf, 12, 'TargetName'), unicode, 'TargetName', 12);
  const serverChallenge = Buffer.from(buf.subarray(24, 32));
  const targetInfo =
    flags & NtlmFlags.NEGOTIATE_TARGET_INFO ? readPayload(buf, 40, 'TargetInfo') : Buffer.alloc(0);
  const avPairs = targetInfo.length > 0 ? parseAvPairs(targetInfo) : [];
  const version =
    flags & NtlmFlags.NEGOTIATE_VERSION && buf.length >= CHALLENGE_HEADER_LENGTH
      ? Buffer.from(buf.subarray(48, 56))
      : undefined;
  return { flags, serverChallenge, targetName, targetInfo, avPairs, version };
}

/** What the acceptor side (a test double or the lab) puts into a CHALLENGE_MESSAGE. */
export interface ChallengeMessageInit {
  readonly flags: number;
  readonly serverChallenge: Buffer;
  readonly targetName?: string;
  readonly avPairs?: readonly AvPair[];
  readonly version?: Buffer;
}

export function buildChallengeMessage(init: ChallengeMessageInit): Buffer {
  if (init.serverChallenge.length !== 8)
    throw invalid('ServerChallenge must be 8 bytes', 24, 'ServerChallenge');
  const header = Buffer.alloc(CHALLENGE_HEADER_LENGTH);
  NTLMSSP_SIGNATURE.copy(header, 0);
  header.writeUInt32LE(MessageType.Challenge, 8);
  header.writeUInt32LE(init.flags >>> 0, 20);
  init.serverChallenge.copy(header, 24);
  (init.version ?? DEFAULT_VERSION).copy(header, 48, 0, 8);
  const unicode = (init.flags & NtlmFlags.NEGOTIATE_UNICODE) !== 0;
  const name = Buffer.from(init.targetName ?? '', unicode ? 'utf16le' : 'latin1');
  const info = init.avPairs ? encodeAvPairs(init.avPairs) : Buffer.alloc(0);
  return assemble(header, [
    { at: 12, data: name },
    { at: 40, data: info },
  ]);
}

/** The fields of an AUTHENTICATE_MESSAGE (MS-NLMP 2.2.1.3). */
export interface AuthenticateMessageFields {
  readonly flags: number;
  readonly lmChallengeResponse: Buffer;
  readonly ntChallengeResponse: Buffer;
  readonly domain: string;
  readonly user: string;
  readonly workstation: string;
  readonly encryptedRandomSessionKey: Buffer;
  readonly version?: Buffer;
  /** 16 bytes; zeros when absent (the MIC is computed over the message with this field zeroed). */
  readonly mic?: Buffer;
}

/** Builds an AUTHENTICATE_MESSAGE with Version and MIC fields (the MIC is at `AUTHENTICATE_MIC_OFFSET`). */
export function buildAuthenticateMessage(fields: AuthenticateMessageFields): Buffer {
  const header = Buffer.alloc(AUTHENTICATE_HEADER_LENGTH);
  NTLMSSP_SIGNATURE.copy(header, 0);
  header.writeUInt32LE(MessageType.Authenticate, 8);
  header.writeUInt32LE(fields.flags >>> 0, 60);
  (fields.version ?? DEFAULT_VERSION).copy(header, 64, 0, 8);
  if (fields.mic) fields.mic.copy(header, AUTHENTICATE_MIC_OFFSET, 0, 16);
  const encoding = fields.flags & NtlmFlags.NEGOTIATE_UNICODE ? 'utf16le' : 'latin1';
  return assemble(header, [
    { at: 12, data: fields.lmChallengeResponse },
    { at: 20, data: fields.ntChallengeResponse },
    { at: 28, data: Buffer.from(fields.domain, encoding) },
    { at: 36, data: Buffer.from(fields.user, encoding) },
    { at: 44, data: Buffer.from(fields.workstation, encoding) },
    { at: 52, data: fields.encryptedRandomSessionKey },
  ]);
}

/** A decoded AUTHENTICATE_MESSAGE (MS-NLMP 2.2.1.3). */
export interface AuthenticateMessage extends Omit<AuthenticateMessageFields, 'version' | 'mic'> {
  readonly version: Buffer | undefined;
  readonly mic: Buffer | undefined;
}

export function parseAuthenticateMessage(message: Uint8Array): AuthenticateMessage {
  const buf = checkHeader(message, MessageType.Authenticate, 64, 'AUTHENTICATE_MESSAGE');
  const flags = buf.readUInt32LE(60);
  const unicode = (flags & NtlmFlags.NEGOTIATE_UNICODE) !== 0;
  const lmChallengeResponse = readPayload(buf, 12, 'LmChallengeResponse');
  const ntChallengeResponse = readPayload(buf, 20, 'NtChallengeResponse');
  const domain = decodeString(readPayload(buf, 28, 'DomainName'), unicode, 'DomainName', 28);
  const user = decodeString(readPayload(buf, 36, 'UserName'), unicode, 'UserName', 36);
  const workstation = decodeString(readPayload(buf, 44, 'Workstation'), unicode, 'Workstation', 44);
  const encryptedRandomSessionKey = readPayload(buf, 52, 'EncryptedRandomSessionKey');
  // The payload starts after the header; Version and MIC exist only when the first payload offset
  // leaves room for them.
  const firstPayload = Math.min(
    ...[12, 20, 28, 36, 44, 52].map((at) =>
      buf.readUInt16LE(at) === 0 ? buf.length : buf.readUInt32LE(at + 4),
    ),
  );
  const version = firstPayload >= 72 ? Buffer.from(buf.subarray(64, 72)) : undefined;
  const mic = firstPayload >= AUTHENTICATE_HEADER_LENGTH ? Buffer.from(buf.subarray(72, 88)) : undefined;
  return {
    flags,
    lmChallengeResponse,
    ntChallengeResponse,
    domain,
    user,
    workstation,
    encryptedRandomSessionKey,
    version,
    mic,
  };
}
