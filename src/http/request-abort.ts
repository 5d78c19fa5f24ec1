/**
 * The abort of one HTTP request: what the transport's steps read of an `AbortSignal` (`aborted`,
 * `reason`, one-shot `abort` listeners), without an `AbortController`.
 *
 * Every `send` needs one (its timeout, the caller's signal and `close()` all end it), and an
 * `AbortController` with its signal costs about 6 us of CPU to make (an EventTarget with its
 * internal maps): a tenth of what the rest of psrp spends on a request (issue 17). This one is a
 * flag, a reason and a short listener list.
 */

/** What the transport's steps (connection pool, round trip) use of an abort signal; `AbortSignal` is one. */
export interface AbortLike {
  readonly aborted: boolean;
  readonly reason: unknown;
  addEventListener(type: 'abort', listener: () => void, options?: { readonly once?: boolean }): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}

/** A one-shot abort for one request; see the module comment. */
export class RequestAbort implements AbortLike {
  aborted = false;
  reason: unknown = undefined;
  #listeners: (() => void)[] = [];

  /** Aborts with `reason` (once: later calls do nothing) and calls every listener, in order. */
  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    const listeners = this.#listeners;
    this.#listeners = [];
    for (const listener of listeners) listener();
  }

  /** Every listener here is one-shot (an abort happens once), whatever `options` says. */
  addEventListener(_type: 'abort', listener: () => void, _options?: { readonly once?: boolean }): void {
    if (!this.aborted) this.#listeners.push(listener);
  }

  removeEventListener(_type: 'abort', listener: () => void): void {
    const i = this.#listeners.indexOf(listener);
    if (i >= 0) this.#listeners.splice(i, 1);
  }
}
