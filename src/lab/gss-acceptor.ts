/**
 * The lab's GSSAPI acceptor: drives `lab/gss-acceptor.py` (MIT krb5 + gss-ntlmssp through Debian's
 * python3-gssapi) over JSON lines, so the lab accepts real Negotiate, Kerberos and NTLM and wraps /
 * unwraps WinRM messages in Windows' layout. One security context per id (the lab uses one per TCP
 * connection). See docs/lab.md.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { PsrpError } from '../errors.js';
import { GSS_PACKAGES } from './test-realm.js';

const SCRIPT = resolve(dirname(fileURLToPath(import.meta.url)), '../../lab/gss-acceptor.py');

export interface GssAcceptorOptions {
  /**
   * Environment of the acceptor process: KRB5_CONFIG, KRB5_KTNAME (the service keytab),
   * NTLM_USER_FILE (gss-ntlmssp's `DOMAIN:user:password` lines). `TestRealm.acceptorEnv` has them.
   */
  readonly env: Readonly<Record<string, string>>;
  /** A Python with python3-gssapi. Default `/usr/bin/python3` (Debian's). */
  readonly python?: string;
}

export interface AcceptResult {
  /** The token to send back (empty when there is none). */
  readonly token: Buffer;
  readonly complete: boolean;
  /** The initiator's name once complete: `alice@PSRP.TEST` (krb5), `PSRP\alice` (NTLM). */
  readonly user?: string;
  /** The mechanism that authenticated, once complete: `krb5` or `ntlm`. */
  readonly mech?: string;
  /** Whether the context is SPNEGO-wrapped. */
  readonly spnego: boolean;
}

/** A failure the acceptor reported (GSSAPI major/minor status when it came from GSSAPI). */
export class GssAcceptorError extends PsrpError {
  override name = 'GssAcceptorError';
  constructor(
    message: string,
    readonly major: number | undefined,
    readonly minor: number | undefined,
  ) {
    super(message, { code: 'PSRP_LAB_GSS_FAILED' });
  }
}

interface Answer {
  readonly id: number;
  readonly ok: boolean;
  readonly error?: string;
  readonly major?: number;
  readonly minor?: number;
  readonly [k: string]: unknown;
}

export class GssAcceptor {
  readonly #child: ChildProcess;
  readonly #pending = new Map<number, { resolve: (a: Answer) => void; reject: (e: Error) => void }>();
  #next = 1;
  #dead: Error | undefined;
  #stderr = '';

  private constructor(child: ChildProcess) {
    this.#child = child;
  }

  /** Starts the acceptor process and waits for it to say it is ready. */
  static async start(options: GssAcceptorOptions): Promise<GssAcceptor> {
    const python = options.python ?? '/usr/bin/python3';
    if (!existsSync(python)) {
      throw new PsrpError(`The GSS lab needs ${python} with python3-gssapi (install ${GSS_PACKAGES})`, {
        code: 'PSRP_LAB_GSS_FAILED',
      });
    }
    const child = spawn(python, [SCRIPT], {
      env: { ...process.env, ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const acceptor = new GssAcceptor(child);
    const ready = new Promise<Answer>((res, rej) => acceptor.#pending.set(0, { resolve: res, reject: rej }));
    child.stderr.on('data', (c: Buffer) => {
      acceptor.#stderr = (acceptor.#stderr + c.toString()).slice(-2000);
    });
    createInterface({ input: child.stdout }).on('line', (line) => acceptor.#onLine(line));
    child.on('error', (e) => acceptor.#fail(e));
    child.on('exit', (code, signal) =>
      acceptor.#fail(
        new Error(`the GSS acceptor exited (${signal ?? String(code)}): ${acceptor.#stderr.trim()}`),
      ),
    );
    child.stdin.on('error', () => undefined);
    const hello = await ready.catch((e: Error) => ({ id: 0, ok: false, error: e.message }));
    if (!hello.ok) {
      child.kill();
      throw new PsrpError(`The GSS acceptor did not start: ${hello.error ?? ''} (install ${GSS_PACKAGES})`, {
        code: 'PSRP_LAB_GSS_FAILED',
      });
    }
    return acceptor;
  }

  #onLine(line: string): void {
    let answer: Answer;
    try {
      answer = JSON.parse(line) as Answer;
    } catch {
      return;
    }
    const p = this.#pending.get(answer.id);
    if (!p) return;
    this.#pending.delete(answer.id);
    p.resolve(answer);
  }

  #fail(e: Error): void {
    this.#dead ??= e;
    for (const p of this.#pending.values()) p.reject(e);
    this.#pending.clear();
  }

  async #call(request: Record<string, unknown>): Promise<Answer> {
    if (this.#dead) throw this.#dead;
    const id = this.#next++;
    const answer = await new Promise<Answer>((res, rej) => {
      this.#pending.set(id, { resolve: res, reject: rej });
      this.#child.stdin!.write(`${JSON.stringify({ ...request, id })}\n`);
    });
    if (!answer.ok) throw new GssAcceptorError(answer.error ?? 'failed', answer.major, answer.minor);
    return answer;
  }

  /** Feeds one client token to context `ctx` (made on the first call, for HTTP scheme `scheme`). */
  async accept(ctx: string, scheme: string, token: Uint8Array): Promise<AcceptResult> {
    const a = await this.#call({ op: 'accept', ctx, scheme, token: Buffer.from(token).toString('base64') });
    return {
      token: Buffer.from(String(a['token'] ?? ''), 'base64'),
      complete: a['complete'] === true,
      spnego: a['spnego'] === true,
      ...(typeof a['user'] === 'string' ? { user: a['user'] } : {}),
      ...(typeof a['mech'] === 'string' ? { mech: a['mech'] } : {}),
    };
  }

  /** Wraps (seals) `data` in Windows' layout: `header` (NTLM signature / krb5 token header) and `data`. */
  async wrap(ctx: string, data: Uint8Array): Promise<{ header: Buffer; data: Buffer }> {
    const a = await this.#call({ op: 'wrap', ctx, data: Buffer.from(data).toString('base64') });
    return {
      header: Buffer.from(String(a['header']), 'base64'),
      data: Buffer.from(String(a['data']), 'base64'),
    };
  }

  /** Unwraps a message in Windows' layout; rejects when it does not verify. */
  async unwrap(ctx: string, header: Uint8Array, data: Uint8Array): Promise<Buffer> {
    const a = await this.#call({
      op: 'unwrap',
      ctx,
      header: Buffer.from(header).toString('base64'),
      data: Buffer.from(data).toString('base64'),
    });
    return Buffer.from(String(a['data']), 'base64');
  }

  /** Forgets a context (the connection closed). */
  drop(ctx: string): void {
    if (!this.#dead) void this.#call({ op: 'drop', ctx }).catch(() => undefined);
  }

  /** Ends the process. */
  async close(): Promise<void> {
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return;
    const exited = new Promise((r) => this.#child.once('exit', r));
    this.#child.stdin!.end();
    const t = setTimeout(() => this.#child.kill('SIGKILL'), 2000);
    await exited;
    clearTimeout(t);
  }
}

/** The script path (for running it by hand). */
export const GSS_ACCEPTOR_SCRIPT = SCRIPT;
