// MS-PSRP 2.2.5.1.17 Array of Bytes (BA): base64, read as Convert.FromBase64String reads it.
import { decodeBase64 } from '../../internal/base64.js';
import { invalidClixml } from './primitive-text.js';

/** Reads `<BA>` text: base64 (canonical or as .NET tolerates it) to bytes. */
export function parseBytes(text: string, pos: number): Uint8Array {
  const bytes = decodeBase64(text, 'reencode');
  if (bytes === undefined) return invalidClixml('Invalid base64', 'BA', pos);
  return bytes;
}

/** Writes bytes as base64. */
export function formatBytes(v: Uint8Array): string {
  return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64');
}
