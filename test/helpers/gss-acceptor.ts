// Drives test/helpers/gss-acceptor.py: a real, independent GSS-API acceptor (MIT krb5 1.20's
// SPNEGO and gss-ntlmssp, through Debian's python3-gssapi) for interop tests. Tokens and messages
// go over the child's stdin/stdout as JSON lines. Missing prerequisites throw (never skip) with
// the Debian packages to install.
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface, type Interface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export const PYTHON = '/usr/bin/python3';
const SCRIPT = fileURLToPath(new URL('./gss-acceptor.py', import.meta.url));
const INSTALL =
  'install the Debian packages python3-gssapi and gss-ntlmssp (apt-get install python3-gssapi gss-ntlmssp)';

/**
 * Throws (with what to install) unless `python` (/usr/bin/python3) has gssapi and gss-ntlmssp is
 * registered in `mechd`. The parameters exist so a test can check the failure message.
 */
export function requireGssNtlmssp(python = PYTHON, mechd = '/etc/gss/mech.d'): void {
  if (!existsSync(python)) throw new Error(`${python} is missing: install python3, then ${INSTALL}`);
  const probe = spawnSync(python, ['-c', 'import gssapi'], { encoding: 'utf8' });
  if (probe.status !== 0) throw new Error(`${python} cannot import gssapi: ${INSTALL}\n${probe.stderr}`);
  const registered =
    existsSync(mechd) && readdirSync(mechd).some((f) => f.includes('ntlmssp') && f.endsWith('.conf'));
  if (!registered) throw new Error(`gss-ntlmssp is not registered in ${mechd}: ${INSTALL}`);
}

interface Reply {
  readonly ok: boolean;
  readonly error?: string;
  readonly token?: string | null;
  readonly complete?: boolean;
  readonly mech?: string;
  readonly initiator?: string;
  readonly data?: string;
  readonly encrypted?: boolean;
}

export interface StepResult {
  /** The acceptor's output token, if any. */
  readonly token: Buffer | undefined;
  readonly complete: boolean;
  /** The negotiated mechanism OID, once complete. */
  readonly mech?: string;
  readonly initiator?: string;
}

/** A GSS acceptor whose step/wrap/unwrap throw an Error carrying the GSS message on failure. */
export class GssAcceptor {
  readonly #child: ChildProcessWithoutNullStreams;
  readonly #lines: Interface;
  readonly #pending: ((line: string) => void)[] = [];
  readonly #dir: string;
  #stderr = '';

  private constructor(child: ChildProcessWithoutNullStreams, dir: string) {
    this.#child = child;
    this.#dir = dir;
    child.stderr.on('data', (d: Buffer) => (this.#stderr += d.toString()));
    this.#lines = createInterface({ input: child.stdout });
    this.#lines.on('line', (line) => this.#pending.shift()?.(line));
  }

  /**
   * Starts an acceptor knowing the users `DOMAIN:user:password`. `credentials` 'spnego' limits
   * the acceptor credential to the SPNEGO mechanism; 'default' is GSS_C_NO_CREDENTIAL.
   */
  static async start(
    users: readonly string[],
    credentials: 'spnego' | 'default' = 'spnego',
  ): Promise<GssAcceptor> {
    requireGssNtlmssp();
    const dir = mkdtempSync(join(tmpdir(), 'psrp-gss-'));
    const userFile = join(dir, 'ntlm-users');
    writeFileSync(userFile, users.join('\n') + '\n', { mode: 0o600 });
    const child = spawn(PYTHON, [SCRIPT, credentials], {
      env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', NTLM_USER_FILE: userFile, LANG: 'C.UTF-8' },
    });
    const acceptor = new GssAcceptor(child, dir);
    const ready = JSON.parse(await acceptor.#next()) as { ready: boolean; error?: string };
    if (!ready.ready) {
      acceptor.close();
      throw new Error(`GSS acceptor not available (${ready.error}): ${INSTALL}`);
    }
    return acceptor;
  }

  #next(): Promise<string> {
    return new Promise((resolve, reject) => {
      const onExit = (): void => reject(new Error(`gss-acceptor.py exited: ${this.#stderr}`));
      this.#child.once('exit', onExit);
      this.#pending.push((line) => {
        this.#child.off('exit', onExit);
        resolve(line);
      });
    });
  }

  async #call(request: Record<string, string>): Promise<Reply> {
    const reply = this.#next();
    this.#child.stdin.write(JSON.stringify(request) + '\n');
    const res = JSON.parse(await reply) as Reply;
    if (!res.ok) throw new Error(`GSS acceptor: ${res.error}`);
    return res;
  }

  async step(token: Uint8Array): Promise<StepResult> {
    const r = await this.#call({ op: 'step', token: Buffer.from(token).toString('base64') });
    return {
      token: r.token ? Buffer.from(r.token, 'base64') : undefined,
      complete: r.complete === true,
      ...(r.mech === undefined ? {} : { mech: r.mech }),
      ...(r.initiator === undefined ? {} : { initiator: r.initiator }),
    };
  }

  /** gss_wrap with confidentiality. */
  async wrap(data: Uint8Array): Promise<Buffer> {
    return Buffer.from(
      (await this.#call({ op: 'wrap', data: Buffer.from(data).toString('base64') })).data!,
      'base64',
    );
  }

  /** gss_unwrap; returns the plaintext and whether it was encrypted. */
  async unwrap(data: Uint8Array): Promise<{ data: Buffer; encrypted: boolean }> {
    const r = await this.#call({ op: 'unwrap', data: Buffer.from(data).toString('base64') });
    return { data: Buffer.from(r.data!, 'base64'), encrypted: r.encrypted === true };
  }

  close(): void {
    this.#lines.close();
    this.#child.stdin.end();
    this.#child.kill();
    rmSync(this.#dir, { recursive: true, force: true });
  }
}
