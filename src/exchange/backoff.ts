/**
 * The back-off both Exchange transports share: exponential with full jitter, capped, and the
 * server's `Retry-After` (RFC 9110 10.2.3: delay-seconds or an HTTP-date) honoured as a floor.
 * ExchangeSessionPool uses it when Exchange throttles the creation of a shell; the Exchange Online
 * session uses it on 429 and 5xx answers.
 */

import { setTimeout as delay } from 'node:timers/promises';

export interface BackoffOptions {
  /** Attempts in all (the first try included). Default 6. */
  readonly throttleAttempts?: number | undefined;
  /** First back-off delay in ms (doubles each attempt, with full jitter). Default 500. */
  readonly backoffBaseMs?: number | undefined;
  /** Longest back-off delay in ms. Default 15000. */
  readonly backoffMaxMs?: number | undefined;
}

/** The delay before retry number `attempt` (1-based): uniform in [0, min(cap, base·2^(attempt-1))). */
export function backoffDelay(attempt: number, options: BackoffOptions = {}, random = Math.random): number {
  const base = options.backoffBaseMs ?? 500;
  const cap = options.backoffMaxMs ?? 15_000;
  return random() * Math.min(cap, base * 2 ** (attempt - 1));
}

/** `Retry-After` in ms (seconds or an HTTP-date), or undefined when absent or unreadable. */
export function retryAfterMs(
  header: string | readonly string[] | undefined,
  now = Date.now(),
): number | undefined {
  const v: string | undefined = typeof header === 'string' ? header : header?.[0];
  if (typeof v !== 'string' || v.trim() === '') return undefined;
  const t = v.trim();
  if (/^\d+$/.test(t)) return Number(t) * 1000;
  const date = Date.parse(t);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** Waits `ms`, or rejects with the signal's reason when it aborts first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return delay(ms, undefined, signal ? { signal } : undefined).catch((e: unknown) => {
    throw signal?.aborted ? (signal.reason as Error) : e;
  });
}
