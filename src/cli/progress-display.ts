/**
 * The live status line of `psrp exec` on a terminal: a spinner with the count of objects received
 * so far, and a bar drawn from PowerShell's progress records (Activity, percent, status). It is
 * redrawn at most every 100 ms on one line of stderr and erased when the command ends, so stdout
 * stays clean for the data. Off the terminal it draws nothing.
 */
import type { ProgressRecord } from '../index.js';

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

export interface ProgressDisplayOptions {
  readonly stream: NodeJS.WritableStream & { columns?: number };
  readonly colour: boolean;
  /** Milliseconds between redraws. Default 100. */
  readonly intervalMs?: number;
}

export class ProgressDisplay {
  #objects = 0;
  #frame = 0;
  #progress: ProgressRecord | undefined;
  #timer: NodeJS.Timeout | undefined;
  #drawn = false;
  readonly #o: ProgressDisplayOptions;

  constructor(options: ProgressDisplayOptions) {
    this.#o = options;
    this.#timer = setInterval(() => this.draw(), options.intervalMs ?? 100);
    this.#timer.unref();
  }

  /** One more output object arrived. */
  object(): void {
    this.#objects++;
  }

  /** A progress record arrived (a `Completed` one removes the bar). */
  progress(p: ProgressRecord): void {
    this.#progress = p.type === 'Completed' ? undefined : p;
  }

  /** The status line as it would be drawn now (without colour codes when colour is off). */
  line(): string {
    const c = this.#o.colour;
    const cyan = (s: string): string => (c ? `\x1b[36m${s}\x1b[39m` : s);
    const dim = (s: string): string => (c ? `\x1b[2m${s}\x1b[22m` : s);
    let text = `${cyan(FRAMES[this.#frame % FRAMES.length]!)} ${this.#objects.toLocaleString('en-US')} object${this.#objects === 1 ? '' : 's'}`;
    const p = this.#progress;
    if (p) {
      text += `  ${p.activity}`;
      if (p.percentComplete >= 0 && p.percentComplete <= 100) {
        const width = 20;
        const full = Math.round((p.percentComplete / 100) * width);
        text += ` [${'#'.repeat(full)}${dim('.'.repeat(width - full))}] ${p.percentComplete}%`;
      }
      if (p.statusDescription) text += ` ${dim(p.statusDescription)}`;
    }
    return text;
  }

  /** Redraws the line (called by the timer). */
  draw(): void {
    this.#frame++;
    const columns = this.#o.stream.columns ?? 100;
    // Truncate by visible characters (colour codes are short and counted generously).
    let text = this.line();
    // eslint-disable-next-line no-control-regex -- terminal escape sequences are the subject here
    if (text.replace(/\x1b\[[0-9;]*m/g, '').length > columns - 1) text = text.slice(0, columns - 1);
    this.#o.stream.write(`\r\x1b[2K${text}`);
    this.#drawn = true;
  }

  /** Stops and erases the line. */
  done(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    if (this.#drawn) this.#o.stream.write('\r\x1b[2K');
    this.#drawn = false;
  }
}
