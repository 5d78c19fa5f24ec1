/**
 * Credentials: an authenticated WS-Man Identify with the chosen mechanism, sent only over a
 * connection the earlier checks proved safe. Names Basic over http:// (field guide: "Trying to
 * access Basic Authentication internally over http"), a refused password (401) and Exchange's 400
 * rewrite of it (field guide: "HTTP bad request status (400) … invalid credentials").
 */
import {
  AuthenticationError,
  identify,
  PsrpError,
  TransportError,
  WSManFaultError,
  type AuthOption,
} from '../../index.js';
import type { DiagnoseContext, Session, Stop } from './context.js';
import { clip, errMessage, hintOf } from './probes.js';

/** How the checks from here on authenticate, or a Stop when they cannot. */
export function sessionOf(ctx: DiagnoseContext): Session | Stop {
  const { auth, alias, options, ca } = ctx;
  const cred = options.credential;
  const authOption: AuthOption | undefined =
    auth === 'basic'
      ? cred
      : auth === 'ntlm'
        ? cred && { method: 'ntlm', ...cred }
        : auth === 'kerberos'
          ? { method: 'kerberos', ...(alias ? { hostname: alias } : {}) }
          : { method: 'negotiate', ...(alias ? { hostname: alias } : {}), ...(cred ?? {}) };
  if (!authOption) return { from: 'auth', reason: 'skipped: no credentials given' };
  if (!ctx.tlsTrusted)
    return {
      from: 'auth',
      reason: 'skipped: credentials are not sent to a server whose certificate is not trusted',
    };
  return {
    auth: authOption,
    http: {
      ...(ca.length > 0 ? { ca } : {}),
      ...(options.skipCertificateCheck === true ? { skipCertificateCheck: true } : {}),
      ...(options.allowRedirection === true ? { allowRedirection: true } : {}),
      ...(options.allowUnencrypted === true ? { allowUnencrypted: true } : {}),
      requestTimeoutMs: ctx.timeoutMs,
    },
  };
}

export async function checkAuth(ctx: DiagnoseContext, session: Session): Promise<Stop | undefined> {
  const { auth } = ctx;
  const who = ctx.options.credential?.username ?? 'the Kerberos ticket';
  const scheme =
    auth === 'basic' ? 'Basic' : auth === 'ntlm' ? 'NTLM' : auth === 'kerberos' ? 'Kerberos' : 'Negotiate';
  try {
    const identity = await identify({ uri: ctx.url, auth: session.auth, ...session.http });
    ctx.add(
      'auth',
      'pass',
      `${who} accepted (${scheme}); WS-Man ${identity.productVendor}${identity.productVersion ? ` ${identity.productVersion}` : ''}`,
    );
    return undefined;
  } catch (e) {
    if (
      e instanceof WSManFaultError ||
      (e instanceof PsrpError && e.code === 'PSRP_WSMAN_INVALID_ENVELOPE')
    ) {
      ctx.add(
        'auth',
        'pass',
        `${who} accepted (${scheme}); the endpoint does not answer WS-Man Identify (${clip(errMessage(e), 100)})`,
      );
      return undefined;
    }
    const code = e instanceof PsrpError ? e.code : undefined;
    let detail = errMessage(e);
    let fix = hintOf(e);
    if (code === 'PSRP_INSECURE_BASIC') {
      detail =
        'Basic over plain http:// would send the password in clear text; psrp refuses, as PowerShell does';
      fix =
        'Use https:// (the field guide: "Configuration doesn\'t allow you to connect to the PowerShell Endpoint without encryption"); --allow-unencrypted only in a lab.';
    } else if (e instanceof AuthenticationError && code === 'PSRP_AUTH_FAILED') {
      detail = `${who} was refused (HTTP 401, ${scheme})`;
      fix =
        auth === 'basic'
          ? 'Check the user name (DOMAIN\\user or user@domain) and the password, and that Basic is enabled on the virtual directory.'
          : 'Check the user name and password (NTLM) or the ticket (klist), and that the account may use remote PowerShell (Get-User <name> | fl RemotePowerShellEnabled).';
    } else if (e instanceof TransportError && e.statusCode === 400) {
      detail = `${who} was refused: Exchange answered 400 (it rewrites 401 to 400)`;
      fix =
        'Check the user name (DOMAIN\\user or UPN) and the password; check that Basic is enabled on the PowerShell virtual directory (Set-PowerShellVirtualDirectory -BasicAuthentication $true).';
    }
    ctx.add('auth', 'fail', detail, fix, code);
    return { from: 'shell', reason: 'skipped: the credentials were not accepted' };
  }
}
