// Drives test/helpers/gss-initiator.py: an MIT GSSAPI initiator with plain gss_wrap / gss_unwrap.
import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const SCRIPT = join(dirname(fileURLToPath(import.meta.url)), 'gss-initiator.py');

export class PythonInitiator {
  readonly #child: ChildProcess;
  readonly #waiting = new Map<number, (a: Record<string, unknown>) => void>();
  #next = 1;

  constructor(
    env: Readonly<Record<string, string>> | { readonly KRB5_CONFIG: string; readonly KRB5CCNAME: string },
  ) {
    this.#child = spawn('/usr/bin/python3', [SCRIPT], {
      env: { ...process.env, ...env },
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    createInterface({ input: this.#child.stdout! }).on('line', (line) => {
      const a = JSON.parse(line) as Record<string, unknown>;
      this.#waiting.get(a['id'] as number)?.(a);
    });
  }

  async #call(req: Record<string, unknown>): Promise<Record<string, unknown>> {
    const id = this.#next++;
    const a = await new Promise<Record<string, unknown>>((resolve) => {
      this.#waiting.set(id, resolve);
      this.#child.stdin!.write(`${JSON.stringify({ ...req, id })}\n`);
    });
    if (a['ok'] !== true) throw new Error(String(a['error']));
    return a;
  }

  /** Starts a context; with `ntlm`, SPNEGO offers only NTLMSSP (gss-ntlmssp) with that password. */
  async init(
    target: string,
    mech: 'krb5' | 'spnego',
    ntlm?: { readonly user: string; readonly password: string },
  ): Promise<Buffer> {
    const extra = ntlm ? { ntlmUser: ntlm.user, password: ntlm.password } : {};
    return Buffer.from(String((await this.#call({ op: 'init', target, mech, ...extra }))['token']), 'base64');
  }

  async step(token: Uint8Array): Promise<{ token: Buffer; complete: boolean }> {
    const a = await this.#call({ op: 'step', token: Buffer.from(token).toString('base64') });
    return { token: Buffer.from(String(a['token']), 'base64'), complete: a['complete'] === true };
  }

  /** gss_wrap with confidentiality: an RFC 4121 Wrap token, RRC 0. */
  async wrap(data: Uint8Array): Promise<Buffer> {
    const a = await this.#call({ op: 'wrap', data: Buffer.from(data).toString('base64') });
    return Buffer.from(String(a['token']), 'base64');
  }

  async unwrap(token: Uint8Array): Promise<Buffer> {
    const a = await this.#call({ op: 'unwrap', token: Buffer.from(token).toString('base64') });
    return Buffer.from(String(a['data']), 'base64');
  }

  close(): void {
    this.#child.stdin!.end();
  }
}
