/**
 * The lab's switchable Exchange behaviours and one-shot faults (docs/lab.md): their types, the
 * defaults, the all-off value, the answers an Exchange front end gives before WS-Man (403 without
 * SSL, ARR's 502, a pod's 302, 401 or Exchange's 400 rewrite), and the injector that applies an
 * armed fault to a request.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { LabRequest } from './wsman-server-codec.js';

/**
 * Exchange behaviours clients must survive, each switchable (research A4, A7, A9; the field guide).
 * They apply to the `/PowerShell/` endpoint.
 */
export interface LabBehaviours {
  /** Set the `MS-WSMAN` affinity cookie on Create; with `required`, a request without it fails with invalid selectors. Default 'set'. */
  affinityCookie: 'off' | 'set' | 'required';
  /** Concurrent shells per user (Exchange PowerShellMaxConcurrency); beyond it Create fails with Exchange's text. Default 18. */
  maxShellsPerUser: number;
  /** Answer requests with a 302 to this host name (e.g. `127.0.0.1`), like an Exchange pod redirect. Default undefined. */
  redirectToHost: string | undefined;
  /** Rewrite 401 to 400 with Exchange's plain-text FriendlyError body. Default false. */
  rewrite401To400: boolean;
  /** Plain-HTTP requests to /PowerShell/ get 403 ("Require SSL" on the vdir). Default true. */
  requireSsl: boolean;
  /** Delete shells idle for longer than this (ms); later requests get invalid selectors. Default undefined. */
  idleTimeoutMs: number | undefined;
  /**
   * Authentication schemes the virtual directory offers in `WWW-Authenticate` (IIS order). Basic
   * credentials are accepted only while `Basic` is listed: without it the vdir has Basic disabled, as
   * the field guide's 400/401 cases. Negotiate/Kerberos/NTLM complete only with `LabOptions.gssapi`
   * (otherwise they are offered and never accepted). Default
   * `['Negotiate', 'Basic']`.
   */
  authSchemes: readonly ('Basic' | 'Negotiate' | 'Kerberos' | 'NTLM')[];
  /** A reverse proxy that cannot reach or trust the back end: every /PowerShell/ request gets IIS ARR's 502. Default false. */
  badGateway: boolean;
  /** One-shot faults (both endpoints): arm one and the next matching request suffers it, then it switches itself off. */
  faults: LabFaults;
}

/** A WS-Man request kind, by the last segment of its action URI. */
export type LabAction = 'Create' | 'Command' | 'Send' | 'Receive' | 'Signal' | 'Delete';

/**
 * Faults clients must survive, each one-shot: it fires on the next matching request and switches
 * itself off (`lab.firedFaults` counts what fired). `true` matches any request; an action name only
 * requests of that kind. See docs/lab.md for what a client sees.
 */
export interface LabFaults {
  /** Destroy the TCP connection of the next Receive without answering (a connection reset mid-Receive; the Receive is not processed). */
  resetNextReceive: boolean;
  /** Answer the next matching request with HTTP 500 and a plain-text body, no SOAP fault, without processing it. */
  http500Next: boolean | LabAction;
  /** Answer the next matching request with HTTP 503 (a recycling app pool, a throttling proxy), without processing it. */
  http503Next: boolean | LabAction;
  /** Hold the next request (of `stallAction`, when set) this many ms before processing it; dropped if the client gave up meanwhile. 0 = off. */
  stallNextMs: number;
  stallAction: LabAction | undefined;
  /** SIGKILL the pwsh process of the shell that gets the next Command, 200 ms after its pipeline started. */
  killPwshOnNextCommand: boolean;
  /** The next request to a shell with an affinity cookie (`/PowerShell/`) is handled as if it came without it: invalid selectors, once. */
  dropAffinityCookie: boolean;
}

/** Every fault off. */
export function noFaults(): LabFaults {
  return {
    resetNextReceive: false,
    http500Next: false,
    http503Next: false,
    stallNextMs: 0,
    stallAction: undefined,
    killPwshOnNextCommand: false,
    dropAffinityCookie: false,
  };
}

/** The behaviours a lab starts with: Exchange's defaults, then `initial`'s. */
export function labBehaviours(initial: Partial<LabBehaviours> | undefined): LabBehaviours {
  return {
    affinityCookie: 'set',
    maxShellsPerUser: 18,
    redirectToHost: undefined,
    rewrite401To400: false,
    requireSsl: true,
    idleTimeoutMs: undefined,
    authSchemes: ['Negotiate', 'Basic'],
    badGateway: false,
    ...initial,
    faults: { ...noFaults(), ...initial?.faults },
  };
}

/**
 * What the Exchange front end answers before any authentication (`/PowerShell/` only): 403 for plain
 * HTTP with Require SSL, IIS ARR's 502 with `badGateway`, a 302 to `redirectToHost`. True when answered.
 */
export function answerFrontEnd(
  b: LabBehaviours,
  req: IncomingMessage,
  res: ServerResponse,
  secure: boolean,
): boolean {
  if (!secure && b.requireSsl) {
    res
      .writeHead(403, { 'content-type': 'text/html' })
      .end('<h1>403 - Forbidden: Access is denied.</h1><p>SSL is required.</p>');
    return true;
  }
  if (b.badGateway) {
    res
      .writeHead(502, { 'content-type': 'text/html' })
      .end(
        '<h2>502 - Web server received an invalid response while acting as a gateway or proxy server.</h2><h3>There is a problem with the page you are looking for, and it cannot be displayed. When the Web server (while acting as a gateway or proxy) contacted the upstream content server, it received an invalid response from the content server.</h3>',
      );
    return true;
  }
  const host = (req.headers.host ?? '').replace(/:\d+$/, '');
  if (b.redirectToHost && host !== b.redirectToHost) {
    const port = (req.socket.localPort ?? 0).toString();
    res
      .writeHead(302, {
        location: `${secure ? 'https' : 'http'}://${b.redirectToHost}:${port}${req.url ?? '/'}`,
      })
      .end();
    return true;
  }
  return false;
}

/** An unauthenticated request: 401 with the offered schemes, or Exchange's 400 with `rewrite401To400` on `/PowerShell/`. */
export function answerUnauthorized(b: LabBehaviours, res: ServerResponse, exchange: boolean): void {
  if (exchange && b.rewrite401To400) {
    res
      .writeHead(400, { 'content-type': 'application/soap+xml;charset=UTF-8' })
      .end(
        `[ClientAccessServer=LAB,BackEndServer=lab.contoso.com,RequestId=${crypto.randomUUID()},TimeStamp=${new Date().toUTCString()}] [FailureCategory=Auth-401] Access is denied.`,
      );
  } else {
    res
      .writeHead(401, {
        'www-authenticate': b.authSchemes.map((a) => (a === 'Basic' ? 'Basic realm="WSMAN"' : a)),
      })
      .end();
  }
}

/** Applies an armed one-shot fault to this request; true when it was answered (or dropped) here. */
export async function injectFault(
  faults: LabFaults,
  fired: (name: string) => void,
  r: LabRequest,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<boolean> {
  const f = faults;
  const action = r.action.slice(r.action.lastIndexOf('/') + 1);
  const matches = (t: boolean | LabAction): boolean => t === true || t === action;
  if (f.resetNextReceive && action === 'Receive') {
    f.resetNextReceive = false;
    fired('resetNextReceive');
    req.socket.destroy();
    return true;
  }
  for (const [name, status, text] of [
    ['http500Next', 500, 'Internal Server Error'],
    ['http503Next', 503, 'Service Unavailable'],
  ] as const) {
    if (matches(f[name])) {
      f[name] = false;
      fired(name);
      res.writeHead(status, { 'content-type': 'text/plain' }).end(text);
      return true;
    }
  }
  if (f.stallNextMs > 0 && (f.stallAction === undefined || f.stallAction === action)) {
    const ms = f.stallNextMs;
    f.stallNextMs = 0;
    fired('stallNextMs');
    await new Promise((resolve) => setTimeout(resolve, ms).unref());
    // A client that gave up has closed the connection: the request is dropped unprocessed.
    if (req.socket.destroyed || res.destroyed) return true;
  }
  return false;
}
