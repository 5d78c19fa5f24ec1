/**
 * Ctrl-C and SIGTERM in the CLI, as PowerShell treats Ctrl-C: the first one stops the running
 * pipeline (its AbortSignal aborts, which sends the PSRP stop) and the session lives on, so the
 * caller can delete its shell and leave, or keep going (`psrp shell`). A second one within
 * `forceWindowMs` forces the exit: a bounded cleanup (the shell's Delete), then `exit(code)`.
 * Exit codes follow the shell convention 128 + signal: 130 for SIGINT, 143 for SIGTERM.
 */
import type { EventEmitter } from 'node:events';

export type InterruptName = 'SIGINT' | 'SIGTERM';

export interface InterruptOptions {
  /** Where signals come from. Default `process`. */
  readonly source?: Pick<EventEmitter, 'on' | 'off'>;
  /** A second interrupt within this many ms forces the exit. Default 2000. */
  readonly forceWindowMs?: number;
  /** The longest the forced exit waits for the cleanup. Default 3000. */
  readonly cleanupTimeoutMs?: number;
  /** Ends the process. Default `process.exit`. */
  readonly exit?: (code: number) => void;
  /** Told of each interrupt that is not a forced exit (e.g. to print `^C` and a new prompt). */
  readonly onInterrupt?: (name: InterruptName) => void;
}

export const exitCodeOf = (name: InterruptName): number => (name === 'SIGINT' ? 130 : 143);

export class Interrupts {
  readonly #source: Pick<EventEmitter, 'on' | 'off'>;
  readonly #forceWindowMs: number;
  readonly #cleanupTimeoutMs: number;
  readonly #exit: (code: number) => void;
  readonly #onInterrupt: ((name: InterruptName) => void) | undefined;
  #controller = new AbortController();
  #last = -Infinity;
  #cleanup: (() => Promise<unknown>) | undefined;
  #first: InterruptName | undefined;
  readonly #listeners: [InterruptName, () => void][];

  constructor(options: InterruptOptions = {}) {
    this.#source = options.source ?? process;
    this.#forceWindowMs = options.forceWindowMs ?? 2000;
    this.#cleanupTimeoutMs = options.cleanupTimeoutMs ?? 3000;
    this.#exit = options.exit ?? ((code) => process.exit(code));
    this.#onInterrupt = options.onInterrupt;
    this.#listeners = (['SIGINT', 'SIGTERM'] as const).map((n) => [n, () => this.interrupt(n)]);
    for (const [n, l] of this.#listeners) this.#source.on(n, l);
  }

  /** Aborted by the next interrupt: pass it to the running command (`{ signal }`). */
  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /** The first interrupt received, if any (its exit code: `exitCodeOf`). */
  get received(): InterruptName | undefined {
    return this.#first;
  }

  /** A fresh signal for the next command, after an interrupt stopped the previous one. */
  next(): AbortSignal {
    if (this.#controller.signal.aborted) this.#controller = new AbortController();
    return this.#controller.signal;
  }

  /** What a forced exit runs first (bounded): typically the session's close, which deletes the shell. */
  setCleanup(cleanup: (() => Promise<unknown>) | undefined): void {
    this.#cleanup = cleanup;
  }

  /** Handles one interrupt (what the signal listeners call; readline's own SIGINT calls it too). */
  interrupt(name: InterruptName): void {
    const now = Date.now();
    const forced = now - this.#last <= this.#forceWindowMs;
    this.#last = now;
    this.#first ??= name;
    if (forced) {
      void this.#forceExit(exitCodeOf(name));
      return;
    }
    this.#controller.abort(new Error(`Interrupted (${name})`));
    this.#onInterrupt?.(name);
  }

  async #forceExit(code: number): Promise<void> {
    const cleanup = this.#cleanup;
    this.#cleanup = undefined;
    if (cleanup) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        cleanup().catch(() => undefined),
        new Promise((resolve) => (timer = setTimeout(resolve, this.#cleanupTimeoutMs))),
      ]);
      clearTimeout(timer);
    }
    this.#exit(code);
  }

  /** Removes the signal listeners (Node's default handling comes back). */
  dispose(): void {
    for (const [n, l] of this.#listeners) this.#source.off(n, l);
  }

  [Symbol.dispose](): void {
    this.dispose();
  }
}
