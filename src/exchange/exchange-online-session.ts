/**
 * connectExchangeOnline: Exchange cmdlets over the Exchange Online admin API (JSON over HTTPS with
 * an OAuth token), with the same session interface as connectExchange (ExchangeCommandSession).
 *
 * By default only the documented v2.0 API is used (learn.microsoft.com/exchange/reference/
 * admin-api-overview): `POST <base>/adminapi/v2.0/<tenantId>/<Endpoint>` with
 * `{"CmdletInput":{"CmdletName","Parameters"}}`; a cmdlet no v2.0 endpoint serves is refused with
 * PSRP_EXO_NOT_ON_V2. `unsupportedBetaInvokeCommand: true` switches to the undocumented beta
 * `InvokeCommand` endpoint that ExchangeOnlineManagement v3 uses (any cmdlet RBAC allows); Microsoft
 * does not support calling it directly. See docs/exchange-online.md for what is documented and
 * what is inferred, with sources.
 *
 * Output pages stream: the next page (`@odata.nextLink`, POSTed with the same body) is fetched only
 * when the consumer asks for more. 429 (honouring `Retry-After`) and 5xx answers are retried with
 * the pool's back-off; a 302 to a regional host is followed (bearer re-sent, cookies kept) only to
 * a host of the same cloud or one listed in `allowedRedirectHosts`. Tokens are fetched through the
 * caller's provider (an `@azure/identity` TokenCredential fits), cached and refreshed five minutes
 * before they expire; no token ever appears in an error, a message or an event.
 */
import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import type { Agent, Dispatcher, request } from 'undici';
import {
  createPSObject,
  ErrorRecord,
  InvalidArgumentError,
  type InformationalRecord,
  type InvokeResult,
  type PipelineRecord,
  type RunOptions,
  jsonSafe,
} from '../index.js';
import { backoffDelay, retryAfterMs, sleep, type BackoffOptions } from './backoff.js';
import { parseCommandLine, type ParsedCommand, type ParseCommandLineOptions } from './command-line.js';
import type { ExchangeCommandSession, ExchangeParameters } from './exchange-command-session.js';
import {
  canonicalV2Cmdlet,
  EXCHANGE_ONLINE_CLOUDS,
  exchangeOnlineEndpoint,
  type ExchangeOnlineCloud,
} from './exchange-online-endpoints.js';
import { ExchangeOnlineError } from './exchange-online-errors.js';
import { fromExchangeOnlineJson } from './exchange-online-values.js';
import {
  exchangeOnlineHttpError,
  readExchangeOnlinePage,
  type ExchangeOnlinePage,
} from './exchange-online-answers.js';
import { ExchangeOnlineCookieJar } from './exchange-online-cookies.js';
import {
  ExchangeOnlineTokenCache,
  type ExchangeOnlineTokenCredential,
  type ExchangeOnlineTokenProvider,
} from './exchange-online-token.js';

/**
 * undici's package index, required when the first Exchange Online session is made rather than when
 * psrp/exchange is imported (issue 17, cold start): it loads fetch, WebSocket and every dispatcher,
 * about 150 ms of CPU that an on-premises session never needs.
 */
const undici = (): { Agent: typeof Agent; request: typeof request } =>
  createRequire(import.meta.url)('undici') as { Agent: typeof Agent; request: typeof request };

export type {
  ExchangeOnlineAccessToken,
  ExchangeOnlineTokenCredential,
  ExchangeOnlineTokenProvider,
} from './exchange-online-token.js';

export const APP_ONLY_ANCHOR_MAILBOX = 'SystemMailbox{bb558c35-97f1-4cb9-8ff7-d53741dc928c}';

export interface ConnectExchangeOnlineOptions extends BackoffOptions {
  /** The tenant: its GUID (the documented form) or its initial domain (`contoso.onmicrosoft.com`). */
  readonly tenantId: string;
  /** Where tokens come from; the scope asked is `<resource>/.default`. */
  readonly token: ExchangeOnlineTokenProvider;
  /** Which cloud's base URL to use. Default `global` (https://outlook.office365.com). */
  readonly cloud?: ExchangeOnlineCloud | undefined;
  /** Another base URL (a lab, a proxy); overrides `cloud`. */
  readonly baseUrl?: string | URL | undefined;
  /** The token audience. Default: the cloud's base URL (https://outlook.office365.com for a custom `baseUrl`). */
  readonly resource?: string | undefined;
  /**
   * Use the undocumented beta `InvokeCommand` endpoint (any cmdlet RBAC allows), as
   * ExchangeOnlineManagement v3 does. Not supported by Microsoft for direct use; it may change or
   * go away without notice. Default false: only the documented v2.0 endpoints.
   */
  readonly unsupportedBetaInvokeCommand?: boolean | undefined;
  /**
   * `X-AnchorMailbox` when the parameters name no mailbox: `UPN:admin@contoso.com` for delegated
   * tokens. Default `APP:SystemMailbox{bb558c35-…}@<tenantId>` (app-only).
   */
  readonly anchorMailbox?: string | undefined;
  /** Objects per page asked with `Prefer: odata.maxpagesize` (1–1000). Default 1000. */
  readonly pageSize?: number | undefined;
  /** PEM of a CA to trust (a lab or an inspecting proxy). */
  readonly ca?: string | Buffer | undefined;
  /** Accept any server certificate (labs only). */
  readonly skipCertificateCheck?: boolean | undefined;
  /** Hosts a 302 or a next link may send the bearer token to, besides the base host and its cloud. */
  readonly allowedRedirectHosts?: readonly string[] | undefined;
  /** Convert Exchange value shapes (sizes, Unlimited, dates…). Default true. */
  readonly convertValues?: boolean | undefined;
  /** Called before each retry of a throttled (429) or failed (5xx) request. */
  readonly onThrottled?: ((event: ExchangeOnlineThrottleEvent) => void) | undefined;
  /** Cancels the first token request. */
  readonly signal?: AbortSignal | undefined;
}

export interface ExchangeOnlineThrottleEvent {
  readonly attempt: number;
  readonly delayMs: number;
  readonly statusCode: number;
}

/** RunOptions plus what only the admin API has. */
export interface ExchangeOnlineRunOptions extends RunOptions {
  /** Properties to return (`$select`). */
  readonly select?: readonly string[] | undefined;
}

type Page = ExchangeOnlinePage;

const CLOUD_SUFFIXES = [
  '.office365.com',
  '.outlook.com',
  '.office365.us',
  '.office365.cn',
  '.partner.outlook.cn',
];
const MAX_REDIRECTS = 5;

const jsonReplacer = (_k: string, v: unknown): unknown =>
  typeof v === 'bigint' ? (Number.isSafeInteger(Number(v)) ? Number(v) : v.toString()) : v;

function mailboxOf(parameters: ExchangeParameters | undefined): string | undefined {
  const id = parameters?.['Identity'] ?? parameters?.['Mailbox'];
  if (typeof id !== 'string') return undefined;
  const mailbox = id.split(':\\')[0]!.trim();
  return /^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(mailbox) ? mailbox : undefined;
}

export class ExchangeOnlineSession implements ExchangeCommandSession {
  readonly baseUrl: URL;
  readonly tenantId: string;
  readonly beta: boolean;
  private readonly dispatcher: Dispatcher;
  private readonly connectionId = randomUUID();
  private readonly cookies = new ExchangeOnlineCookieJar();
  private readonly tokens: ExchangeOnlineTokenCache;
  private closed = false;
  private readonly convertValues: boolean;
  private readonly pageSize: number;

  constructor(private readonly options: ConnectExchangeOnlineOptions) {
    if (typeof options.tenantId !== 'string' || !/^[\w.-]+$/.test(options.tenantId))
      throw new InvalidArgumentError('connectExchangeOnline needs `tenantId` (a GUID or an initial domain)');
    if (
      typeof options.token !== 'function' &&
      typeof (options.token as Partial<ExchangeOnlineTokenCredential> | undefined)?.getToken !== 'function'
    )
      throw new InvalidArgumentError(
        'connectExchangeOnline needs `token`: a function returning a bearer token, or an object with getToken(scopes)',
      );
    const cloud = options.cloud ?? 'global';
    if (!(cloud in EXCHANGE_ONLINE_CLOUDS)) throw new InvalidArgumentError(`Unknown cloud ${String(cloud)}`);
    this.baseUrl = new URL(options.baseUrl ?? EXCHANGE_ONLINE_CLOUDS[cloud]);
    if (this.baseUrl.protocol !== 'https:')
      throw new InvalidArgumentError(
        'The Exchange Online base URL must be https:// (the bearer token must not travel in clear)',
      );
    this.tenantId = options.tenantId;
    this.beta = options.unsupportedBetaInvokeCommand === true;
    const resource =
      options.resource ?? (options.baseUrl ? EXCHANGE_ONLINE_CLOUDS.global : EXCHANGE_ONLINE_CLOUDS[cloud]);
    this.tokens = new ExchangeOnlineTokenCache(options.token, `${resource.replace(/\/+$/, '')}/.default`);
    this.pageSize = options.pageSize ?? 1000;
    if (!Number.isInteger(this.pageSize) || this.pageSize < 1 || this.pageSize > 1000)
      throw new InvalidArgumentError('pageSize must be an integer from 1 to 1000');
    this.convertValues = options.convertValues ?? true;
    this.dispatcher = new (undici().Agent)({
      connect: {
        ...(options.ca !== undefined ? { ca: options.ca } : {}),
        rejectUnauthorized: options.skipCertificateCheck !== true,
      },
    });
  }

  /** A bearer token, from the cache while it has more than five minutes left. */
  bearer(
    options: { readonly force?: boolean; readonly signal?: AbortSignal | undefined } = {},
  ): Promise<string> {
    return this.tokens.bearer(options);
  }

  private endpointUrl(cmdlet: string, select: readonly string[] | undefined): URL {
    const base = this.baseUrl.href.replace(/\/+$/, '');
    const tenant = encodeURIComponent(this.tenantId);
    let url: URL;
    if (this.beta) url = new URL(`${base}/adminapi/beta/${tenant}/InvokeCommand`);
    else {
      const endpoint = exchangeOnlineEndpoint(cmdlet);
      if (!endpoint)
        throw new ExchangeOnlineError(
          `${cmdlet} is not served by the documented Exchange Online admin API (v2.0 endpoints: OrganizationConfig, AcceptedDomain, Mailbox, MailboxFolderPermission, DistributionGroupMember, DynamicDistributionGroupMember). The undocumented beta InvokeCommand endpoint runs any cmdlet: pass unsupportedBetaInvokeCommand: true (not supported by Microsoft).`,
          { code: 'PSRP_EXO_NOT_ON_V2', cmdlet },
        );
      url = new URL(`${base}/adminapi/v2.0/${tenant}/${endpoint}`);
    }
    if (select && select.length > 0) url.searchParams.set('$select', select.join(','));
    return url;
  }

  private hostAllowed(host: string): boolean {
    const h = host.toLowerCase();
    if (h === this.baseUrl.hostname.toLowerCase()) return true;
    if ((this.options.allowedRedirectHosts ?? []).some((a) => a.toLowerCase() === h)) return true;
    return this.options.baseUrl === undefined && CLOUD_SUFFIXES.some((s) => h.endsWith(s));
  }

  /** POSTs one page request; retries throttling and 5xx, follows regional redirects, types errors. */
  private async post(
    first: URL,
    cmdlet: string,
    parameters: ExchangeParameters,
    signal: AbortSignal | undefined,
  ): Promise<Page> {
    const body = JSON.stringify(
      { CmdletInput: { CmdletName: cmdlet, Parameters: parameters } },
      jsonReplacer,
    );
    const anchor =
      mailboxOf(parameters) !== undefined
        ? `UPN:${mailboxOf(parameters)!}`
        : (this.options.anchorMailbox ?? `APP:${APP_ONLY_ANCHOR_MAILBOX}@${this.tenantId}`);
    const attempts = this.options.throttleAttempts ?? 6;
    let url = first;
    let redirects = 0;
    let reauthenticated = false;
    for (let attempt = 1; ;) {
      if (this.closed)
        throw new ExchangeOnlineError('The Exchange Online session is closed', { code: 'PSRP_POOL_CLOSED' });
      const token = await this.bearer({ signal });
      const headers: Record<string, string> = {
        authorization: `Bearer ${token}`,
        'content-type': 'application/json',
        accept: 'application/json',
        prefer: `odata.maxpagesize=${this.pageSize}`,
        'x-anchormailbox': anchor,
        'client-request-id': randomUUID(),
        'user-agent': 'psrp (Node.js)',
      };
      if (this.beta) {
        headers['x-cmdletname'] = cmdlet;
        headers['x-responseformat'] = 'json';
        headers['connection-id'] = this.connectionId;
      }
      const cookie = this.cookies.header(url);
      if (cookie) headers['cookie'] = cookie;
      let res: Dispatcher.ResponseData;
      try {
        res = await undici().request(url, {
          method: 'POST',
          headers,
          body,
          dispatcher: this.dispatcher,
          ...(signal ? { signal } : {}),
        });
      } catch (e) {
        if (signal?.aborted) throw signal.reason;
        throw new ExchangeOnlineError(
          `Exchange Online could not be reached at ${url.host}: ${(e as Error).message}`,
          {
            code: 'PSRP_EXO_HTTP',
            cmdlet,
            cause: e,
          },
        );
      }
      const status = res.statusCode;
      const requestId = typeof res.headers['request-id'] === 'string' ? res.headers['request-id'] : undefined;
      this.cookies.keep(url, res.headers['set-cookie']);
      const raw = Buffer.from(await res.body.arrayBuffer());
      if ([301, 302, 303, 307, 308].includes(status)) {
        const location = res.headers['location'];
        const to = typeof location === 'string' ? new URL(location, url) : undefined;
        if (!to || to.protocol !== 'https:' || !this.hostAllowed(to.hostname))
          throw new ExchangeOnlineError(
            `Exchange Online redirected ${cmdlet} to ${to ? `${to.protocol}//${to.host}` : 'nowhere'}, which is not a host the bearer token may go to (add it to allowedRedirectHosts if you trust it)`,
            { code: 'PSRP_EXO_REDIRECT_REFUSED', statusCode: status, cmdlet },
          );
        if (++redirects > MAX_REDIRECTS)
          throw new ExchangeOnlineError(`Too many redirects for ${cmdlet}`, {
            code: 'PSRP_EXO_HTTP',
            statusCode: status,
            cmdlet,
          });
        url = to;
        continue;
      }
      if (status === 401 && !reauthenticated) {
        // The token may have been revoked or expired early: fetch a fresh one once.
        reauthenticated = true;
        this.tokens.forget();
        continue;
      }
      if ((status === 429 || status >= 500) && attempt < attempts) {
        const delayMs = retryAfterMs(res.headers['retry-after']) ?? backoffDelay(attempt, this.options);
        this.options.onThrottled?.({ attempt, delayMs: Math.round(delayMs), statusCode: status });
        attempt++;
        await sleep(delayMs, signal);
        continue;
      }
      if (status >= 200 && status < 300) return readExchangeOnlinePage(raw, cmdlet, status);
      throw exchangeOnlineHttpError(status, raw, res.headers['content-encoding'], cmdlet, requestId);
    }
  }

  /** Every page of one cmdlet, fetched when asked for (for-await gives backpressure). */
  async *pages(
    name: string,
    parameters: ExchangeParameters = {},
    options: ExchangeOnlineRunOptions = {},
  ): AsyncGenerator<Page, void, undefined> {
    const cmdlet = this.beta ? name : (canonicalV2Cmdlet(name) ?? name);
    const signal = this.signalOf(options);
    let url = this.endpointUrl(cmdlet, options.select);
    for (;;) {
      const page = await this.post(url, cmdlet, parameters, signal);
      yield page;
      if (!page.nextLink) return;
      const next = new URL(page.nextLink, url);
      if (next.protocol !== 'https:' || !this.hostAllowed(next.hostname))
        throw new ExchangeOnlineError(
          `The next page of ${cmdlet} is on ${next.host}, which the bearer token may not go to`,
          {
            code: 'PSRP_EXO_REDIRECT_REFUSED',
            cmdlet,
          },
        );
      url = next;
    }
  }

  private signalOf(options: RunOptions): AbortSignal | undefined {
    const signals = [
      options.signal,
      options.timeoutMs !== undefined ? AbortSignal.timeout(options.timeoutMs) : undefined,
    ].filter((s): s is AbortSignal => s !== undefined);
    return signals.length === 0 ? undefined : signals.length === 1 ? signals[0] : AbortSignal.any(signals);
  }

  /** A cmdlet error as PowerShell's ErrorRecord (what Remote PowerShell gives for a non-terminating error). */
  private errorRecord(e: ExchangeOnlineError, parameters: ExchangeParameters): ErrorRecord {
    const type = e.exceptionType ?? 'System.Exception';
    return new ErrorRecord({
      Exception: createPSObject({
        typeNames: [type, 'System.Exception', 'System.Object'],
        properties: { Message: e.message },
      }),
      FullyQualifiedErrorId: `${type.slice(type.lastIndexOf('.') + 1)},${e.cmdlet ?? ''}`,
      ErrorCategory_Category: e.statusCode === 404 ? 13 : 0, // ObjectNotFound : NotSpecified
      ErrorCategory_Reason: type.slice(type.lastIndexOf('.') + 1),
      ErrorCategory_Activity: e.cmdlet,
      TargetObject: parameters['Identity'],
    });
  }

  /** Every record of one cmdlet: output (converted), warnings (`@adminapi.warnings`), errors. */
  async *records(
    name: string,
    parameters: ExchangeParameters = {},
    options: ExchangeOnlineRunOptions = {},
  ): AsyncGenerator<PipelineRecord, void, undefined> {
    try {
      for await (const page of this.pages(name, parameters, options)) {
        for (const w of page.warnings) {
          const value: InformationalRecord = { message: w, invocationInfo: undefined };
          yield { stream: 'warning', value };
        }
        for (const v of page.value)
          yield { stream: 'output', value: this.convertValues ? fromExchangeOnlineJson(v) : v };
      }
    } catch (e) {
      // A cmdlet that could not find its object writes a (non-terminating) error, as over Remote PowerShell.
      if (
        e instanceof ExchangeOnlineError &&
        e.code === 'PSRP_EXO_CMDLET_ERROR' &&
        e.statusCode === 404 &&
        options.errorAction !== 'stop'
      ) {
        yield { stream: 'error', value: this.errorRecord(e, parameters) };
        return;
      }
      throw e;
    }
  }

  async *stream<T = Record<string, unknown>>(
    name: string,
    parameters?: ExchangeParameters,
    options?: ExchangeOnlineRunOptions,
  ): AsyncGenerator<T, void, undefined> {
    for await (const r of this.records(name, parameters, options))
      if (r.stream === 'output') yield r.value as T;
  }

  async invoke(
    name: string,
    parameters?: ExchangeParameters,
    options?: ExchangeOnlineRunOptions,
  ): Promise<InvokeResult> {
    return collect(this.records(name, parameters, options));
  }

  /** One command of a command line as a cmdlet name and named parameters (the first positional is `Identity`). */
  private single(
    commandLine: string,
    options: ParseCommandLineOptions,
  ): { name: string; parameters: ExchangeParameters } {
    const commands: readonly ParsedCommand[] = parseCommandLine(commandLine, options);
    if (commands.length !== 1)
      throw new ExchangeOnlineError(
        'The Exchange Online admin API runs one cmdlet per request: a pipeline of several commands cannot be sent; run them one after the other',
        { code: 'PSRP_EXO_COMMAND_LINE_UNSUPPORTED' },
      );
    const c = commands[0]!;
    const parameters: Record<string, unknown> = {};
    const positional = c.arguments.filter((a) => a.name === null);
    if (positional.length > 1)
      throw new ExchangeOnlineError(
        `${c.name}: the admin API takes named parameters only; name every argument after the first (which is -Identity)`,
        { code: 'PSRP_EXO_COMMAND_LINE_UNSUPPORTED', cmdlet: c.name },
      );
    for (const a of c.arguments) parameters[a.name ?? 'Identity'] = a.value;
    return { name: c.name, parameters };
  }

  async run(
    commandLine: string,
    options: ExchangeOnlineRunOptions & ParseCommandLineOptions = {},
  ): Promise<InvokeResult> {
    // Parse errors reject like server errors do (the caller awaits either way).
    await Promise.resolve();
    const { name, parameters } = this.single(commandLine, options);
    return this.invoke(name, parameters, options);
  }

  async *runRecords(
    commandLine: string,
    options: ExchangeOnlineRunOptions & ParseCommandLineOptions = {},
  ): AsyncGenerator<PipelineRecord, void, undefined> {
    const { name, parameters } = this.single(commandLine, options);
    yield* this.records(name, parameters, options);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.tokens.forget();
    await this.dispatcher.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

async function collect(records: AsyncIterable<PipelineRecord>): Promise<InvokeResult> {
  const r = {
    output: [] as unknown[],
    errors: [] as ErrorRecord[],
    warnings: [] as InformationalRecord[],
  };
  for await (const rec of records) {
    if (rec.stream === 'output') r.output.push(rec.value);
    else if (rec.stream === 'error') r.errors.push(rec.value);
    else if (rec.stream === 'warning') r.warnings.push(rec.value);
  }
  const result: Omit<InvokeResult, 'toJSON'> = {
    ...r,
    verbose: [],
    debug: [],
    information: [],
    progress: [],
    hadErrors: r.errors.length > 0,
    state: 'Completed',
  };
  // The same JSON-safe result as RunspacePool's invoke() (bigints, cycles; not enumerable).
  return Object.defineProperty(result, 'toJSON', {
    value: () => jsonSafe({ ...result }),
    enumerable: false,
    configurable: true,
    writable: true,
  }) as InvokeResult;
}

/**
 * Opens a session on the Exchange Online admin API. It asks for a token once (so a wrong
 * credential fails here, as connectExchange fails on a wrong password) and keeps no connection
 * state on the server: each cmdlet is one or more HTTPS requests.
 */
export async function connectExchangeOnline(
  options: ConnectExchangeOnlineOptions,
): Promise<ExchangeOnlineSession> {
  const session = new ExchangeOnlineSession(options);
  try {
    await session.bearer({ signal: options.signal });
  } catch (e) {
    await session.close();
    throw e;
  }
  return session;
}
