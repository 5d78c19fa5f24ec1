// MS-WSMV 3.1.4.1 Get of winrm/config (cfg:Config); 2.2.4.10 MaxEnvelopeSize: a server refuses a
// request larger than its MaxEnvelopeSizekb.
import { ProtocolError } from '../errors.js';
import { child } from '../internal/xml-tree.js';
import type { ParsedResponse } from './response.js';

/** The server's largest accepted envelope, in bytes, from a winrm/config GetResponse (`MaxEnvelopeSizekb` × 1024). */
export function parseMaxEnvelopeSize(r: ParsedResponse): number {
  const text = child(child(r.body, 'Config'), 'MaxEnvelopeSizekb')?.text.trim();
  if (text === undefined || !/^\d+$/.test(text) || Number(text) === 0) {
    throw new ProtocolError('The winrm/config answer has no MaxEnvelopeSizekb', {
      code: 'PSRP_WSMAN_INVALID_ENVELOPE',
    });
  }
  return Number(text) * 1024;
}
