// MS-WSMV 2.2.9 (HTTP/HTTPS transport of WS-Management messages): the seam above it.
/** Per-request options of {@link WSManTransport.send}. */
export interface WSManSendOptions {
  /** Aborts the request; the promise then rejects with `signal.reason`. */
  readonly signal?: AbortSignal | undefined;
  /** What the request is for, named by a timeout's `stage`. Default `'request'`. */
  readonly stage?: 'request' | 'receive' | 'cleanup' | undefined;
  /** A limit of this request's own, when shorter than the transport's `requestTimeoutMs` (cleanup requests). */
  readonly timeoutMs?: number | undefined;
  /** How long the server may legitimately wait before answering (a Receive's OperationTimeout), in ms. */
  readonly waitMs?: number | undefined;
}

/**
 * The replay seam: a function from a request envelope to a response envelope. It sits above
 * authentication and encryption, so a recording replays without credentials or nonces. A 2xx, or a
 * 500 carrying a SOAP envelope (a WS-Man fault), resolves with the body; anything else rejects with
 * `TransportError` or `AuthenticationError`.
 */
export interface WSManTransport {
  send(envelope: string, options?: WSManSendOptions): Promise<string>;
  /** The URL requests go to now (after a permitted redirect); WS-Man `To` uses it. */
  readonly url: string;
  /**
   * Optional: `text` with every credential the transport has sent replaced by `[redacted]`, for
   * errors built above the transport from a response body.
   */
  redact?(text: string): string;
  /** Releases connections; pending sends reject. Idempotent. */
  close(): Promise<void>;
}

/** @deprecated Renamed {@link WSManTransport}, the casing of the rest of the API (WSManConnection, WSManFaultError). */
export type WsmanTransport = WSManTransport;

/** @deprecated Renamed {@link WSManSendOptions}. */
export type WsmanSendOptions = WSManSendOptions;
