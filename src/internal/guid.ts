/**
 * GUIDs in .NET `Guid.ToByteArray()` order (MS-PSRP 2.2.1 RPID/PID fields): the first three groups
 * little-endian, the last two as written. String form is lower-case with hyphens.
 */
import { ProtocolError } from '../errors.js';

const GUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const EMPTY_GUID = '00000000-0000-0000-0000-000000000000';

export function isGuid(s: string): boolean {
  return GUID_RE.test(s);
}

/** Writes `guid` into `out` at `offset` in .NET byte order. */
export function writeGuid(guid: string, out: Uint8Array, offset: number): void {
  if (!GUID_RE.test(guid)) throw new ProtocolError(`Not a GUID: ${guid.slice(0, 40)}`, { code: 'PSRP_MESSAGE_INVALID' });
  const h = guid.replace(/-/g, '');
  const order = [3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15];
  for (let i = 0; i < 16; i++) out[offset + i] = parseInt(h.substr(order[i]! * 2, 2), 16);
}

/** Reads a GUID in .NET byte order from `bytes` at `offset`. */
export function readGuid(bytes: Uint8Array, offset: number): string {
  const b = (i: number): string => bytes[offset + i]!.toString(16).padStart(2, '0');
  return (
    b(3) + b(2) + b(1) + b(0) + '-' + b(5) + b(4) + '-' + b(7) + b(6) + '-' + b(8) + b(9) + '-' +
    b(10) + b(11) + b(12) + b(13) + b(14) + b(15)
  );
}
