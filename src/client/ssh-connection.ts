/**
 * PSRP over SSH, as PowerShell 7's `Enter-PSSession -HostName`: an SSH session to the server runs
 * the `powershell` subsystem (`Subsystem powershell /usr/bin/pwsh -sshs` in sshd_config), which
 * speaks PowerShell's out-of-process packets over the channel (stderr carries
 * `__NamedPipeError__:` diagnostics). The SSH side is the optional `ssh2` package, loaded on first
 * use. The server's host key is verified against OpenSSH's known_hosts file by default.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { homedir, userInfo } from 'node:os';
import { join } from 'node:path';
import type { Duplex, Readable } from 'node:stream';
import { AuthenticationError, InvalidArgumentError, PsrpError, TransportError } from '../errors.js';
import {
  knownKeyTypes,
  parseKnownHosts,
  verifyHostKey,
  type HostKeyVerdict,
  type KnownHostsEntry,
} from './known-hosts.js';
import { OutOfProcConnection } from './outofproc-connection.js';

/** A keyboard-interactive prompt from the server. */
export interface SshPrompt {
  readonly prompt: string;
  /** Whether the answer may be shown as typed. */
  readonly echo: boolean;
}

/** How to reach and authenticate to an SSH server running PowerShell's `powershell` subsystem. */
export interface SshOptions {
  readonly host: string;
  /** Default 22. */
  readonly port?: number | undefined;
  /** Default: the local user's name. */
  readonly username?: string | undefined;
  /** A private key (OpenSSH or PEM text). */
  readonly privateKey?: string | Uint8Array | undefined;
  /** A file holding the private key (read at connect). */
  readonly privateKeyPath?: string | undefined;
  /** The private key's passphrase. */
  readonly passphrase?: string | undefined;
  /** An ssh-agent socket, or `true` for `SSH_AUTH_SOCK`. */
  readonly agent?: string | boolean | undefined;
  readonly password?: string | undefined;
  /** Answers keyboard-interactive prompts (one answer per prompt). */
  readonly keyboardInteractive?:
    | ((
        prompts: readonly SshPrompt[],
        instructions: string,
      ) => readonly string[] | Promise<readonly string[]>)
    | undefined;
  /** OpenSSH known_hosts file to verify the server's key against. Default `~/.ssh/known_hosts`. */
  readonly knownHostsFile?: string | undefined;
  /**
   * `false` accepts any host key, as `ssh -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null`:
   * anyone who can intercept the connection can impersonate the server. Default `true`.
   */
  readonly verifyHostKey?: boolean | undefined;
  /** The SSH subsystem that runs `pwsh -sshs`. Default `powershell`. */
  readonly subsystem?: string | undefined;
  /** Milliseconds for the TCP connect, the SSH handshake and authentication. Default 20000. */
  readonly readyTimeoutMs?: number | undefined;
  /** Milliseconds to wait for each out-of-process Ack. Default 60000. */
  readonly ackTimeoutMs?: number | undefined;
  /** Cancels connecting. */
  readonly signal?: AbortSignal | undefined;
}

// The slice of ssh2's API used here (the package is optional; its types are not part of ours).
interface Ssh2Channel extends Duplex {
  readonly stderr: Readable;
}
interface Ssh2Client {
  on(event: 'ready' | 'close', cb: () => void): this;
  on(event: 'error', cb: (err: Error & { level?: string }) => void): this;
  on(
    event: 'keyboard-interactive',
    cb: (
      name: string,
      instructions: string,
      lang: string,
      prompts: SshPrompt[],
      finish: (answers: string[]) => void,
    ) => void,
  ): this;
  connect(config: Record<string, unknown>): this;
  subsys(name: string, cb: (err: Error | undefined, channel: Ssh2Channel) => void): this;
  end(): this;
  destroy(): this;
}
type Ssh2Module = { Client: new () => Ssh2Client };

/** Loads the optional `ssh2` package (`name`: for tests), or explains how to get it. */
export async function loadSsh2(name = 'ssh2'): Promise<Ssh2Module> {
  try {
    const mod = (await import(name)) as Partial<Ssh2Module> & { default?: Ssh2Module };
    return typeof mod.Client === 'function' ? (mod as Ssh2Module) : mod.default!;
  } catch (cause) {
    throw new PsrpError(
      'PowerShell over SSH needs the optional `ssh2` package, which is not installed: npm install ssh2',
      {
        code: 'PSRP_SSH_UNAVAILABLE',
        cause,
      },
    );
  }
}

/** OpenSSH's fingerprint of a public key blob: `SHA256:` and unpadded base64. */
export function sshFingerprint(key: Uint8Array): string {
  return `SHA256:${createHash('sha256').update(key).digest('base64').replace(/=+$/, '')}`;
}

/** The key type named at the start of a public key blob (RFC 4253 6.6). */
function blobKeyType(key: Uint8Array): string {
  const b = Buffer.from(key);
  if (b.length < 4) return 'unknown';
  const n = b.readUInt32BE(0);
  return n > 0 && n < 64 && b.length >= 4 + n ? b.subarray(4, 4 + n).toString('latin1') : 'unknown';
}

/** What ssh2 offers by default, in its order; known types for the host go first (as ssh does). */
const HOST_KEY_ALGORITHMS = [
  'ssh-ed25519',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'rsa-sha2-512',
  'rsa-sha2-256',
  'ssh-rsa',
];

function hostKeyOrder(types: readonly string[]): string[] {
  const first = types
    .flatMap((t) => (t === 'ssh-rsa' ? ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'] : [t]))
    .filter((t) => HOST_KEY_ALGORITHMS.includes(t));
  return [...new Set([...first, ...HOST_KEY_ALGORITHMS])];
}

function defaultKeyFile(): string | undefined {
  return ['id_ed25519', 'id_ecdsa', 'id_rsa']
    .map((f) => join(homedir(), '.ssh', f))
    .find((f) => existsSync(f));
}

function hostKeyError(verdict: HostKeyVerdict, label: string, key: Uint8Array, file: string): PsrpError {
  const fp = `${blobKeyType(key)} ${sshFingerprint(key)}`;
  if (verdict.kind === 'unknown') {
    return new TransportError(`The SSH host key of ${label} (${fp}) is not in ${file}`, {
      code: 'PSRP_SSH_HOST_KEY_UNKNOWN',
      hint: `Check the fingerprint with the server's administrator, then add the key: ssh-keyscan -p <port> <host> >> ${file} (or connect once with ssh). verifyHostKey: false turns the check off (insecure).`,
    });
  }
  if (verdict.kind === 'revoked') {
    return new TransportError(
      `The SSH host key of ${label} (${fp}) is marked @revoked in ${file} (line ${verdict.line})`,
      {
        code: 'PSRP_SSH_HOST_KEY_MISMATCH',
      },
    );
  }
  const lines = verdict.kind === 'mismatch' ? verdict.known.map((k) => k.line).join(', ') : '';
  return new TransportError(
    `The SSH host key of ${label} (${fp}) differs from the one in ${file} (line ${lines}): the server's key changed, or someone is intercepting the connection`,
    {
      code: 'PSRP_SSH_HOST_KEY_MISMATCH',
      hint: `If the server's key really changed, remove the old entry: ssh-keygen -R <host> -f ${file}`,
    },
  );
}

/** PSRP over an SSH channel to the `powershell` subsystem. Open it with `SshConnection.connect()`. */
export class SshConnection extends OutOfProcConnection {
  /** `ssh://user@host:port`. */
  readonly target: string;

  private constructor(
    channel: Ssh2Channel,
    client: Ssh2Client,
    target: string,
    subsystem: string,
    ackTimeoutMs: number | undefined,
  ) {
    super({
      stream: channel,
      stderr: channel.stderr,
      peer: `${target} (subsystem ${subsystem})`,
      closedCode: 'PSRP_CONNECTION_FAILED',
      ackTimeoutMs,
      dispose: () =>
        new Promise<void>((resolve) => {
          client.on('close', resolve);
          client.end();
          setTimeout(() => {
            client.destroy();
            resolve();
          }, 2000).unref();
        }),
    });
    this.target = target;
  }

  /** Connects, verifies the host key, authenticates and starts the subsystem. */
  static async connect(options: SshOptions): Promise<SshConnection> {
    if (!options.host) throw new InvalidArgumentError('SSH needs a `host`');
    const port = options.port ?? 22;
    if (!Number.isInteger(port) || port < 1 || port > 65535)
      throw new InvalidArgumentError(`Not a TCP port: ${port}`);
    const username = options.username ?? userInfo().username;
    const subsystem = options.subsystem ?? 'powershell';
    const target = `ssh://${username}@${options.host}${port === 22 ? '' : `:${port}`}`;
    const verify = options.verifyHostKey ?? true;
    const knownHostsFile = options.knownHostsFile ?? join(homedir(), '.ssh', 'known_hosts');
    const entries = verify ? readKnownHosts(knownHostsFile) : [];

    const { privateKey, agent } = clientIdentity(options);

    const ssh2 = await loadSsh2();
    options.signal?.throwIfAborted();
    const client = new ssh2.Client();
    let hostKeyFailure: PsrpError | undefined;
    const config: Record<string, unknown> = {
      host: options.host,
      port,
      username,
      readyTimeout: options.readyTimeoutMs ?? 20_000,
      keepaliveInterval: 0,
      hostVerifier: (key: Buffer): boolean => {
        if (!verify) return true;
        const verdict = verifyHostKey(entries, options.host, port, key);
        if (verdict.kind === 'match') return true;
        hostKeyFailure = hostKeyError(verdict, target, key, knownHostsFile);
        return false;
      },
      algorithms: { serverHostKey: hostKeyOrder(verify ? knownKeyTypes(entries, options.host, port) : []) },
      ...(privateKey !== undefined ? { privateKey } : {}),
      ...(options.passphrase !== undefined ? { passphrase: options.passphrase } : {}),
      ...(agent ? { agent } : {}),
      ...(options.password !== undefined ? { password: options.password } : {}),
      ...(options.keyboardInteractive ? { tryKeyboard: true } : {}),
    };
    if (options.keyboardInteractive) {
      const answer = options.keyboardInteractive;
      client.on('keyboard-interactive', (_name, instructions, _lang, prompts, finish) => {
        void Promise.resolve()
          .then(() =>
            answer(
              prompts.map((p) => ({ prompt: p.prompt, echo: p.echo })),
              instructions,
            ),
          )
          .then(
            (a) => finish([...a]),
            () => finish([]),
          );
      });
    }

    const channel = await new Promise<Ssh2Channel>((resolve, reject) => {
      let settled = false;
      const settle = (err: Error | undefined, ch?: Ssh2Channel): void => {
        if (settled) return;
        settled = true;
        options.signal?.removeEventListener('abort', onAbort);
        if (err) {
          client.destroy();
          reject(err);
        } else resolve(ch!);
      };
      const onAbort = (): void => settle(options.signal!.reason as Error);
      options.signal?.addEventListener('abort', onAbort, { once: true });
      client.on('error', (err) => settle(hostKeyFailure ?? mapSshError(err, target, options)));
      client.on('close', () =>
        settle(
          hostKeyFailure ??
            new TransportError(`${target} closed the SSH connection during setup`, {
              code: 'PSRP_CONNECTION_FAILED',
            }),
        ),
      );
      client.on('ready', () => {
        client.subsys(subsystem, (err, ch) => {
          if (err) {
            settle(
              new TransportError(`${target} did not start the SSH subsystem "${subsystem}": ${err.message}`, {
                code: 'PSRP_SSH_SUBSYSTEM_FAILED',
                hint: `The server's sshd_config needs: Subsystem ${subsystem} /usr/bin/pwsh -sshs -NoLogo (then restart sshd)`,
                cause: err,
              }),
            );
          } else settle(undefined, ch);
        });
      });
      try {
        client.connect(config);
      } catch (e) {
        settle(mapSshError(e as Error, target, options));
      }
    });
    return new SshConnection(channel, client, target, subsystem, options.ackTimeoutMs);
  }
}

function mapSshError(
  err: Error & { level?: string; code?: string },
  target: string,
  options: SshOptions,
): PsrpError {
  const msg = err.message;
  if (/privateKey|passphrase|private key/i.test(msg) && err.level === undefined) {
    return new InvalidArgumentError(`The SSH private key cannot be used: ${msg}`, {
      code: 'PSRP_SSH_KEY_INVALID',
      cause: err,
    });
  }
  if (err.level === 'client-authentication') {
    const tried = [
      options.privateKey !== undefined || options.privateKeyPath !== undefined ? 'publickey' : undefined,
      options.agent ? 'agent' : undefined,
      options.password !== undefined ? 'password' : undefined,
      options.keyboardInteractive ? 'keyboard-interactive' : undefined,
    ].filter(Boolean);
    return new AuthenticationError(
      `${target} refused SSH authentication${tried.length ? ` (tried ${tried.join(', ')})` : ''}`,
      {
        mechanism: 'ssh',
        code: 'PSRP_SSH_AUTH_FAILED',
        hint: "Check the user name, that the public key is in the server account's authorized_keys, or the password; sshd's log says which methods it allows.",
        cause: err,
      },
    );
  }
  if (err.level === 'client-timeout') {
    return new TransportError(`${target}: no SSH handshake within ${options.readyTimeoutMs ?? 20_000} ms`, {
      code: 'PSRP_TIMEOUT',
      cause: err,
    });
  }
  return new TransportError(`Cannot connect to ${target}: ${msg}`, {
    code: 'PSRP_CONNECTION_FAILED',
    cause: err,
  });
}

/** The known_hosts entries (none when the file does not exist). */
function readKnownHosts(knownHostsFile: string): readonly KnownHostsEntry[] {
  try {
    return parseKnownHosts(readFileSync(knownHostsFile, 'utf8'));
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new InvalidArgumentError(
        `Cannot read the known_hosts file ${knownHostsFile}: ${(cause as Error).message}`,
        { cause },
      );
    }
  }
  return [];
}

/** The key and agent to authenticate with: the options', else as ssh the agent and the first default identity file. */
function clientIdentity(options: SshOptions): {
  privateKey: string | Buffer | undefined;
  agent: string | undefined;
} {
  let privateKey: string | Buffer | undefined =
    options.privateKey === undefined
      ? undefined
      : typeof options.privateKey === 'string'
        ? options.privateKey
        : Buffer.from(options.privateKey);
  if (options.privateKeyPath !== undefined) {
    try {
      privateKey = readFileSync(options.privateKeyPath);
    } catch (cause) {
      throw new InvalidArgumentError(
        `Cannot read the private key file ${options.privateKeyPath}: ${(cause as Error).message}`,
        { cause },
      );
    }
  }
  const explicit =
    privateKey !== undefined ||
    options.password !== undefined ||
    options.agent !== undefined ||
    options.keyboardInteractive !== undefined;
  let agent = options.agent === true ? process.env['SSH_AUTH_SOCK'] : options.agent || undefined;
  if (!explicit) {
    // As ssh: the agent, then the first default identity file.
    agent = process.env['SSH_AUTH_SOCK'];
    const file = defaultKeyFile();
    if (file) privateKey = readFileSync(file);
  }
  if (options.agent === true && !agent)
    throw new InvalidArgumentError('agent: true, but SSH_AUTH_SOCK is not set');
  return { privateKey, agent };
}
