/**
 * The lab's Exchange Online bearer tokens: HS256 JWTs signed with the lab's own secret, whose
 * audience is https://outlook.office365.com and whose `tid` is the lab tenant, as Exchange Online
 * checks them (docs/exchange-online.md). Never real tokens.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

/** The lab tenant (a made-up GUID) and its initial domain. */
export const LAB_TENANT_ID = '6b0e7c52-1f0a-4c1e-9d7e-1ab0c0ffee18';
export const LAB_TENANT_DOMAIN = 'contoso.onmicrosoft.com';
/** The audience Exchange Online tokens carry. */
export const EXO_AUDIENCE = 'https://outlook.office365.com';
/** The same audience as the Exchange Online application id. */
export const EXO_APP_ID_AUDIENCE = '00000002-0000-0ff1-ce00-000000000000';

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

const b64url = (b: Buffer | string): string => Buffer.from(b).toString('base64url');

/** A signed test JWT for the lab (audience https://outlook.office365.com, `tid` the tenant). */
export function issueExoToken(secret: Buffer, o: LabTokenOptions = {}): string {
  const now = Math.floor(Date.now() / 1000);
  const permissions =
    o.permissions ??
    (o.user ? ['Exchange.ManageV2', 'Exchange.Manage'] : ['Exchange.ManageAsAppV2', 'Exchange.ManageAsApp']);
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
}

/** The verified claims of an `Authorization` header's bearer token, or a reason to refuse it. */
export function verifyExoToken(secret: Buffer, authorization: string): Record<string, unknown> | string {
  const h = authorization;
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
  if (typeof claims['exp'] !== 'number' || claims['exp'] * 1000 < Date.now()) return 'The token has expired';
  return claims;
}
