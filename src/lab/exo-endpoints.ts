/**
 * Routing of the lab admin API as Exchange Online routes it (admin-api-endpoints-reference,
 * docs/exchange-online.md): `/adminapi/v2.0/<tenant>/<Endpoint>` (documented endpoints, each with
 * its cmdlets) and `/adminapi/beta/<tenant>/InvokeCommand`; the tenant of the URL, the permission
 * the version needs, who the token acts as (app-only: the admin; delegated: the `upn` user's role),
 * and the cmdlet that role is granted.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ROLE_CMDLETS, type LabRole } from './exchange-runspace.js';
import { LAB_TENANT_DOMAIN, LAB_TENANT_ID } from './exo-token.js';
import { sendJson, sendNul403, sendODataError } from './exo-odata.js';

/** The documented v2.0 endpoints and the cmdlets each accepts (admin-api-endpoints-reference). */
export const V2_ENDPOINTS: Readonly<Record<string, readonly string[]>> = {
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

/** Where a request goes: the endpoint, and the granted cmdlet run as `role`. */
export interface ExoRoute {
  readonly version: string;
  readonly tenant: string;
  readonly endpoint: string;
  readonly beta: boolean;
  readonly role: LabRole;
  readonly cmdlet: string;
}

export interface ExoRouteContext {
  readonly accounts: Readonly<Record<string, { readonly role: LabRole }>>;
  /** An unknown or ungranted cmdlet: 403 with NUL bytes (true) or a JSON 400. */
  readonly nulBodyFor403: boolean;
  readonly count: (key: string) => void;
}

/**
 * The route of an authenticated request, or undefined when it was refused (the refusal is answered
 * on `res`: 404 no such endpoint, 401 other tenant / missing permission / unknown user, 400 no or
 * unsupported cmdlet, 403 ungranted cmdlet).
 */
export function routeExoRequest(
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  claims: Record<string, unknown>,
  cmdletName: string | undefined,
  ctx: ExoRouteContext,
): ExoRoute | undefined {
  const { count } = ctx;
  const m = /^\/adminapi\/(v2\.0|beta)\/([^/]+)\/([^/]+)$/i.exec(url.pathname);
  if (!m || req.method !== 'POST') {
    sendJson(res, 404, { error: { code: 'NotFound', message: 'The resource was not found.' } });
    return undefined;
  }
  const [, version, tenant, endpoint] = m as unknown as [string, string, string, string];
  if (tenant.toLowerCase() !== LAB_TENANT_ID && tenant.toLowerCase() !== LAB_TENANT_DOMAIN) {
    count('401');
    sendJson(res, 401, {
      error: {
        code: 'InvalidAuthenticationToken',
        message: 'The tenant in the URL is not the token tenant',
      },
    });
    return undefined;
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
    sendJson(res, 401, { error: { code: 'Unauthorized', message: `The token lacks ${needs.join(' or ')}` } });
    return undefined;
  }
  if (beta ? endpoint.toLowerCase() !== 'invokecommand' : V2_ENDPOINTS[endpoint] === undefined) {
    sendJson(res, 404, { error: { code: 'NotFound', message: `No endpoint ${endpoint}` } });
    return undefined;
  }
  if (!cmdletName) {
    sendODataError(res, 400, 'BadRequest', 'The request body has no CmdletInput.CmdletName');
    return undefined;
  }
  // Who: app-only tokens act as the organisation's admin; delegated ones as the lab user named by `upn`.
  let role: LabRole;
  if (typeof claims['upn'] === 'string') {
    const user = claims['upn'].split('@')[0]!.toLowerCase();
    const account = ctx.accounts[user];
    if (!account) {
      count('401');
      sendJson(res, 401, {
        error: { code: 'Unauthorized', message: 'The user has no mailbox in this organisation' },
      });
      return undefined;
    }
    role = account.role;
  } else role = 'admin';
  const cmdlet = ROLE_CMDLETS[role].find((c) => c.toLowerCase() === cmdletName.toLowerCase());
  if (!beta && !V2_ENDPOINTS[endpoint]!.some((c) => c.toLowerCase() === cmdletName.toLowerCase())) {
    sendODataError(
      res,
      400,
      'BadRequest',
      `The cmdlet ${cmdletName} is not supported on the ${endpoint} endpoint.`,
    );
    return undefined;
  }
  if (!cmdlet) {
    if (ctx.nulBodyFor403) {
      count('403nul');
      sendNul403(res);
    } else
      sendODataError(
        res,
        400,
        'BadRequest',
        `The term '${cmdletName}' is not recognized as a cmdlet.`,
        'System.Management.Automation.CommandNotFoundException',
      );
    return undefined;
  }
  return { version, tenant, endpoint, beta, role, cmdlet };
}
