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
import { randomBytes, randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { LabRole } from './exchange-runspace.js';
import { routeExoRequest, type ExoRoute } from './exo-endpoints.js';
import { selectProperties, sendJson, sendODataError } from './exo-odata.js';
import { ExoRunspaces, runExoCmdlet } from './exo-runspaces.js';
import {
  EXO_APP_ID_AUDIENCE,
  issueExoToken,
  LAB_TENANT_ID,
  verifyExoToken,
  type LabTokenOptions,
} from './exo-token.js';

export { EXO_AUDIENCE, LAB_TENANT_DOMAIN, LAB_TENANT_ID, type LabTokenOptions } from './exo-token.js';

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

/** The gates before routing, in Exchange Online's order: HTTPS, regional redirect, 429, 503. True when answered. */
function refusedAtTheDoor(
  req: IncomingMessage,
  res: ServerResponse,
  host: string,
  secure: boolean,
  behaviours: LabExoBehaviours,
  count: (k: string) => void,
): boolean {
  if (!secure) {
    res.writeHead(403, { 'content-type': 'text/plain' }).end('HTTPS is required');
    return true;
  }
  if (behaviours.redirectToHost && host !== behaviours.redirectToHost) {
    count('302');
    const port = (req.socket.localPort ?? 0).toString();
    res.writeHead(302, { location: `https://${behaviours.redirectToHost}:${port}${req.url ?? '/'}` }).end();
    return true;
  }
  if (behaviours.throttleNext > 0) {
    behaviours.throttleNext--;
    count('429');
    sendJson(
      res,
      429,
      { error: { code: 'TooManyRequests', message: 'Too many requests. Please retry after some time.' } },
      { 'retry-after': String(behaviours.retryAfterSeconds) },
    );
    return true;
  }
  if (behaviours.serverErrorNext > 0) {
    behaviours.serverErrorNext--;
    count('503');
    res.writeHead(503, { 'content-type': 'text/plain' }).end('Service Unavailable');
    return true;
  }
  return false;
}

/** The 401 of a refused bearer token, with Exchange Online's challenge. */
function refuseToken(res: ServerResponse, reason: string): void {
  res.writeHead(401, {
    'www-authenticate': `Bearer client_id="${EXO_APP_ID_AUDIENCE}", trusted_issuers="00000001-0000-0000-c000-000000000000@*", error="invalid_token"`,
    'content-type': 'application/json',
  });
  res.end(JSON.stringify({ error: { code: 'InvalidAuthenticationToken', message: reason } }));
}

/** The request body's `CmdletInput`: the cmdlet name and its parameters. */
function cmdletInput(raw: Buffer): { cmdletName: string | undefined; parameters: Record<string, unknown> } {
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
  return { cmdletName, parameters };
}

/**
 * One page of a cursor as an OData collection: `@odata.context`, `value`, `@odata.nextLink` (the
 * same URL with a new `$skiptoken`) while objects remain, and `@adminapi.warnings`.
 */
function pageBody(
  req: IncomingMessage,
  url: URL,
  host: string,
  route: ExoRoute,
  cursor: Cursor,
  size: number,
  cursors: Map<string, Cursor>,
): Record<string, unknown> {
  const page = cursor.items.slice(cursor.offset, cursor.offset + size);
  const offset = cursor.offset + page.length;
  const body: Record<string, unknown> = {
    '@odata.context': `https://${req.headers.host ?? host}/adminapi/${route.version}/${route.tenant}/$metadata#${route.beta ? 'Collection(Edm.PSObject)' : route.endpoint}`,
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
  return body;
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
  const runspaces = new ExoRunspaces(options);
  const regionCookie = randomUUID();

  const handle = async (
    req: IncomingMessage,
    res: ServerResponse,
    raw: Buffer,
    secure: boolean,
  ): Promise<void> => {
    count('request');
    const url = new URL(req.url ?? '/', 'https://lab');
    const host = (req.headers.host ?? '').replace(/:\d+$/, '');
    const { cmdletName, parameters } = cmdletInput(raw);
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

    if (refusedAtTheDoor(req, res, host, secure, behaviours, count)) return;
    const claims = verifyExoToken(secret, req.headers['authorization'] ?? '');
    if (typeof claims === 'string') {
      count('401');
      refuseToken(res, claims);
      return;
    }
    const route = routeExoRequest(req, res, url, claims, cmdletName, {
      accounts: options.accounts,
      nulBodyFor403: behaviours.nulBodyFor403,
      count,
    });
    if (!route) return;
    count(`cmdlet:${route.cmdlet}`);
    const subject = String(claims['upn'] ?? claims['appid']);

    const skip = url.searchParams.get('$skiptoken');
    let cursor: Cursor | undefined;
    let warnings: string[] = [];
    if (skip !== null) {
      cursor = cursors.get(skip);
      if (!cursor || cursor.subject !== subject || cursor.expires < Date.now()) {
        sendODataError(res, 400, 'BadRequest', 'The skip token is invalid or has expired.');
        return;
      }
    } else {
      const ran = await runExoCmdlet(await runspaces.poolFor(route.role), route.cmdlet, parameters, res);
      if (!ran) return;
      warnings = ran.warnings;
      const items = selectProperties(ran.items, url.searchParams.get('$select'));
      cursor = { items, offset: 0, subject, expires: Date.now() + 10 * 60_000 };
    }
    const asked = /odata\.maxpagesize\s*=\s*(\d+)/i.exec(header('prefer') ?? '');
    const size = Math.max(1, Math.min(behaviours.pageSize, asked ? Number(asked[1]) : behaviours.pageSize));
    count('page');
    const body = pageBody(req, url, host, route, cursor, size, cursors);
    if (skip !== null) cursors.delete(skip);
    if (warnings.length > 0) body['@adminapi.warnings'] = warnings;
    for (const [k, c] of cursors) if (c.expires < Date.now()) cursors.delete(k);
    const regional = behaviours.redirectToHost !== undefined && host === behaviours.redirectToHost;
    sendJson(
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
    issueToken: (o?: LabTokenOptions) => issueExoToken(secret, o),
    handle,
    close: () => runspaces.close(),
  };
}
