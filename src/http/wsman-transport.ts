/**
 * The replay seam: a function from a request envelope to a response envelope. It sits above
 * authentication and encryption, so a recording replays without credentials or nonces. A 200, or a
 * 500 carrying a SOAP envelope (a WS-Man fault), resolves with the body; anything else rejects with
 * TransportError or AuthenticationError.
 */
export interface WsmanTransport {
  send(envelope: string, options?: { readonly signal?: AbortSignal | undefined }): Promise<string>;
  /** The URL requests go to now (after a permitted redirect); WS-Man `To` uses it. */
  readonly url: string;
  close(): Promise<void>;
}
