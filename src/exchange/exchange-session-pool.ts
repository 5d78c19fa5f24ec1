/**
 * A pool of Exchange sessions for bots and services: it keeps at most `maxSessions` shells open
 * (stay below Exchange's per-user PowerShellMaxConcurrency, 18 on-premises by default), reuses them,
 * replaces a session whose shell expired or was lost (invalid selectors, broken pool) or can take no
 * more commands (MaxConcurrentCommandsPerShell) and retries the work once, and backs off with jitter when Exchange throttles the creation of a shell. What
 * happens is observable: `counters` and events (`opened`, `closed`, `recovered`, `throttled`).
 * Failures are never emitted as 'error' events: they reject the call that caused them.
 */
import { EventEmitter } from 'node:events';
import { InvalidArgumentError, PsrpError, type InvokeResult, type RunOptions } from '../index.js';
import { backoffDelay } from './backoff.js';
import type { ExchangeCommandSession, ExchangeParameters } from './exchange-command-session.js';
import { connectExchange, type ConnectExchangeOptions } from './exchange-session.js';
import { connectExchangeOnline, type ConnectExchangeOnlineOptions } from './exchange-online-session.js';

/**
 * Either transport: Remote PowerShell options (`connectExchange`) or, with `tenantId` and `token`,
 * Exchange Online admin API options (`connectExchangeOnline`). Sessions of the latter share the
 * pool's back-off (`throttleAttempts`, `backoffBaseMs`, `backoffMaxMs`) on 429 and 5xx answers,
 * and each retry counts in `counters.throttled` and emits `throttled`.
 */
export type ExchangeSessionPoolOptions = (ConnectExchangeOptions | ConnectExchangeOnlineOptions) &
  ExchangeSessionPoolLimits;

export interface ExchangeSessionPoolLimits {
  /** Sessions (shells) open at most. Default 4. */
  readonly maxSessions?: number | undefined;
  /** Attempts to open a session while Exchange throttles. Default 6. */
  readonly throttleAttempts?: number | undefined;
  /** First back-off delay in ms (doubles each attempt, with full jitter). Default 500. */
  readonly backoffBaseMs?: number | undefined;
  /** Longest back-off delay in ms. Default 15000. */
  readonly backoffMaxMs?: number | undefined;
}

export interface ExchangeSessionPoolCounters {
  opened: number;
  closed: number;
  /** Sessions replaced after their shell expired or was lost. */
  recovered: number;
  /** Times opening a session was throttled and retried. */
  throttled: number;
  inUse: number;
  idle: number;
}

/**
 * The events of an {@link ExchangeSessionPool}, by name: `on`, `once`, `off` and `emit` are typed
 * from this map (a listener of `throttled` receives an {@link ExchangeSessionPoolThrottledEvent}).
 */
export interface ExchangeSessionPoolEvents {
  /** A session (shell) was opened; `sessions` counts the pool's sessions with it. */
  opened: [event: { readonly sessions: number }];
  /** A session was closed because its shell was lost or expired. */
  closed: [event: { readonly reason: 'lost' }];
  /** A lost session was replaced and the work retried; `code` is why it was lost. */
  recovered: [event: { readonly code: PsrpError['code'] }];
  /** Opening a session (or an Exchange Online request) was throttled and will be retried. */
  throttled: [event: ExchangeSessionPoolThrottledEvent];
}

/** What a `throttled` listener receives. */
export interface ExchangeSessionPoolThrottledEvent {
  /** The attempt that was throttled (1 for the first). */
  readonly attempt: number;
  /** The wait before the next attempt, in ms. */
  readonly delayMs: number;
  /** The HTTP status of an Exchange Online answer (429, 5xx); absent for a WS-Man quota fault. */
  readonly statusCode?: number | undefined;
}

const LOST = new Set([
  // The shell can take no more commands: a fresh shell starts from zero.
  'PSRP_WSMAN_COMMAND_QUOTA_EXCEEDED',
  'PSRP_WSMAN_SHELL_NOT_FOUND',
  'PSRP_RUNSPACE_POOL_BROKEN',
  'PSRP_POOL_CLOSED',
  'PSRP_PROCESS_EXITED',
]);

export class ExchangeSessionPool extends EventEmitter<ExchangeSessionPoolEvents> {
  readonly counters: ExchangeSessionPoolCounters = {
    opened: 0,
    closed: 0,
    recovered: 0,
    throttled: 0,
    inUse: 0,
    idle: 0,
  };
  private readonly idle: ExchangeCommandSession[] = [];
  private readonly waiters: ((s: ExchangeCommandSession | undefined) => void)[] = [];
  private opening = 0;
  private closedPool = false;
  private readonly max: number;

  constructor(private readonly options: ExchangeSessionPoolOptions) {
    super();
    this.max = options.maxSessions ?? 4;
    if (!Number.isInteger(this.max) || this.max < 1)
      throw new InvalidArgumentError('maxSessions must be a positive integer');
  }

  private get total(): number {
    return this.counters.inUse + this.idle.length + this.opening;
  }

  private connect(signal?: AbortSignal): Promise<ExchangeCommandSession> {
    const o = this.options;
    if ('tenantId' in o) {
      return connectExchangeOnline({
        ...o,
        ...(signal ? { signal } : {}),
        onThrottled: (e) => {
          this.counters.throttled++;
          this.emit('throttled', { attempt: e.attempt, delayMs: e.delayMs, statusCode: e.statusCode });
          o.onThrottled?.(e);
        },
      });
    }
    return connectExchange({ ...o, ...(signal ? { signal } : {}) });
  }

  private async open(signal?: AbortSignal): Promise<ExchangeCommandSession> {
    const attempts = this.options.throttleAttempts ?? 6;
    for (let attempt = 1; ; attempt++) {
      try {
        const s = await this.connect(signal);
        this.counters.opened++;
        this.emit('opened', { sessions: this.total + 1 });
        return s;
      } catch (e) {
        if ((e as PsrpError).code !== 'PSRP_WSMAN_QUOTA_EXCEEDED' || attempt >= attempts) throw e;
        this.counters.throttled++;
        const delay = backoffDelay(attempt, this.options); // full jitter
        this.emit('throttled', { attempt, delayMs: Math.round(delay) });
        await new Promise((r) => setTimeout(r, delay));
        signal?.throwIfAborted();
      }
    }
  }

  private async acquire(signal?: AbortSignal): Promise<ExchangeCommandSession> {
    if (this.closedPool) throw new PsrpError('The session pool is closed', { code: 'PSRP_POOL_CLOSED' });
    const ready = this.idle.pop();
    if (ready) {
      this.counters.idle = this.idle.length;
      this.counters.inUse++;
      return ready;
    }
    if (this.total < this.max) {
      this.opening++;
      try {
        const s = await this.open(signal);
        this.counters.inUse++;
        return s;
      } finally {
        this.opening--;
      }
    }
    const s = await new Promise<ExchangeCommandSession | undefined>((resolve) => this.waiters.push(resolve));
    if (!s) return this.acquire(signal); // a slot was freed: open a new session
    this.counters.inUse++;
    return s;
  }

  private release(s: ExchangeCommandSession): void {
    this.counters.inUse--;
    if (this.closedPool) {
      this.counters.closed++;
      void s.close().catch(() => undefined);
      return;
    }
    const next = this.waiters.shift();
    if (next) {
      next(s);
      return;
    }
    this.idle.push(s);
    this.counters.idle = this.idle.length;
  }

  private discard(s: ExchangeCommandSession): void {
    this.counters.closed++;
    this.emit('closed', { reason: 'lost' });
    void s.close().catch(() => undefined);
  }

  /** Runs `work` on a pooled session; a lost session is replaced and the work retried once. */
  async use<T>(
    work: (s: ExchangeCommandSession) => Promise<T>,
    options: { readonly signal?: AbortSignal } = {},
  ): Promise<T> {
    let session: ExchangeCommandSession | undefined = await this.acquire(options.signal);
    try {
      return await work(session);
    } catch (e) {
      if (!LOST.has((e as PsrpError).code)) throw e;
      // The shell expired or was lost: replace the session and retry the work once.
      this.discard(session);
      this.counters.inUse--;
      session = undefined;
      session = await this.acquire(options.signal);
      this.counters.recovered++;
      this.emit('recovered', { code: (e as PsrpError).code });
      return await work(session);
    } finally {
      if (session) this.release(session);
    }
  }

  invoke(name: string, parameters?: ExchangeParameters, options?: RunOptions): Promise<InvokeResult> {
    return this.use(
      (s) => s.invoke(name, parameters, options),
      options?.signal ? { signal: options.signal } : {},
    );
  }

  run(commandLine: string, options?: RunOptions): Promise<InvokeResult> {
    return this.use((s) => s.run(commandLine, options), options?.signal ? { signal: options.signal } : {});
  }

  /** Closes every idle session and refuses new work; sessions in use close when released. */
  async close(): Promise<void> {
    this.closedPool = true;
    for (const w of this.waiters.splice(0)) w(undefined);
    const all = this.idle.splice(0);
    this.counters.idle = 0;
    await Promise.all(all.map((s) => s.close().catch(() => undefined)));
    this.counters.closed += all.length;
  }

  /** `await using pool = new ExchangeSessionPool(…)`: `close()` when the scope ends. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
