/**
 * HTTP on the virtual directory: an anonymous WS-Man Identify (certificate verification off only for
 * this probe, which carries no secret) and what its answer means. Each answer the field guide names
 * has its own function: 401 without Basic, Exchange's 400, Require SSL's 403, the reverse proxy's
 * 502, 404, a redirect, any other status. Sets `ctx.offered`.
 */
import { rootCertificates } from 'node:tls';
import { anonymousIdentifyRequest, offeredSchemes } from '../../index.js';
import type { DiagnoseContext, Stop } from './context.js';
import { clip, errCode, errMessage, withTimeout } from './probes.js';

/** The anonymous answer a case function reads. */
export interface HttpAnswer {
  readonly status: number;
  readonly body: string;
  readonly location: string;
  /** The virtual directory's path. */
  readonly path: string;
}

export async function checkHttp(ctx: DiagnoseContext): Promise<Stop | undefined> {
  const { url, timeoutMs, ca } = ctx;
  // undici's index on first use (issue 17, cold start: importing psrp/exchange does not load it).
  const { Agent, request } = await import('undici');
  const agent = new Agent({
    connect: {
      rejectUnauthorized: false,
      ...(ca.length > 0 ? { ca: [...rootCertificates, ...ca] } : {}),
      timeout: timeoutMs,
    },
  });
  try {
    const res = await withTimeout(
      request(url, {
        method: 'POST',
        dispatcher: agent,
        ...anonymousIdentifyRequest(),
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
      }),
      timeoutMs + 500,
      'HTTP',
    );
    const body = (await res.body.text()).slice(0, 2000);
    const www = res.headers['www-authenticate'];
    ctx.offered = offeredSchemes(www === undefined ? [] : Array.isArray(www) ? www : [www]);
    const a: HttpAnswer = {
      status: res.statusCode,
      body,
      location: String(res.headers['location'] ?? ''),
      path: url.pathname,
    };
    const status = a.status;
    if (status === 401) unauthorized(ctx, a);
    else if (status === 200)
      ctx.add('http', 'pass', `${a.path} answered WS-Man Identify without authentication`);
    else if (status === 400) badRequest(ctx, a);
    else if (status === 403) forbidden(ctx, a);
    else if (status === 502) badGateway(ctx, a);
    else if (status === 404) notFound(ctx, a);
    else if (status >= 300 && status < 400) redirect(ctx, a);
    else otherStatus(ctx, a);
  } catch (e) {
    ctx.add(
      'http',
      'fail',
      `no HTTP answer from ${url.origin} (${errCode(e)}: ${clip(errMessage(e), 120)})`,
      'Check that the port serves HTTP(S) and that no proxy drops the request.',
      'PSRP_CONNECTION_FAILED',
    );
  } finally {
    await agent.close();
  }
  return ctx.lastFailed()
    ? { from: 'kerberos', reason: 'skipped: the virtual directory did not answer as expected' }
    : undefined;
}

/** 401: the offered schemes; without Basic when Basic is wanted, Basic is disabled on the vdir. */
export function unauthorized(ctx: DiagnoseContext, a: HttpAnswer): void {
  const { offered } = ctx;
  const basic = offered.some((s) => s.toLowerCase() === 'basic');
  if (ctx.auth === 'basic' && !basic) {
    ctx.add(
      'http',
      'fail',
      `${a.path} asks for authentication but offers ${offered.join(', ') || 'no scheme'}, not Basic: Basic authentication is disabled on the virtual directory`,
      'Enable Basic on the PowerShell virtual directory: Set-PowerShellVirtualDirectory -BasicAuthentication $true (or IIS Manager → PowerShell → Authentication → Basic → Enable) on every CAS behind the name; or use Negotiate/Kerberos inside the network.',
      'PSRP_AUTH_FAILED',
    );
  } else {
    ctx.add('http', 'pass', `${a.path} answers and offers ${offered.join(', ') || 'no scheme'}`);
  }
}

/** 400: Exchange's front end rewrites 401 to 400 (field guide: "HTTP bad request status (400)"). */
export function badRequest(ctx: DiagnoseContext, a: HttpAnswer): void {
  const exchange = /FailureCategory|ClientAccessServer|Access is denied/i.test(a.body);
  ctx.add(
    'http',
    'warn',
    exchange
      ? `${a.path} answered 400 with Exchange's plain-text error: the front end turns 401 into 400, so the offered schemes cannot be seen`
      : `${a.path} answered 400 to an anonymous request`,
    'Expected from Exchange; the credential check below tells whether Basic is enabled and the password right.',
    'PSRP_HTTP_BAD_REQUEST',
  );
}

/** 403: "Require SSL" on the virtual directory (field guide: "HTTP Status code of 403"). */
export function forbidden(ctx: DiagnoseContext, a: HttpAnswer): void {
  const { https } = ctx;
  ctx.add(
    'http',
    'fail',
    `${a.path} answered 403 Forbidden${https ? '' : ' over plain http://'}: "Require SSL" is set on the virtual directory${https ? ', or it requires a client certificate' : ''}`,
    https
      ? 'Set SSL settings of the PowerShell virtual directory to ignore client certificates.'
      : 'Use https:// (Basic needs it anyway), or untick "Require SSL" on the PowerShell virtual directory: the field guide warns that requiring SSL breaks internal Kerberos over http.',
    'PSRP_HTTP_FORBIDDEN',
  );
}

/** 502: the reverse proxy cannot talk to (or trust) Exchange (field guide: "502 – Issue with the certificate"). */
export function badGateway(ctx: DiagnoseContext, a: HttpAnswer): void {
  ctx.add(
    'http',
    'fail',
    `${a.path} answered 502 Bad Gateway: the reverse proxy (IIS ARR, load balancer) could not talk to the Exchange server behind it`,
    'On the proxy: trust the Exchange certificate (Trusted Root and Intermediate stores of the ARR server), check the server farm health and URL Rewrite rules; on Exchange: set the PowerShell virtual directory to ignore client certificates.',
    'PSRP_HTTP_BAD_GATEWAY',
  );
}

/** 404: no WS-Management endpoint on that path. */
export function notFound(ctx: DiagnoseContext, a: HttpAnswer): void {
  ctx.add(
    'http',
    'fail',
    `${a.path} answered 404: no WS-Management endpoint there`,
    'Exchange uses https://<server>/PowerShell/ (a Windows WinRM listener uses /wsman).',
    'PSRP_HTTP_NOT_FOUND',
  );
}

/** 3xx: a redirect, followed only with allowRedirection (PowerShell's -AllowRedirection). */
export function redirect(ctx: DiagnoseContext, a: HttpAnswer): void {
  if (ctx.options.allowRedirection === true) {
    ctx.add('http', 'pass', `${a.path} redirects to ${a.location}; redirection is allowed`);
    return;
  }
  ctx.add(
    'http',
    'fail',
    `${a.path} redirects (HTTP ${a.status}) to ${a.location}`,
    "Allow it if you trust that server (--allow-redirection, `allowRedirection: true`, PowerShell's -AllowRedirection): credentials are sent there. Or connect to that URL directly.",
    'PSRP_REDIRECT_NOT_ALLOWED',
  );
}

/** Any other status (503: the app pool is down or throttling). */
export function otherStatus(ctx: DiagnoseContext, a: HttpAnswer): void {
  const { status } = a;
  ctx.add(
    'http',
    'fail',
    `${a.path} answered HTTP ${status}`,
    status === 503
      ? 'The server or its MSExchangePowerShellAppPool is down or throttling: retry, check IIS.'
      : 'Check the server: IIS logs, the event log, Failed Request Tracing.',
    status >= 500 ? 'PSRP_HTTP_SERVER_ERROR' : 'PSRP_HTTP_STATUS',
  );
}
