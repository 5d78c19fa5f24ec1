// RFC 7617 Basic carrying an RFC 6750 bearer token as its password, as Exchange Online's legacy
// Remote PowerShell accepts it when the URL has `BasicAuthToOAuthConversion=true`.
/**
 * The lab's stand-in for a token-converting front end: a request authenticates as the user a
 * configured token belongs to when its URL has `BasicAuthToOAuthConversion=true`, its
 * `Authorization` is Basic with the password `Bearer <token>`, and its user name is that user (or a
 * UPN whose part before `@` is). A wrong or removed ("expired") token, another user name, or a URL
 * without the parameter is not authenticated: the listener answers 401.
 */
import type { IncomingMessage } from 'node:http';

/** The lab user of a request's bearer token (token → user in `tokens`), or undefined. */
export function basicTokenUser(
  req: IncomingMessage,
  tokens: ReadonlyMap<string, string>,
): string | undefined {
  const h = req.headers['authorization'] ?? '';
  if (tokens.size === 0 || !h.startsWith('Basic ')) return undefined;
  const query = new URL(req.url ?? '/', 'https://lab.invalid').searchParams;
  const flag = [...query].find(([k]) => k.toLowerCase() === 'basicauthtooauthconversion')?.[1];
  if (flag?.toLowerCase() !== 'true') return undefined;
  const decoded = Buffer.from(h.slice(6), 'base64').toString('utf8');
  const i = decoded.indexOf(':');
  const password = decoded.slice(i + 1);
  if (i <= 0 || !password.startsWith('Bearer ')) return undefined;
  const user = tokens.get(password.slice(7));
  const name = decoded.slice(0, i);
  const at = name.lastIndexOf('@');
  const local = (at > 0 ? name.slice(0, at) : name).toLowerCase();
  return user !== undefined && user.toLowerCase() === local ? user : undefined;
}
