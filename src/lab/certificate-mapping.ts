// MS-WSMV 2.2.4.3 CertMappingType and 3.1.4.1.29.3 (certmapping): how WinRM maps a client
// certificate presented under the wsman:secprofile/https/mutual profile (DSP0226 C.3.5) to an account.
/**
 * The lab's stand-in for WinRM's client-certificate mapping table. A request authenticates by its
 * client certificate when it arrived over TLS with a certificate that chains to the lab's client CA
 * (the TLS layer verified it: `socket.authorized`), allows client authentication (EKU clientAuth),
 * and names a lab user: by the user principal name in its subjectAltName (its part before `@`, as
 * WinRM's `Subject` pattern matches the UPN), or, without a UPN, by its subject CN. Anything else
 * (no certificate, untrusted, unmapped) is not authenticated: the listener answers 401, as WinRM does.
 */
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';

const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';

/** The lab user a request's verified client certificate maps to, or undefined. */
export function mapClientCertificate(req: IncomingMessage, users: readonly string[]): string | undefined {
  const socket = req.socket as Partial<TLSSocket>;
  if (
    socket.encrypted !== true ||
    socket.authorized !== true ||
    typeof socket.getPeerCertificate !== 'function'
  )
    return undefined;
  const peer = socket.getPeerCertificate();
  if (!peer || Object.keys(peer).length === 0) return undefined;
  if (Array.isArray(peer.ext_key_usage) && !peer.ext_key_usage.includes(CLIENT_AUTH)) return undefined;
  // Node renders the UPN otherName as `othername:UPN:<upn>` (and other names before/after it).
  const upn = /(?:^|,\s*)othername:UPN:([^,]+)/.exec(peer.subjectaltname ?? '')?.[1]?.trim();
  const cn = peer.subject?.CN;
  const at = upn?.lastIndexOf('@') ?? -1;
  const name =
    upn !== undefined ? (at > 0 ? upn.slice(0, at) : upn) : typeof cn === 'string' ? cn : undefined;
  return name !== undefined && users.includes(name) ? name : undefined;
}
