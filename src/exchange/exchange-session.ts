/**
 * connectExchange: a session on Exchange Remote PowerShell, built only on the public API.
 *
 * It builds `https://<server>/PowerShell/` with configuration `Microsoft.Exchange` and the
 * connection-URI options Exchange reads (research A6: `serializationLevel`, `ExchClientVer`,
 * `DelegatedOrg`, `email`, `TargetServer`, separated by `;` or `&`), and runs commands the only
 * way a NoLanguage endpoint allows: Command objects, several of them as one server-side pipeline.
 */
import {
  InvalidArgumentError,
  RunspacePool,
  type InvokeResult,
  type PipelineRecord,
  type PowerShell,
  type RunOptions,
  type RunspacePoolOptions,
  type AuthOption,
} from '../index.js';
import { parseCommandLine, type ParsedCommand, type ParseCommandLineOptions } from './command-line.js';
import { toExchangeValues } from './exchange-values.js';
import type { ExchangeCommandSession, ExchangeParameters } from './exchange-command-session.js';

export type { ExchangeParameters } from './exchange-command-session.js';

export interface ConnectExchangeOptions extends Omit<
  RunspacePoolOptions,
  'uri' | 'configurationName' | 'auth'
> {
  /** Server (CAS or load-balanced) name: `https://<server>/PowerShell/` is used. */
  readonly server?: string | undefined;
  /** Or the full URI (e.g. a lab, or http:// with Kerberos later). */
  readonly uri?: string | URL | undefined;
  /** Basic credentials (`DOMAIN\\user` or UPN): Exchange's /PowerShell over https. Or give `auth`. */
  readonly credential?: { readonly username: string; readonly password: string } | undefined;
  /**
   * Any other authentication (`{ method: 'negotiate' | 'kerberos' | 'ntlm', ... }`, an
   * Authenticator), for example Kerberos to `http://<server>/PowerShell/` inside the network, where
   * every message is then encrypted (docs/auth.md). Overrides `credential`.
   */
  readonly auth?: AuthOption | undefined;
  /** `Partial` (Exchange's default), `None` or `Full`. Leave unset unless you need it. */
  readonly serializationLevel?: 'Partial' | 'None' | 'Full' | undefined;
  /** Route to a back end of this version (`15.2.1544.4`). */
  readonly exchClientVer?: string | undefined;
  /** Partner / delegated administration into a tenant organisation. */
  readonly delegatedOrg?: string | undefined;
  /** Routing hint (an SMTP address in the target organisation). */
  readonly email?: string | undefined;
  /** Route to this back-end server. */
  readonly targetServer?: string | undefined;
  /**
   * Session configuration. Default `Microsoft.Exchange`; another one (e.g. `Microsoft.PowerShell`
   * on `/wsman`) runs the same command lines against any PowerShell endpoint (`psrp exec`).
   */
  readonly configurationName?: string | undefined;
  /** Convert Exchange value shapes in output (sizes, Unlimited, time spans, ADObjectId: see toExchangeValues). Default true. */
  readonly convertValues?: boolean | undefined;
}

/** The URL connectExchange connects to, with Exchange's connection-URI options. */
export function exchangeUri(
  options: Pick<
    ConnectExchangeOptions,
    'server' | 'uri' | 'serializationLevel' | 'exchClientVer' | 'delegatedOrg' | 'email' | 'targetServer'
  >,
): URL {
  let url: URL;
  if (options.uri !== undefined) url = new URL(options.uri);
  else if (options.server) {
    if (/[/:@?#\s]/.test(options.server))
      throw new InvalidArgumentError(`server must be a host name, not a URL: ${options.server}`);
    url = new URL(`https://${options.server}/PowerShell/`);
  } else throw new InvalidArgumentError('connectExchange needs `server` or `uri`');
  const params: [string, string | undefined][] = [
    ['serializationLevel', options.serializationLevel],
    ['ExchClientVer', options.exchClientVer],
    ['DelegatedOrg', options.delegatedOrg],
    ['email', options.email],
    ['TargetServer', options.targetServer],
  ];
  if (options.exchClientVer !== undefined && !/^\d{2}\.\d+\.\d+\.\d+$/.test(options.exchClientVer)) {
    throw new InvalidArgumentError(`ExchClientVer must look like 15.2.1544.4, got ${options.exchClientVer}`);
  }
  for (const [k, v] of params) if (v !== undefined) url.searchParams.set(k, v);
  return url;
}

export class ExchangeSession implements ExchangeCommandSession {
  constructor(
    readonly pool: RunspacePool,
    private readonly convertValues = true,
  ) {}

  private values(r: InvokeResult): InvokeResult {
    // In place: the result is ours, and keeps its JSON-safe toJSON().
    if (this.convertValues) r.output.forEach((o, i) => (r.output[i] = toExchangeValues(o)));
    return r;
  }

  private build(
    commands:
      | readonly ParsedCommand[]
      | { readonly name: string; readonly parameters?: ExchangeParameters | undefined },
  ): PowerShell {
    const ps = this.pool.powershell();
    if ('name' in commands) {
      ps.addCommand(commands.name);
      if (commands.parameters) ps.addParameters(commands.parameters);
      return ps;
    }
    for (const c of commands) {
      ps.addCommand(c.name);
      for (const a of c.arguments) {
        if (a.name === null) ps.addArgument(a.value);
        else ps.addParameter(a.name, a.value);
      }
    }
    return ps;
  }

  /** Runs one cmdlet and collects every stream: `invoke('Get-Mailbox', { ResultSize: 10 })`. */
  async invoke(name: string, parameters?: ExchangeParameters, options?: RunOptions): Promise<InvokeResult> {
    return this.values(await this.build({ name, parameters }).invoke(options));
  }

  /**
   * Streams one cmdlet's output: `for await (const m of ex.stream('Get-Mailbox', { ResultSize: 'Unlimited' }))`.
   * Non-terminating errors ("couldn't be found") are not output: pass `onError` to receive them as
   * they arrive, or `errorAction: 'stop'` to throw on the first (`PSRP_PIPELINE_ERROR_RECORD`).
   */
  async *stream<T = Record<string, unknown>>(
    name: string,
    parameters?: ExchangeParameters,
    options?: RunOptions,
  ): AsyncGenerator<T, void, undefined> {
    for await (const o of this.build({ name, parameters }).output(options))
      yield (this.convertValues ? toExchangeValues(o) : o) as T;
  }

  /** Every record (all streams) of one cmdlet as it arrives. */
  records(
    name: string,
    parameters?: ExchangeParameters,
    options?: RunOptions,
  ): AsyncGenerator<PipelineRecord, void, undefined> {
    return this.build({ name, parameters }).stream(options);
  }

  /**
   * Runs a command line as one server-side pipeline of Command objects, never script text:
   * `run("Get-Mailbox -Filter \"Office -eq 'Paris'\" | Set-Mailbox -HiddenFromAddressListsEnabled $true")`.
   */
  async run(commandLine: string, options: RunOptions & ParseCommandLineOptions = {}): Promise<InvokeResult> {
    // Parse errors reject like server errors do (the caller awaits either way).
    const commands = parseCommandLine(commandLine, options);
    return this.values(await this.build(commands).invoke(options));
  }

  /**
   * Every record (all streams) of a command line as it arrives, output values converted like
   * `stream`: what `psrp exec` draws its progress bar from.
   */
  async *runRecords(
    commandLine: string,
    options: RunOptions & ParseCommandLineOptions = {},
  ): AsyncGenerator<PipelineRecord, void, undefined> {
    const commands = parseCommandLine(commandLine, options);
    for await (const r of this.build(commands).stream(options)) {
      yield r.stream === 'output' && this.convertValues
        ? { stream: 'output', value: toExchangeValues(r.value) }
        : r;
    }
  }

  close(): Promise<void> {
    return this.pool.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/** Opens a session on Exchange Remote PowerShell (Basic over HTTPS). */
export async function connectExchange(options: ConnectExchangeOptions): Promise<ExchangeSession> {
  const {
    server: _server,
    credential,
    serializationLevel: _s,
    exchClientVer: _v,
    delegatedOrg: _d,
    email: _e,
    targetServer: _t,
    convertValues,
    auth,
    ...rest
  } = options;
  if (auth === undefined && credential === undefined)
    throw new InvalidArgumentError('connectExchange needs `credential` (Basic) or `auth`');
  const pool = await RunspacePool.open({
    ...rest,
    uri: exchangeUri(options),
    configurationName: options.configurationName ?? 'Microsoft.Exchange',
    auth: auth ?? credential,
  });
  return new ExchangeSession(pool, convertValues ?? true);
}
