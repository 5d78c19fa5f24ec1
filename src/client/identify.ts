// DMTF DSP0226 11 (wsmid:Identify) over MS-WSMV 2.2.9 HTTP(S).
/**
 * `identify()`: asks a WinRM endpoint who it is (WS-Man Identify), with credentials or, without
 * them, unauthenticated (Windows answers that on /wsman when the WSMANIDENTIFY header asks). Opens
 * no shell: the cheapest proof that the endpoint speaks WS-Management.
 */
import { HttpTransport, type HttpTransportOptions } from '../http/http-transport.js';
import {
  IDENTIFY_UNAUTHENTICATED_HEADER,
  identifyEnvelope,
  parseIdentifyResponse,
  type IdentifyResult,
} from '../wsman/identify.js';

export type IdentifyOptions = Omit<HttpTransportOptions, 'url'> & {
  /** Endpoint URL, e.g. `https://server:5986/wsman` or `https://cas.contoso.com/PowerShell/`. */
  readonly uri: string | URL;
  readonly signal?: AbortSignal | undefined;
};

export async function identify(options: IdentifyOptions): Promise<IdentifyResult> {
  const { uri, signal, ...http } = options;
  const headers =
    http.auth === undefined
      ? { ...http.headers, [IDENTIFY_UNAUTHENTICATED_HEADER.name]: IDENTIFY_UNAUTHENTICATED_HEADER.value }
      : http.headers;
  const transport = new HttpTransport({ ...http, url: uri, ...(headers !== undefined ? { headers } : {}) });
  try {
    return parseIdentifyResponse(await transport.send(identifyEnvelope(), signal ? { signal } : {}));
  } finally {
    await transport.close();
  }
}

/**
 * The HTTP request of an unauthenticated WS-Man Identify (headers and SOAP body), for a caller that
 * probes an endpoint with its own HTTP client (diagnose looks at the raw status and challenges).
 */
export function anonymousIdentifyRequest(): { readonly headers: Readonly<Record<string, string>>; readonly body: string } {
  return {
    headers: {
      'content-type': 'application/soap+xml;charset=UTF-8',
      [IDENTIFY_UNAUTHENTICATED_HEADER.name]: IDENTIFY_UNAUTHENTICATED_HEADER.value,
    },
    body: identifyEnvelope(),
  };
}

export type { IdentifyResult };
