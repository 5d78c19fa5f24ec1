/**
 * The lab's Exchange Online surface: the admin API (`/adminapi/v2.0/<tenant>/<Endpoint>`, documented,
 * and the beta `/adminapi/beta/<tenant>/InvokeCommand`, undocumented) in front of the same fake
 * organisation as the lab's Remote PowerShell endpoint: the same pwsh module, state directory and
 * role-limited NoLanguage runspaces, driven with Command objects.
 *
 * What it does as Exchange Online does (sources in docs/exchange-online.md): bearer tokens whose
 * audience is https://outlook.office365.com and whose `tid` is the tenant; the `CmdletInput` body;
 * `{"@odata.context","value":[...],"@odata.nextLink"?,"@adminapi.warnings"?}` answers; paging by
 * POSTing the same body to the next link (page size from `Prefer: odata.maxpagesize`); OData error
 * bodies whose detail is `<id>|<ExceptionType>|<text>` (404 not found, 400 bad parameter); an
 * unknown or ungranted cmdlet as a 403 whose body is NUL bytes labelled gzip; 429 with Retry-After;
 * a 302 to a regional host. Tokens are the lab's own HS256 JWTs (`issueToken`), never real ones.
 * A test double, not Exchange Online.
 */
import { createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { OutOfProcConnection } from '../client/outofproc-connection.js';
import { RunspacePool } from '../client/runspace-pool.js';
import { PipelineFailedError } from '../errors.js';
import type { ErrorRecord } from '../psrp/records.js';
import { exchangeRunspaceLaunch, ROLE_CMDLETS, type LabRole } from './exchange-runspace.js';

/** The lab tenant (a made-up GUID) and its initial domain. */
export const LAB_TENANT_ID = '6b0e7c52-1f0a-4c1e-9d7e-1ab0c0ffee18';
export const LAB_TENANT_DOMAIN = 'contoso.onmicrosoft.com';
/** The audience Exchange Online tokens carry. */
export const EXO_AUDIENCE = 'https://outlook.office365.com';
const EXO_APP_ID_AUDIENCE = '00000002-0000-0ff1-ce00-000000000000';

/** The documented v2.0 endpoints and the cmdlets each accepts (admin-api-endpoints-reference). */
const V2_ENDPOINTS: Readonly<Record<string, readonly string[]>> = {
  OrganizationConfig: ['Get-OrganizationConfig'],
  AcceptedDomain: ['Get-AcceptedDomain'],
  Mailbox: ['Get-Mailbox', 'Set-Mailbox'],
  MailboxFolderPermission: [
    'Get-MailboxFolderPermission',
    'Add-MailboxFolderPermission',
    'Set-MailboxFolderPermission',
    'Remove-MailboxFolderPermission',
  ],
  DistributionGroupMember: ['Get-DistributionGroupMember'],
  DynamicDistributionGroupMember: ['Get-DynamicDistributionGroupMember'],
};

/** Switchable Exchange Online behaviours (change them at any time on `lab.exo.behaviours`). */
export interface LabExoBehaviours {
  /** Most objects per page; a smaller `Prefer: odata.maxpagesize` wins. Default 1000. */
  pageSize: number;
  /** The next N requests are answered 429 with `Retry-After: retryAfterSeconds` (a burst). Default 0. */
  throttleNext: number;
  /** Seconds in `Retry-After` of a 429. Default 1. */
  retryAfterSeconds: number;
  /** The next N requests are answered 503. Default 0. */
  serverErrorNext: number;
  /** An unknown or ungranted cmdlet: 403 with NUL bytes labelled gzip (true, as Exchange Online) or a JSON 400. Default true. */
  nulBodyFor403: boolean;
  /** Answer requests to any other host with a 302 to this one (as Security & Compliance sends to a regional host). Default undefined. */
  redirectToHost: string | undefined;
}

export interface LabTokenOptions {
  /** Delegated: the user (a lab user name or `name@contoso.com`). Default: app-only. */
  readonly user?: string | undefined;
  /** Override claims (a wrong `aud` or `tid`, for tests). */
  readonly audience?: string | undefined;
  readonly tenantId?: string | undefined;
  /** Lifetime in seconds (negative: already expired). Default 3600. */
  readonly expiresInSeconds?: number | undefined;
  /** Permissions: app roles (app-only) or scopes (delegated). Default both the v2.0 and the beta ones. */
  readonly permissions?: readonly string[] | undefined;
}

export interface LabExo {
  /** The tenant GUID the lab accepts (also its domain, contoso.onmicrosoft.com, in URLs). */
  readonly tenantId: string;
  readonly behaviours: LabExoBehaviours;
  /** A signed test JWT for this lab (audience https://outlook.office365.com, `tid` the tenant). */
  issueToken(options?: LabTokenOptions): string;
  /** Counters: `request`, `page`, `429`, `503`, `302`, `403nul`, `401`, `cookieReturned`, and `cmdlet:<name>`. */
  readonly counts: Map<string, number>;
  /** The last requests' routing headers (never the Authorization header), newest last. */
  readonly seen: readonly LabExoRequest[];
}

export interface LabExoRequest {
  readonly host: string;
  readonly path: string;
  readonly cmdlet: string | undefined;
  readonly anchorMailbox: string | undefined;
  readonly prefer: string | undefined;
  readonly cmdletHeader: string | undefined;
}

export interface LabExoSurface extends LabExo {
  handle(req: IncomingMessage, res: ServerResponse, body: Buffer, secure: boolean): Promise<void>;
  close(): Promise<void>;
}

interface Cursor {
  readonly items: readonly unknown[];
  offset: number;
  readonly subject: string;
  readonly expires: number;
}

const b64url = (b: Buffer | string): string => Buffer.from(b).toString('base64url');

/** JSON as the admin API writes it: dates ISO, big integers as numbers, value objects as their text. */
function plain(v: unknown, depth = 0): unknown {
  if (depth > 12) return null;
  if (v === null || v === undefined) return null;
  if (typeof v === 'bigint') return Number(v);
  if (v instanceof Date) return v.toISOString();
  if (typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map((x) => plain(x, depth + 1));
  if (v instanceof Map) return Object.fromEntries([...v].map(([k, x]) => [String(k), plain(x, depth + 1)]));
  if (Object.getPrototypeOf(v) !== Object.prototype) return String(v);
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) out[k] = plain(x, depth + 1);
  return out;
}

/** The Exchange exception type of an error record (from its FailureCategory, else its exception). */
function exceptionType(e: ErrorRecord): string {
  const m = /FailureCategory=Cmdlet-(\w+)/.exec(e.fullyQualifiedErrorId ?? '');
  if (m) return `Microsoft.Exchange.Configuration.Tasks.${m[1]!}`;
  return e.exception?.typeNames[0] ?? 'System.Management.Automation.RuntimeException';
}

export function createExoSurface(options: {
  readonly stateDir: string;
  readonly accounts: Readonly<Record<string, { readonly role: LabRole }>>;
  readonly pwsh?: string | undefined;
  readonly mailboxCount?: number | undefined;
  readonly behaviours?: Partial<LabExoBehaviours> | undefined;
}): LabExoSurface {
  const secret = randomBytes(32);
  const behaviours: LabExoBehaviours = {
    pageSize: 1000,
    throttleNext: 0,
    retryAfterSeconds: 1,
    serverErrorNext: 0,
    nulBodyFor403: true,
    redirectToHost: undefined,
    ...options.behaviours,
  };
  const counts = new Map<string, number>();
  const count = (k: string): void => void counts.set(k, (counts.get(k) ?? 0) + 1);
  const seen: LabExoRequest[] = [];
  const cursors = new Map<string, Cursor>();
  const pools = new Map<LabRole, Promise<RunspacePool>>();
  const regionCookie = randomUUID();

  const poolFor = (role: LabRole): Promise<RunspacePool> => {
    let p = pools.get(role);
    if (!p) {
      const launch = exchangeRunspaceLaunch({
        role,
        stateDir: options.stateDir,
        ...(options.mailboxCount !== undefined ? { mailboxCount: options.mailboxCount } : {}),
      });
      const connection = new OutOfProcConnection({
        ...(options.pwsh !== undefined ? { executable: options.pwsh } : {}),
        args: launch.args,
        env: launch.env,
      });
      p = RunspacePool.open({ connection, maxRunspaces: 2 });
      p.catch(() => pools.delete(role));
      pools.set(role, p);
    }
    return p;
  };

  const issueToken = (o: LabTokenOptions = {}): string => {
    const now = Math.floor(Date.now() / 1000);
    const permissions =
      o.permissions ??
      (o.user
        ? ['Exchange.ManageV2', 'Exchange.Manage']
        : ['Exchange.ManageAsAppV2', 'Exchange.ManageAsApp']);
    const claims: Record<string, unknown> = {
      aud: o.audience ?? EXO_AUDIENCE,
      iss: `https://sts.windows.net/${o.tenantId ?? LAB_TENANT_ID}/`,
      tid: o.tenantId ?? LAB_TENANT_ID,
      iat: now,
      nbf: now,
      exp: now + (o.expiresInSeconds ?? 3600),
      appid: 'a0b1c2d3-0000-4000-8000-00000000a11b',
      ...(o.user
        ? { upn: o.user.includes('@') ? o.user : `${o.user}@contoso.com`, scp: permissions.join(' ') }
        : { roles: [...permissions] }),
    };
    const head = b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
    const body = b64url(JSON.stringify(claims));
    const sig = b64url(createHmac('sha256', secret).update(`${head}.${body}`).digest());
    return `${head}.${body}.${sig}`;
  };

  /** The verified claims of the request's bearer token, or a reason to refuse it. */
  const verify = (req: IncomingMessage): Record<string, unknown> | string => {
    const h = req.headers['authorization'] ?? '';
    if (!/^Bearer /i.test(h)) return 'The request has no bearer token';
    const parts = h.slice(7).trim().split('.');
    if (parts.length !== 3) return 'The token is not a JWT';
    const expected = createHmac('sha256', secret).update(`${parts[0]!}.${parts[1]!}`).digest();
    const got = Buffer.from(parts[2]!, 'base64url');
    if (got.length !== expected.length || !timingSafeEqual(got, expected))
      return 'The token signature is invalid';
    let claims: Record<string, unknown>;
    try {
      claims = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
    } catch {
      return 'The token is not a JWT';
    }
    const aud = String(claims['aud'] ?? '').replace(/\/+$/, '');
    if (aud !== EXO_AUDIENCE && aud !== EXO_APP_ID_AUDIENCE)
      return `The token audience ${aud} is not ${EXO_AUDIENCE}`;
    if (claims['tid'] !== LAB_TENANT_ID) return 'The token was issued for another tenant';
    if (typeof claims['exp'] !== 'number' || claims['exp'] * 1000 < Date.now())
      return 'The token has expired';
    return claims;
  };

  const json = (
    res: ServerResponse,
    status: number,
    body: unknown,
    headers: Record<string, string> = {},
  ): void => {
    res
      .writeHead(status, {
        'content-type': 'application/json; odata.metadata=minimal; charset=utf-8',
        'request-id': randomUUID(),
        ...headers,
      })
      .end(JSON.stringify(body));
  };
  const odataError = (
    res: ServerResponse,
    status: number,
    code: string,
    text: string,
    type?: string,
  ): void => {
    const id = randomBytes(4).toString('hex').toUpperCase();
    json(res, status, {
      error: {
        code,
        message: type ? `|${type}|${text}` : text,
        details: type ? [{ code: 'Cmdlet', message: `ex${id}|${type}|${text}` }] : [],
      },
    });
  };
  const nul403 = (res: ServerResponse): void => {
    count('403nul');
    // What Exchange Online sends for a cmdlet it does not know: NUL bytes, labelled gzip.
    res
      .writeHead(403, {
        'content-encoding': 'gzip',
        'content-type': 'application/json',
        'content-length': '64',
      })
      .end(Buffer.alloc(64));
  };

  const handle = async (
    req: IncomingMessage,
    res: ServerResponse,
    raw: Buffer,
    secure: boolean,
  ): Promise<void> => {
    count('request');
    const url = new URL(req.url ?? '/', 'https://lab');
    const host = (req.headers.host ?? '').replace(/:\d+$/, '');
    let cmdletName: string | undefined;
    let parameters: Record<string, unknown> = {};
    try {
      const b = JSON.parse(raw.toString('utf8') || '{}') as {
        CmdletInput?: { CmdletName?: unknown; Parameters?: unknown };
      };
      if (typeof b.CmdletInput?.CmdletName === 'string') cmdletName = b.CmdletInput.CmdletName;
      if (b.CmdletInput?.Parameters && typeof b.CmdletInput.Parameters === 'object')
        parameters = b.CmdletInput.Parameters as Record<string, unknown>;
    } catch {
      cmdletName = undefined;
    }
    const header = (n: string): string | undefined => {
      const v = req.headers[n];
      return typeof v === 'string' ? v : undefined;
    };
    seen.push({
      host,
      path: url.pathname,
      cmdlet: cmdletName,
      anchorMailbox: header('x-anchormailbox'),
      prefer: header('prefer'),
      cmdletHeader: header('x-cmdletname'),
    });
    if (seen.length > 100) seen.shift();
    if ((req.headers.cookie ?? '').includes(`exo-region=${regionCookie}`)) count('cookieReturned');

    if (!secure) {
      res.writeHead(403, { 'content-type': 'text/plain' }).end('HTTPS is required');
      return;
    }
    if (behaviours.redirectToHost && host !== behaviours.redirectToHost) {
      count('302');
      const port = (req.socket.localPort ?? 0).toString();
      res.writeHead(302, { location: `https://${behaviours.redirectToHost}:${port}${req.url ?? '/'}` }).end();
      return;
    }
    if (behaviours.throttleNext > 0) {
      behaviours.throttleNext--;
      count('429');
      json(
        res,
        429,
        { error: { code: 'TooManyRequests', message: 'Too many requests. Please retry after some time.' } },
        { 'retry-after': String(behaviours.retryAfterSeconds) },
      );
      return;
    }
    if (behaviours.serverErrorNext > 0) {
      behaviours.serverErrorNext--;
      count('503');
      res.writeHead(503, { 'content-type': 'text/plain' }).end('Service Unavailable');
      return;
    }
    const claims = verify(req);
    if (typeof claims === 'string') {
      count('401');
      res.writeHead(401, {
        'www-authenticate': `Bearer client_id="${EXO_APP_ID_AUDIENCE}", trusted_issuers="00000001-0000-0000-c000-000000000000@*", error="invalid_token"`,
        'content-type': 'application/json',
      });
      res.end(JSON.stringify({ error: { code: 'InvalidAuthenticationToken', message: claims } }));
      return;
    }
    const m = /^\/adminapi\/(v2\.0|beta)\/([^/]+)\/([^/]+)$/i.exec(url.pathname);
    if (!m || req.method !== 'POST') {
      json(res, 404, { error: { code: 'NotFound', message: 'The resource was not found.' } });
      return;
    }
    const [, version, tenant, endpoint] = m as unknown as [string, string, string, string];
    if (tenant.toLowerCase() !== LAB_TENANT_ID && tenant.toLowerCase() !== LAB_TENANT_DOMAIN) {
      count('401');
      json(res, 401, {
        error: {
          code: 'InvalidAuthenticationToken',
          message: 'The tenant in the URL is not the token tenant',
        },
      });
      return;
    }
    const beta = version.toLowerCase() === 'beta';
    const granted = [
      ...(Array.isArray(claims['roles']) ? (claims['roles'] as unknown[]).map(String) : []),
      ...String(claims['scp'] ?? '').split(' '),
    ];
    const needs = beta
      ? ['Exchange.ManageAsApp', 'Exchange.Manage']
      : ['Exchange.ManageAsAppV2', 'Exchange.ManageV2'];
    if (!granted.some((g) => needs.includes(g))) {
      count('401');
      json(res, 401, { error: { code: 'Unauthorized', message: `The token lacks ${needs.join(' or ')}` } });
      return;
    }
    if (beta ? endpoint.toLowerCase() !== 'invokecommand' : V2_ENDPOINTS[endpoint] === undefined) {
      json(res, 404, { error: { code: 'NotFound', message: `No endpoint ${endpoint}` } });
      return;
    }
    if (!cmdletName) {
      odataError(res, 400, 'BadRequest', 'The request body has no CmdletInput.CmdletName');
      return;
    }
    // Who: app-only tokens act as the organisation's admin; delegated ones as the lab user named by `upn`.
    let role: LabRole;
    if (typeof claims['upn'] === 'string') {
      const user = claims['upn'].split('@')[0]!.toLowerCase();
      const account = options.accounts[user];
      if (!account) {
        count('401');
        json(res, 401, {
          error: { code: 'Unauthorized', message: 'The user has no mailbox in this organisation' },
        });
        return;
      }
      role = account.role;
    } else role = 'admin';
    const cmdlet = ROLE_CMDLETS[role].find((c) => c.toLowerCase() === cmdletName.toLowerCase());
    if (!beta && !V2_ENDPOINTS[endpoint]!.some((c) => c.toLowerCase() === cmdletName.toLowerCase())) {
      odataError(
        res,
        400,
        'BadRequest',
        `The cmdlet ${cmdletName} is not supported on the ${endpoint} endpoint.`,
      );
      return;
    }
    if (!cmdlet) {
      if (behaviours.nulBodyFor403) nul403(res);
      else
        odataError(
          res,
          400,
          'BadRequest',
          `The term '${cmdletName}' is not recognized as a cmdlet.`,
          'System.Management.Automation.CommandNotFoundException',
        );
      return;
    }
    count(`cmdlet:${cmdlet}`);
    const subject = String(claims['upn'] ?? claims['appid']);

    const skip = url.searchParams.get('$skiptoken');
    let cursor: Cursor | undefined;
    let warnings: string[] = [];
    if (skip !== null) {
      cursor = cursors.get(skip);
      if (!cursor || cursor.subject !== subject || cursor.expires < Date.now()) {
        odataError(res, 400, 'BadRequest', 'The skip token is invalid or has expired.');
        return;
      }
    } else {
      const pool = await poolFor(role);
      const ps = pool.powershell().addCommand(cmdlet);
      for (const [k, v] of Object.entries(parameters)) {
        if (k === 'IncludeGrantSendOnBehalfTowithDisplayNames') continue; // documented; the lab's module has no such view
        ps.addParameter(k, v);
      }
      let result;
      try {
        result = await ps.invoke();
      } catch (e) {
        const record =
          e instanceof PipelineFailedError ? (e.errorRecord as ErrorRecord | undefined) : undefined;
        const type = record
          ? (record.exception?.typeNames[0] ?? 'System.Management.Automation.RuntimeException')
          : 'System.Exception';
        odataError(res, 400, 'BadRequest', record?.message ?? (e as Error).message, type);
        return;
      }
      if (result.output.length === 0 && result.errors.length > 0) {
        const err = result.errors[0]!;
        const notFound = err.categoryInfo.category === 'ObjectNotFound';
        odataError(
          res,
          notFound ? 404 : 400,
          notFound ? 'NotFound' : 'BadRequest',
          err.message,
          exceptionType(err),
        );
        return;
      }
      warnings = result.warnings.map((w) => w.message);
      let items = result.output.map((o) => plain(o));
      const select = url.searchParams.get('$select');
      if (select) {
        const keep = select.split(',').map((s) => s.trim());
        items = items.map((o) =>
          o && typeof o === 'object' && !Array.isArray(o)
            ? Object.fromEntries(
                Object.entries(o).filter(([k]) => keep.some((s) => s.toLowerCase() === k.toLowerCase())),
              )
            : o,
        );
      }
      cursor = { items, offset: 0, subject, expires: Date.now() + 10 * 60_000 };
    }
    const asked = /odata\.maxpagesize\s*=\s*(\d+)/i.exec(header('prefer') ?? '');
    const size = Math.max(1, Math.min(behaviours.pageSize, asked ? Number(asked[1]) : behaviours.pageSize));
    const page = cursor.items.slice(cursor.offset, cursor.offset + size);
    const offset = cursor.offset + page.length;
    count('page');
    const body: Record<string, unknown> = {
      '@odata.context': `https://${req.headers.host ?? host}/adminapi/${version}/${tenant}/$metadata#${beta ? 'Collection(Edm.PSObject)' : endpoint}`,
      value: page,
    };
    if (offset < cursor.items.length) {
      const id = randomUUID();
      cursors.set(id, { ...cursor, offset });
      const next = new URL(`https://${req.headers.host ?? host}${url.pathname}`);
      for (const [k, v] of url.searchParams) if (k !== '$skiptoken') next.searchParams.set(k, v);
      next.searchParams.set('$skiptoken', id);
      body['@odata.nextLink'] = next.href;
    }
    if (skip !== null) cursors.delete(skip);
    if (warnings.length > 0) body['@adminapi.warnings'] = warnings;
    for (const [k, c] of cursors) if (c.expires < Date.now()) cursors.delete(k);
    const regional = behaviours.redirectToHost !== undefined && host === behaviours.redirectToHost;
    json(
      res,
      200,
      body,
      regional ? { 'set-cookie': `exo-region=${regionCookie}; path=/; secure; HttpOnly` } : {},
    );
  };

  return {
    tenantId: LAB_TENANT_ID,
    behaviours,
    counts,
    seen,
    issueToken,
    handle,
    async close(): Promise<void> {
      const all = [...pools.values()];
      pools.clear();
      await Promise.all(all.map((p) => p.then((pool) => pool.close()).catch(() => undefined)));
    },
  };
}
