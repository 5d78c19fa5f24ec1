/**
 * What every `psrp` subcommand that talks to a server shares: the target (`https://...` or a bare
 * Exchange server name), the connection flags, and the credentials (flags, PSRP_USER/PSRP_PASSWORD,
 * or a prompt on a terminal that never echoes the password).
 */
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import { readFileSync } from 'node:fs';
import type { ConnectExchangeOptions } from '../exchange/index.js';
import { InvalidArgumentError, type AuthOption, type SshOptions } from '../index.js';

export interface CliIo {
  readonly stdout: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  readonly stderr: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  readonly env: NodeJS.ProcessEnv;
  readonly stdin?: NodeJS.ReadableStream & { isTTY?: boolean };
}

/** Flags that take no value. */
const BOOLEAN_FLAGS = new Set([
  'json',
  'skip-certificate-check',
  'allow-redirection',
  'allow-unencrypted',
  'no-color',
  'color',
  'quiet',
  'help',
  'unsupported-beta-invoke-command',
  'ssh',
  'no-host-key-check',
  'trace',
]);

export interface ParsedArgs {
  readonly target?: string;
  readonly flags: ReadonlyMap<string, string | true>;
  /** Everything after `--`, joined with spaces. */
  readonly rest: string;
}

export function parseArgs(argv: readonly string[]): ParsedArgs {
  const dd = argv.indexOf('--');
  const head = dd >= 0 ? argv.slice(0, dd) : argv;
  const rest = dd >= 0 ? argv.slice(dd + 1).join(' ') : '';
  const flags = new Map<string, string | true>();
  let target: string | undefined;
  for (let i = 0; i < head.length; i++) {
    const a = head[i]!;
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const name = eq > 0 ? a.slice(2, eq) : a.slice(2);
      if (eq > 0) flags.set(name, a.slice(eq + 1));
      else if (BOOLEAN_FLAGS.has(name)) flags.set(name, true);
      else flags.set(name, head[++i] ?? '');
    } else target ??= a;
  }
  return { ...(target !== undefined ? { target } : {}), flags, rest };
}

export const flag = (args: ParsedArgs, name: string): string | undefined => {
  const v = args.flags.get(name);
  return typeof v === 'string' ? v : undefined;
};

/** Reads a line without echoing it (for passwords). */
export async function promptHidden(question: string, io: CliIo): Promise<string> {
  let muted = false;
  const out = new Writable({
    write(chunk: Buffer, _enc, cb): void {
      if (!muted) io.stderr.write(chunk);
      cb();
    },
  });
  const rl = createInterface({ input: io.stdin ?? process.stdin, output: out, terminal: true });
  const answer = new Promise<string>((resolve) => rl.question(question, resolve));
  muted = true;
  const value = await answer;
  rl.close();
  io.stderr.write('\n');
  return value;
}

/** The credential from flags, the environment or a prompt; a string is a usage error to print. */
export async function resolveCredential(
  args: ParsedArgs,
  io: CliIo,
  command: string,
): Promise<{ username: string; password: string } | string> {
  const username = flag(args, 'user') ?? io.env['PSRP_USER'];
  let password = flag(args, 'password') ?? io.env['PSRP_PASSWORD'];
  if (!username) return `psrp ${command}: no user: pass --user or set PSRP_USER`;
  if (password === undefined) {
    if (!io.stdin?.isTTY)
      return `psrp ${command}: no password: pass --password, set PSRP_PASSWORD, or run on a terminal to be asked`;
    password = await promptHidden(`Password for ${username}: `, io);
  }
  return { username, password };
}

/** `--auth` values. */
export const AUTH_METHODS = ['basic', 'ntlm', 'negotiate', 'kerberos'] as const;

/**
 * The `auth` option from `--auth` (default basic) and the credential: Basic and NTLM need a user
 * and password; Negotiate takes them for its NTLM fallback when given; Kerberos uses the ticket
 * cache (kinit). Returns a usage error string instead when something is missing.
 */
export async function resolveAuthOption(
  args: ParsedArgs,
  io: CliIo,
  command: string,
): Promise<{ readonly auth: AuthOption; readonly who: string } | string> {
  const method = (flag(args, 'auth') ?? io.env['PSRP_AUTH'] ?? 'basic').toLowerCase();
  if (!(AUTH_METHODS as readonly string[]).includes(method))
    return `psrp ${command}: --auth must be one of ${AUTH_METHODS.join(', ')}`;
  const hostname = flag(args, 'spn-host');
  const target = hostname !== undefined ? { hostname } : {};
  if (method === 'kerberos') return { auth: { method: 'kerberos', ...target }, who: 'the Kerberos ticket' };
  if (method === 'negotiate' && (flag(args, 'user') ?? io.env['PSRP_USER']) === undefined)
    return { auth: { method: 'negotiate', ...target }, who: 'the Kerberos ticket' };
  const credential = await resolveCredential(args, io, command);
  if (typeof credential === 'string') return credential;
  const auth: AuthOption =
    method === 'basic'
      ? credential
      : method === 'ntlm'
        ? { method: 'ntlm', ...credential }
        : { method: 'negotiate', ...target, ...credential };
  return { auth, who: credential.username };
}

/** What a connecting command has once its preamble passed: its flags (with a target) and how to authenticate. */
export interface CommandStart {
  readonly args: ParsedArgs & { readonly target: string };
  readonly authentication: { readonly auth: AuthOption; readonly who: string };
}

/**
 * The preamble the connecting commands share: parse the arguments, print the usage and stop (exit
 * code 2) unless there is a target and `fits` accepts them, stop with `check`'s message (2) when it
 * has one, then resolve `--auth` and the credential (flags, environment, a prompt on a terminal),
 * stopping with the reason (2) when something is missing. Returns the exit code when the command
 * must stop here.
 */
export async function startCommand(
  command: string,
  usage: string,
  argv: readonly string[],
  io: CliIo,
  options: {
    readonly fits?: (args: ParsedArgs & { readonly target: string }) => boolean;
    readonly check?: (args: ParsedArgs & { readonly target: string }) => string | undefined;
  } = {},
): Promise<CommandStart | number> {
  const parsed = parseArgs(argv);
  const target = parsed.target;
  if (target === undefined || target === '' || options.fits?.({ ...parsed, target }) === false) {
    io.stderr.write(`${usage}\n`);
    return 2;
  }
  const args = { ...parsed, target };
  const problem = options.check?.(args);
  if (problem !== undefined) {
    io.stderr.write(`psrp ${command}: ${problem}\n`);
    return 2;
  }
  const authentication = await resolveAuthOption(args, io, command);
  if (typeof authentication === 'string') {
    io.stderr.write(`${authentication}\n`);
    return 2;
  }
  return { args, authentication };
}

export const isUri = (target: string): boolean => /^https?:\/\//i.test(target);

/** A usage error for a target that is neither a URL nor a bare server name (`host:5986`, `host/wsman`). */
export function checkTarget(target: string): string | undefined {
  if (isUri(target)) return undefined;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(target))
    return `${target}: only https:// and http:// URLs, e.g. https://server:5986/wsman`;
  if (/[:/]/.test(target)) {
    const [host, rest] = target.split(/(?=[:/])/, 2) as [string, string | undefined];
    return `${target} is neither a URL nor a bare server name: give the full URL, e.g. https://${host}${rest?.startsWith(':') ? rest.split('/')[0] : ''}${rest?.includes('/') ? `/${rest.split('/').slice(1).join('/')}` : '/wsman'} (WinRM) or https://${host}/PowerShell/ (Exchange), or just ${host} for Exchange`;
  }
  return undefined;
}

/** The session configuration for a target: Exchange for a bare name or a /PowerShell path, else Microsoft.PowerShell. */
export const defaultConfiguration = (target: string): string =>
  !isUri(target) || /^\/powershell\/?$/i.test(new URL(target).pathname)
    ? 'Microsoft.Exchange'
    : 'Microsoft.PowerShell';

/** Library option names in a message or hint, as the CLI flags that set them. */
export function cliWords(text: string): string {
  return text
    .replace(/\bset `?allowUnencrypted(?:: true)?`?/g, 'pass --allow-unencrypted')
    .replace(/`?allowUnencrypted(?:: true)?`?/g, '--allow-unencrypted')
    .replace(/`?skipCertificateCheck(?:: true)?`?/g, '--skip-certificate-check')
    .replace(/`?allowRedirection(?:: true)?`?/g, '--allow-redirection')
    .replace(/\bwith `ca`/g, 'with --ca FILE')
    .replace(/`ca`(?: option)?/g, '--ca FILE')
    .replace(/\bproxy: "([^"]+)"/g, '--proxy $1')
    .replace(/`?verifyHostKey: false`?/g, '--no-host-key-check')
    .replace(
      /the `proxy` option or HTTPS_PROXY\/HTTP_PROXY/g,
      '--proxy URL, or HTTPS_PROXY/HTTP_PROXY with --proxy env',
    );
}

/** Whether the target is PowerShell over SSH: `ssh://[user@]host[:port]`, or any target with `--ssh`. */
export const isSshTarget = (args: ParsedArgs): boolean =>
  args.flags.get('ssh') === true || /^ssh:\/\//i.test(args.target ?? '');

/**
 * SSH options from `ssh://[user@]host[:port]` (or `[user@]host[:port]` with `--ssh`) and the flags
 * `--identity FILE`, `--passphrase P` (or PSRP_SSH_PASSPHRASE), `--password P` (or PSRP_PASSWORD),
 * `--known-hosts FILE`, `--no-host-key-check`, `--subsystem NAME`; the user defaults to `--user`,
 * PSRP_USER, then the local user. Without a key or password: the agent and ~/.ssh/id_*, as ssh.
 * Returns a usage error string instead when the target is malformed.
 */
export function sshOptions(
  args: ParsedArgs & { readonly target: string },
  io: CliIo,
  command: string,
): SshOptions | string {
  const m = /^(?:ssh:\/\/)?(?:([^@/]+)@)?(\[[^\]]+\]|[^:/@]+)(?::(\d+))?\/?$/i.exec(args.target);
  if (!m) return `psrp ${command}: not an SSH target: ${args.target} (ssh://[user@]host[:port])`;
  const host = m[2]!.replace(/^\[|\]$/g, '');
  const username =
    (m[1] !== undefined ? decodeURIComponent(m[1]) : undefined) ?? flag(args, 'user') ?? io.env['PSRP_USER'];
  const identity = flag(args, 'identity');
  const passphrase = flag(args, 'passphrase') ?? io.env['PSRP_SSH_PASSPHRASE'];
  const password = flag(args, 'password') ?? io.env['PSRP_PASSWORD'];
  const knownHosts = flag(args, 'known-hosts');
  const subsystem = flag(args, 'subsystem');
  return {
    host,
    ...(m[3] !== undefined ? { port: Number(m[3]) } : {}),
    ...(username !== undefined ? { username } : {}),
    ...(identity !== undefined ? { privateKeyPath: identity } : {}),
    ...(passphrase !== undefined ? { passphrase } : {}),
    ...(password !== undefined ? { password } : {}),
    ...(knownHosts !== undefined ? { knownHostsFile: knownHosts } : {}),
    ...(subsystem !== undefined ? { subsystem } : {}),
    ...(args.flags.get('no-host-key-check') === true ? { verifyHostKey: false } : {}),
  };
}

/** `--ca FILE` as the `ca` option (the file's PEM text), or nothing without the flag; a clear error for a file that is not one. */
export function caOption(args: ParsedArgs): { readonly ca?: string } {
  const ca = flag(args, 'ca');
  if (ca === undefined) return {};
  let caPem: string;
  try {
    caPem = readFileSync(ca, 'utf8');
  } catch (e) {
    throw new InvalidArgumentError(
      `--ca ${ca}: cannot read the CA certificate file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); --ca takes a PEM file`,
    );
  }
  if (!caPem.includes('-----BEGIN CERTIFICATE-----'))
    throw new InvalidArgumentError(`--ca ${ca}: not a PEM certificate file (no -----BEGIN CERTIFICATE-----)`);
  return { ca: caPem };
}

/** connectExchange options from the parsed flags (without the credential). */
export function connectionOptions(
  args: ParsedArgs & { readonly target: string },
): Omit<ConnectExchangeOptions, 'credential' | 'auth'> {
  // --proxy URL (credentials in it), or --proxy env for HTTPS_PROXY/HTTP_PROXY/NO_PROXY.
  const proxy = flag(args, 'proxy');
  return {
    ...(proxy !== undefined ? { proxy } : {}),
    ...(isUri(args.target) ? { uri: args.target } : { server: args.target }),
    ...caOption(args),
    skipCertificateCheck: args.flags.get('skip-certificate-check') === true,
    allowRedirection: args.flags.get('allow-redirection') === true,
    ...(args.flags.get('allow-unencrypted') === true ? { allowUnencrypted: true } : {}),
  };
}

/** Colours only on a terminal, and never with NO_COLOR or --no-color (https://no-color.org). */
export function useColour(stream: { isTTY?: boolean }, io: CliIo, args?: ParsedArgs): boolean {
  if (args?.flags.get('no-color') === true || (io.env['NO_COLOR'] ?? '') !== '') return false;
  if (args?.flags.get('color') === true || (io.env['FORCE_COLOR'] ?? '') !== '') return true;
  return stream.isTTY === true;
}

/** Wraps text in ANSI colour codes, or returns it unchanged when `on` is false. */
export interface Paint {
  readonly red: (s: string) => string;
  readonly green: (s: string) => string;
  readonly yellow: (s: string) => string;
  readonly dim: (s: string) => string;
  readonly bold: (s: string) => string;
}

export function paint(on: boolean): Paint {
  const wrap =
    (code: number, reset: number) =>
    (s: string): string =>
      on ? `\x1b[${code}m${s}\x1b[${reset}m` : s;
  return {
    red: wrap(31, 39),
    green: wrap(32, 39),
    yellow: wrap(33, 39),
    dim: wrap(2, 22),
    bold: wrap(1, 22),
  };
}

/** `message [code]` of any thrown value, then its hint on the next line, in CLI flags (--ca, not `ca`). */
export function describeError(e: unknown): string {
  const err = e as Error & { code?: string; hint?: string };
  const hint = typeof err.hint === 'string' && err.hint !== '' ? `\n  ${cliWords(err.hint)}` : '';
  return `${cliWords(err.message)}${err.code ? ` [${err.code}]` : ''}${hint}`;
}
