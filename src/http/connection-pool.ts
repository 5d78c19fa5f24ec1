// RFC 9112 9.3 Persistence (keep-alive) and 9.4 Concurrency: a small per-origin connection pool.
/**
 * Up to `max` undici `Client`s (one keep-alive connection each) for one origin. Unlike undici's
 * `Pool`, which may open a second socket when a request follows the previous one within the same
 * tick, a request here always takes the first idle connection: sequential requests stay on one
 * socket (one TLS handshake, and the connection affinity NTLM/Negotiate need later). When every
 * connection is busy (long-poll Receives) and the cap is reached, requests wait in FIFO order for
 * the next free one; an abort takes a waiter out of the queue.
 */
import { connect as tcpConnect } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { Client, buildConnector, Dispatcher } from 'undici';
import { undiciClient } from './undici-parts.js';
import { TimeoutError, TransportError } from '../errors.js';
import { proxiedConnection } from './proxy.js';
import { sharedConnector } from './tls-context.js';
import type { AbortLike } from './request-abort.js';

interface Slot {
  /** A Client, or one tunnelled through a proxy (see proxy.ts). */
  readonly client: Dispatcher;
  busy: boolean;
  /** DER of the server certificate of the slot's current TLS connection. */
  peer: Buffer | undefined;
}

/** A connection held for one request; give it back with {@link ConnectionPool.release}. */
export interface Lease {
  readonly client: Dispatcher;
  /** 1-based index of the connection in the pool (for diagnostics). */
  readonly index: number;
  /**
   * The DER server certificate of the TLS connection (after the first request on it opened it),
   * for channel bindings; undefined over plain http.
   */
  peerCertificate(): Buffer | undefined;
}

/**
 * Idle connections that destroyed pools left for the next pool with the same share key (same origin,
 * TLS set-up, connection options and authentication scheme), each closed if unused for its
 * keep-alive time. Only pools of per-request authentication are given a key: a connection that a
 * connection-bound scheme (NTLM, Negotiate) authenticated is never handed to another pool.
 */
const parked = new Map<string, { readonly slot: Slot; readonly timer: NodeJS.Timeout }[]>();

function unpark(key: string): Slot | undefined {
  const list = parked.get(key);
  const entry = list?.pop();
  if (list?.length === 0) parked.delete(key);
  if (entry === undefined) return undefined;
  clearTimeout(entry.timer);
  return entry.slot;
}

function park(key: string, slot: Slot, idleMs: number, max: number): void {
  let list = parked.get(key);
  if (list === undefined) parked.set(key, (list = []));
  if (list.length >= max) {
    slot.client.destroy().catch(() => undefined);
    return;
  }
  const timer = setTimeout(() => {
    const i = list.findIndex((e) => e.slot === slot);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0 && parked.get(key) === list) parked.delete(key);
    slot.client.destroy().catch(() => undefined);
  }, idleMs);
  timer.unref();
  list.push({ slot, timer });
}

/** Sharing of idle connections between pools: see {@link ConnectionPool} `share`. */
export interface PoolSharing {
  /** Pools with equal keys may take over each other's idle connections. */
  readonly key: string;
  /** How long a left connection waits for a new pool before it is closed. */
  readonly idleMs: number;
}

interface Waiter {
  readonly resolve: (lease: Lease) => void;
  readonly reject: (reason: unknown) => void;
}

/** Connections to one origin. */
export class ConnectionPool {
  readonly #origin: string;
  readonly #options: Client.Options;
  readonly #max: number;
  readonly #proxy: URL | undefined;
  readonly #share: PoolSharing | undefined;
  readonly #slots: Slot[] = [];
  readonly #waiters: Waiter[] = [];
  #closed = false;

  /**
   * `proxy`: every connection is a CONNECT tunnel through it (one tunnel per connection). `share`:
   * on {@link destroy} idle connections are left for the next pool with the same key, and new
   * connections are taken from those first (not with a proxy).
   */
  constructor(origin: string, options: Client.Options, max: number, proxy?: URL, share?: PoolSharing) {
    this.#origin = origin;
    this.#options = options;
    this.#max = Math.max(1, max);
    this.#proxy = proxy;
    this.#share = proxy === undefined ? share : undefined;
  }

  /** Connections opened so far (idle or busy). */
  get size(): number {
    return this.#slots.length;
  }

  /** Takes the first idle connection, opens a new one under the cap, or waits for one. */
  acquire(signal?: AbortLike): Promise<Lease> {
    if (this.#closed) return Promise.reject(closedError());
    // An abort rejects with the caller's own reason, whatever its type (AbortSignal semantics).
    // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors
    if (signal?.aborted) return Promise.reject(signal.reason);
    const idle = this.#slots.findIndex((s) => !s.busy);
    if (idle >= 0) return Promise.resolve(this.#lease(idle));
    if (this.#slots.length < this.#max) {
      this.#slots.push(this.#open());
      return Promise.resolve(this.#lease(this.#slots.length - 1));
    }
    return new Promise<Lease>((resolve, reject) => {
      const onAbort = (): void => {
        const i = this.#waiters.indexOf(waiter);
        if (i >= 0) this.#waiters.splice(i, 1);
        // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors
        reject(signal?.reason);
      };
      const waiter: Waiter = {
        resolve: (lease) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(lease);
        },
        reject: (reason) => {
          signal?.removeEventListener('abort', onAbort);
          // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors
          reject(reason);
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#waiters.push(waiter);
    });
  }

  /** Returns a connection: the next waiter gets it, else it becomes idle (or, once retired, closes). */
  release(lease: Lease): void {
    const slot = this.#slots[lease.index - 1];
    if (slot === undefined || slot.client !== lease.client) return;
    if (this.#closed) {
      slot.busy = false;
      slot.client.destroy().catch(() => undefined);
      return;
    }
    const next = this.#waiters.shift();
    if (next !== undefined) next.resolve(lease);
    else slot.busy = false;
  }

  /**
   * A new connection whose connector notes the server certificate of every TLS socket it opens
   * (undici reconnects a Client transparently, so the note follows the current socket).
   */
  #open(): Slot {
    const left = this.#share !== undefined ? unpark(this.#share.key) : undefined;
    if (left !== undefined) return left;
    const connect = this.#options.connect;
    if (this.#proxy !== undefined && typeof connect !== 'function') {
      const slot: { client?: Dispatcher; busy: boolean; peer: Buffer | undefined } = {
        busy: false,
        peer: undefined,
      };
      slot.client = proxiedConnection(
        this.#origin,
        this.#proxy,
        { ...this.#options, connect: connect },
        (socket) => {
          const tls = socket as Partial<TLSSocket>;
          const raw =
            typeof tls.getPeerCertificate === 'function'
              ? (tls.getPeerCertificate().raw as Buffer | undefined)
              : undefined;
          slot.peer = raw && raw.length > 0 ? raw : undefined;
        },
      );
      return slot as Slot;
    }
    if (connect === undefined || typeof connect === 'function' || !this.#origin.startsWith('https:')) {
      return { client: new (undiciClient())(this.#origin, this.#options), busy: false, peer: undefined };
    }
    // One connector per TLS set-up for the process: its session cache lets a new connection resume.
    const base = sharedConnector(connect);
    const connectTimeoutMs = typeof connect.timeout === 'number' ? connect.timeout : 10_000;
    const origin = this.#origin;
    const slot: { client?: Client; busy: boolean; peer: Buffer | undefined } = {
      busy: false,
      peer: undefined,
    };
    // TCP first, under its own connectTimeoutMs, then TLS on that socket under another: a timeout
    // then says which of the two stalled (stage `connect` or `tls`).
    const connector: buildConnector.connector = (options, callback) => {
      slot.peer = undefined;
      let settled = false;
      const tcp = tcpConnect({
        host: options.hostname,
        port: Number(options.port) || 443,
        ...(options.localAddress ? { localAddress: options.localAddress } : {}),
      });
      const fail = (err: Error): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        tcp.destroy();
        callback(err, null);
      };
      const timer = setTimeout(
        () =>
          fail(
            new TimeoutError(
              `No TCP connection to ${origin} within ${connectTimeoutMs} ms (connectTimeoutMs)`,
              {
                stage: 'connect',
                url: origin,
                timeoutMs: connectTimeoutMs,
                hint: 'The host did not accept a connection in time: check the firewall and the port.',
              },
            ),
          ),
        connectTimeoutMs,
      );
      tcp.once('error', fail);
      tcp.once('connect', () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        tcp.removeListener('error', fail);
        base({ ...options, httpSocket: tcp }, (...args) => {
          const [err, socket] = args;
          if (err) {
            tcp.destroy();
            const code = (err as { code?: unknown }).code;
            callback(
              code === 'UND_ERR_CONNECT_TIMEOUT'
                ? new TimeoutError(
                    `No TLS handshake with ${origin} within ${connectTimeoutMs} ms (connectTimeoutMs)`,
                    {
                      stage: 'tls',
                      url: origin,
                      timeoutMs: connectTimeoutMs,
                      cause: err,
                      hint: 'The port accepted a TCP connection but did not complete a TLS handshake: check that it speaks TLS (WinRM: 5986 is HTTPS, 5985 is HTTP) and the proxy between.',
                    },
                  )
                : err,
              null,
            );
            return;
          }
          if (socket && typeof (socket as TLSSocket).getPeerCertificate === 'function') {
            const raw = (socket as TLSSocket).getPeerCertificate().raw as Buffer | undefined;
            slot.peer = raw && raw.length > 0 ? raw : undefined;
          }
          callback(...args);
        });
      });
    };
    slot.client = new (undiciClient())(this.#origin, { ...this.#options, connect: connector });
    return slot as Slot;
  }

  #lease(i: number): Lease {
    const slot = this.#slots[i];
    if (slot === undefined) throw new RangeError('no such connection');
    slot.busy = true;
    return { client: slot.client, index: i + 1, peerCertificate: () => slot.peer };
  }

  /**
   * Closes a leased connection whose state can no longer be trusted (a message-encryption context
   * out of step) and puts a fresh one (a new socket, authenticated anew) in its place.
   */
  discard(lease: Lease): void {
    const i = lease.index - 1;
    const slot = this.#slots[i];
    if (slot === undefined || slot.client !== lease.client) return;
    slot.client.destroy().catch(() => undefined);
    if (this.#closed) return;
    this.#slots[i] = this.#open();
    this.release({ ...lease, client: this.#slots[i].client });
  }

  /**
   * Stops taking requests: waiters reject, idle connections close now and busy ones as soon as their
   * request is done (used for an origin a redirect left behind).
   */
  retire(): void {
    this.#closed = true;
    for (const w of this.#waiters.splice(0)) w.reject(closedError());
    for (const s of this.#slots) if (!s.busy) s.client.destroy().catch(() => undefined);
  }

  /**
   * Closes every connection now; requests still running on them fail. (undici's graceful `close`
   * can wait forever on a client whose connection never came up, so this destroys.) With `share`,
   * idle connections are left for the next pool instead (see the constructor).
   */
  async destroy(): Promise<void> {
    const share = this.#share;
    const idle = share !== undefined && !this.#closed ? this.#slots.filter((s) => !s.busy) : [];
    this.#closed = true;
    for (const w of this.#waiters.splice(0)) w.reject(closedError());
    for (const slot of idle) park(share!.key, slot, share!.idleMs, this.#max);
    await Promise.all(
      this.#slots.filter((s) => !idle.includes(s)).map((s) => s.client.destroy().catch(() => undefined)),
    );
  }
}

function closedError(): TransportError {
  return new TransportError('The transport is closed', { code: 'PSRP_TRANSPORT_CLOSED' });
}
