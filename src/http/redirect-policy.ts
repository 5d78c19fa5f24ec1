// RFC 9110 15.4 (Redirection 3xx) and 10.2.2 (Location), with PowerShell's -AllowRedirection rules.
/**
 * Whether a transport follows a redirect, and where to: only when allowed, never to another scheme
 * than http(s) or a URL with credentials, never from https:// down to http://, at most
 * `maxRedirects` times per request.
 */
import { TransportError } from '../errors.js';
import type { SecretRedactor } from '../internal/secret-redactor.js';
import { excerpt, where } from './http-errors.js';

/** What the transport allows. */
export interface RedirectPolicy {
  readonly allowRedirection: boolean;
  readonly maxRedirects: number;
}

/** One redirect response: where it came from, its status and Location, and how many came before. */
export interface Redirect {
  readonly from: URL;
  readonly status: number;
  readonly location: string | undefined;
  readonly followed: number;
}

/** The URL to follow a redirect to, or a TransportError saying why not. */
export function redirectTarget(redirect: Redirect, policy: RedirectPolicy, secrets: SecretRedactor): URL {
  const { from, status, location, followed } = redirect;
  if (location === undefined || location === '') {
    throw new TransportError(`HTTP ${status} from ${where(from)} without a Location header`, {
      code: 'PSRP_REDIRECT_INVALID',
      statusCode: status,
    });
  }
  let next: URL;
  try {
    next = new URL(location, from);
  } catch (cause) {
    throw new TransportError(`HTTP ${status} from ${where(from)} with an invalid Location`, {
      code: 'PSRP_REDIRECT_INVALID',
      statusCode: status,
      cause,
      responseExcerpt: excerpt(location, secrets),
    });
  }
  if ((next.protocol !== 'https:' && next.protocol !== 'http:') || next.username || next.password) {
    throw new TransportError(
      `HTTP ${status} from ${where(from)} redirects to an unusable location (${next.protocol})`,
      { code: 'PSRP_REDIRECT_INVALID', statusCode: status },
    );
  }
  next.hash = '';
  if (!policy.allowRedirection) {
    throw new TransportError(
      `The server redirected (HTTP ${status}) to ${where(next)}; set allowRedirection: true to follow it`,
      {
        code: 'PSRP_REDIRECT_NOT_ALLOWED',
        statusCode: status,
        hint: `Following a redirect re-sends the credentials to ${next.origin}; allow it only if you trust that server (PowerShell's -AllowRedirection). Or connect to ${where(next)} directly.`,
      },
    );
  }
  if (from.protocol === 'https:' && next.protocol !== 'https:') {
    throw new TransportError(`Refusing to follow a redirect from https:// to ${where(next)}`, {
      code: 'PSRP_REDIRECT_INSECURE',
      statusCode: status,
      hint: 'A redirect may not downgrade to plain http://: the credentials and the session would travel in clear text.',
    });
  }
  if (followed >= policy.maxRedirects) {
    throw new TransportError(`More than ${policy.maxRedirects} redirects (last to ${where(next)})`, {
      code: 'PSRP_TOO_MANY_REDIRECTS',
      statusCode: status,
      hint: 'The server redirects in a loop: check the URL and the reverse proxy rewrite rules.',
    });
  }
  return next;
}
