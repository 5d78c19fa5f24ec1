// RFC 9112 6 (message body), RFC 9110 8.6 Content-Length: one POST and its whole, bounded response.
/**
 * One request on one undici dispatcher, its response read whole into a Buffer (bounded), through
 * `dispatch` and a handler of our own rather than undici's `request()`.
 *
 * `request()` wraps every response in a Readable stream (an AsyncResource with its own abort
 * listener and promise plumbing); a WS-Man exchange reads a few kilobytes whole. The handler here
 * (undici's controller API, `onRequestStart` .. `onResponseEnd`) collects the chunks as they arrive
 * instead (issue 17, `npm run bench -- cpu`). What the transport relies on is kept: a `Content-Length` above the limit
 * is refused before any byte is read and a body that grows past it is cut off (either way the
 * connection is dropped, never drained), a redirect's body is drained up to 64 KiB, and an abort
 * ends the request with the signal's reason.
 */
import type { Dispatcher } from 'undici';
import { TransportError } from '../errors.js';
import type { AbortLike } from './request-abort.js';

/** A response whose body has been read (or drained, for a redirect). */
export interface RoundTrip {
  readonly status: number;
  /** Header names in lower case; a repeated header as an array (as undici's `request()` gives them). */
  readonly headers: Record<string, string | string[] | undefined>;
  readonly bytes: Buffer;
}

/** What {@link roundTrip} sends and how it bounds the answer. */
export interface RoundTripRequest {
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body: Buffer;
  /** The most body bytes accepted (a redirect's body is drained up to 64 KiB instead). */
  readonly maxBytes: number;
  /** Milliseconds to wait for the response's headers (undici's `headersTimeout`). */
  readonly headersTimeout: number;
  /** Milliseconds of silence allowed between two chunks of the body (undici's `bodyTimeout`). */
  readonly bodyTimeout: number;
  readonly signal: AbortLike;
}

/** The redirect statuses (RFC 9110 15.4) whose body is drained rather than read. */
export const REDIRECTS: ReadonlySet<number> = new Set([301, 302, 303, 307, 308]);
const REDIRECT_DRAIN_LIMIT = 65_536;
const EMPTY = Buffer.alloc(0);

function tooLarge(message: string, status: number): TransportError {
  return new TransportError(message, {
    code: 'PSRP_HTTP_RESPONSE_TOO_LARGE',
    statusCode: status,
    hint: 'Raise `maxResponseBytes`, or lower the WS-Man MaxEnvelopeSize so each response stays smaller.',
  });
}

/** Sends `req` on `dispatcher` and resolves with its status, headers and whole body. */
export function roundTrip(dispatcher: Dispatcher, req: RoundTripRequest): Promise<RoundTrip> {
  const { signal } = req;
  // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- the abort reason as given
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<RoundTrip>((resolve, reject) => {
    let abort: ((reason: Error) => void) | undefined;
    let settled = false;
    let status = 0;
    let headers: RoundTrip['headers'] = {};
    let limit = req.maxBytes;
    let redirect = false;
    const chunks: Buffer[] = [];
    let size = 0;
    const finish = (err: unknown, result?: RoundTrip): void => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors
      if (result === undefined) reject(err);
      else resolve(result);
    };
    /** Ends the exchange with `err`; undici drops the connection (it is mid-response). */
    const fail = (err: unknown): void => {
      finish(err);
      abort?.(err instanceof Error ? err : new Error(String(err)));
    };
    function onAbort(): void {
      fail(signal.reason);
    }
    signal.addEventListener('abort', onAbort, { once: true });
    const handler: Dispatcher.DispatchHandler = {
      onRequestStart(controller: Dispatcher.DispatchController): void {
        abort = (reason) => controller.abort(reason);
        if (settled) controller.abort(new Error('aborted'));
      },
      onResponseStart(
        _controller: Dispatcher.DispatchController,
        statusCode: number,
        responseHeaders: Record<string, string | string[] | undefined>,
      ): void {
        if (statusCode < 200) return; // 1xx: the final answer follows
        status = statusCode;
        headers = responseHeaders;
        redirect = REDIRECTS.has(statusCode);
        if (redirect) {
          limit = REDIRECT_DRAIN_LIMIT;
          return;
        }
        const declared = headers['content-length'];
        if (typeof declared === 'string' && /^\d+$/.test(declared) && Number(declared) > limit)
          fail(
            tooLarge(`The response declares ${declared} bytes, more than the ${limit}-byte limit`, status),
          );
      },
      onResponseData(_controller: Dispatcher.DispatchController, chunk: Buffer): void {
        if (settled) return;
        size += chunk.length;
        if (size > limit) {
          if (redirect) {
            // A redirect's body is of no use: past the drain limit, give up the connection.
            finish(undefined, { status, headers, bytes: EMPTY });
            abort?.(new Error('redirect body too large to drain'));
            return;
          }
          fail(tooLarge(`The response exceeds the ${limit}-byte limit`, status));
          return;
        }
        if (!redirect) chunks.push(chunk);
      },
      onResponseEnd(): void {
        const bytes = redirect ? EMPTY : chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
        finish(undefined, { status, headers, bytes });
      },
      onResponseError(_controller: Dispatcher.DispatchController, err: Error): void {
        finish(signal.aborted ? signal.reason : err);
      },
    };
    dispatcher.dispatch(
      {
        path: req.path,
        method: 'POST',
        headers: req.headers,
        body: req.body,
        headersTimeout: req.headersTimeout,
        bodyTimeout: req.bodyTimeout,
      },
      handler,
    );
  });
}
