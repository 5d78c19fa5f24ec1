// MS-PSRP 2.2.1 PowerShell Remoting Protocol Message: Destination (u32 LE), MessageType (u32 LE),
// RPID (GUID), PID (GUID), Data (UTF-8 CLIXML, optionally preceded by a UTF-8 BOM).
import { ProtocolError } from '../errors.js';
import { EMPTY_GUID, readGuid, writeGuid } from '../internal/guid.js';
import { type DestinationValue, type MessageTypeName, messageTypeName } from './message-type.js';

export const MESSAGE_HEADER_SIZE = 40;

export interface PsrpMessage {
  readonly destination: DestinationValue;
  /** Numeric message type (MS-PSRP 2.2.1). */
  readonly messageType: number;
  /** Runspace pool id (lower-case GUID). */
  readonly runspacePoolId: string;
  /** Pipeline id, or the empty GUID for pool-level messages. */
  readonly pipelineId: string;
  /** The CLIXML payload as text (BOM removed). */
  readonly data: string;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

export function encodeMessage(m: PsrpMessage): Uint8Array {
  const body = encoder.encode(m.data);
  const out = new Uint8Array(MESSAGE_HEADER_SIZE + body.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, m.destination, true);
  view.setUint32(4, m.messageType, true);
  writeGuid(m.runspacePoolId, out, 8);
  writeGuid(m.pipelineId || EMPTY_GUID, out, 24);
  out.set(body, MESSAGE_HEADER_SIZE);
  return out;
}

/** Decodes a whole message. Unknown message types are refused with PSRP_MESSAGE_UNKNOWN_TYPE. */
export function decodeMessage(bytes: Uint8Array): PsrpMessage & { readonly typeName: MessageTypeName } {
  if (bytes.length < MESSAGE_HEADER_SIZE) {
    throw new ProtocolError(`PSRP message of ${bytes.length} bytes is shorter than its 40-byte header`, {
      code: 'PSRP_MESSAGE_INVALID',
    });
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const destination = view.getUint32(0, true);
  const messageType = view.getUint32(4, true);
  if (destination !== 1 && destination !== 2) {
    throw new ProtocolError(`Invalid PSRP destination 0x${destination.toString(16)}`, { code: 'PSRP_MESSAGE_INVALID', messageType });
  }
  const typeName = messageTypeName(messageType);
  if (typeName === undefined) {
    throw new ProtocolError(`Unknown PSRP message type 0x${messageType.toString(16).padStart(8, '0')}`, {
      code: 'PSRP_MESSAGE_UNKNOWN_TYPE',
      messageType,
    });
  }
  let start = MESSAGE_HEADER_SIZE;
  if (bytes[start] === 0xef && bytes[start + 1] === 0xbb && bytes[start + 2] === 0xbf) start += 3;
  let data: string;
  try {
    data = decoder.decode(bytes.subarray(start));
  } catch (cause) {
    throw new ProtocolError(`PSRP ${typeName} data is not valid UTF-8`, { code: 'PSRP_MESSAGE_INVALID', messageType, cause });
  }
  return {
    destination: destination,
    messageType,
    typeName,
    runspacePoolId: readGuid(bytes, 8),
    pipelineId: readGuid(bytes, 24),
    data,
  };
}
