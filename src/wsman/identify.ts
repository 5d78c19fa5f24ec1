// DMTF DSP0226 (WS-Management) 11 "Metadata and Discovery": wsmid:Identify; MS-WSMV 3.1.4.1.4
// (Windows answers an unauthenticated Identify when the request carries WSMANIDENTIFY: unauthenticated).
/**
 * The WS-Man Identify request and its answer: the cheapest question a WinRM endpoint answers, and
 * the first one `psrp diagnose` asks after HTTP. The request has no addressing headers at all; the
 * answer names the protocol version, the vendor and (authenticated only) the product version.
 */
import { ProtocolError } from '../errors.js';
import { child, descendants } from '../internal/xml-tree.js';
import { NS } from './namespaces.js';
import { parseResponse } from './response.js';

/** The HTTP header that asks Windows to answer Identify without authentication. */
export const IDENTIFY_UNAUTHENTICATED_HEADER = { name: 'WSMANIDENTIFY', value: 'unauthenticated' } as const;

/** What an endpoint says about itself. */
export interface IdentifyResult {
  /** e.g. `http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd`. */
  readonly protocolVersion: string;
  /** e.g. `Microsoft Corporation`. */
  readonly productVendor: string;
  /** e.g. `OS: 10.0.17763 SP: 0.0 Stack: 3.0`; absent from unauthenticated answers. */
  readonly productVersion: string | undefined;
  /** Security profiles offered (Windows: http/https spnego/basic/digest...). */
  readonly securityProfiles: readonly string[];
}

/** The Identify envelope (no WS-Addressing headers: DSP0226 11.3). */
export function identifyEnvelope(): string {
  return `<s:Envelope xmlns:s="${NS.s}" xmlns:wsmid="${NS.wsmid}"><s:Header/><s:Body><wsmid:Identify/></s:Body></s:Envelope>`;
}

/** Parses an IdentifyResponse; a fault throws WSManFaultError, anything else ProtocolError. */
export function parseIdentifyResponse(xml: string): IdentifyResult {
  const r = parseResponse(xml);
  const response = child(r.body, 'IdentifyResponse');
  if (!response)
    throw new ProtocolError('The answer to Identify has no IdentifyResponse', {
      code: 'PSRP_WSMAN_INVALID_ENVELOPE',
    });
  const text = (name: string): string | undefined => child(response, name)?.text.trim();
  const protocolVersion = text('ProtocolVersion');
  if (!protocolVersion)
    throw new ProtocolError('IdentifyResponse without a ProtocolVersion', {
      code: 'PSRP_WSMAN_INVALID_ENVELOPE',
    });
  return {
    protocolVersion,
    productVendor: text('ProductVendor') ?? '',
    productVersion: text('ProductVersion') || undefined,
    securityProfiles: descendants(response, 'SecurityProfileName').map((e) => e.text.trim()),
  };
}
