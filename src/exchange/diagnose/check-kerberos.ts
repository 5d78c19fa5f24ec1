/**
 * Kerberos / SPN (only for Negotiate, Kerberos or NTLM): the virtual directory offers the scheme,
 * and the KDC issues a ticket for HTTP/<name> (field guide: "HTTP Kerberos error on VIPName or load
 * balanced DNS Record"; over http://, messages are encrypted with the context).
 */
import { KerberosAuthenticator, PsrpError } from '../../index.js';
import type { DiagnoseContext, Stop } from './context.js';
import { clip, errMessage, hintOf, withTimeout } from './probes.js';

export async function checkKerberos(ctx: DiagnoseContext): Promise<Stop | undefined> {
  const { auth, offered, alias, host, url } = ctx;
  if (auth === 'basic') return undefined;
  const spn = `HTTP/${alias ?? host}`;
  const scheme = auth === 'kerberos' ? 'kerberos' : auth === 'ntlm' ? '(negotiate|ntlm)' : 'negotiate';
  if (!offered.some((s) => new RegExp(`^${scheme}$`, 'i').test(s))) {
    ctx.add(
      'kerberos',
      'fail',
      `the virtual directory offers ${offered.length > 0 ? offered.join(', ') : 'no authentication scheme'}, not ${auth === 'ntlm' ? 'Negotiate or NTLM' : auth === 'kerberos' ? 'Kerberos' : 'Negotiate'}`,
      'Enable Windows authentication on the virtual directory (Set-PowerShellVirtualDirectory -WindowsAuthentication $true), or use Basic over https://.',
      'PSRP_AUTH_FAILED',
    );
    return { from: 'auth', reason: `skipped: the server does not offer ${auth}` };
  }
  if (auth === 'ntlm')
    ctx.add('kerberos', 'pass', `NTLM needs no SPN; the server offers ${offered.join(', ')}`);
  else {
    // Ask the KDC for a ticket to the SPN: this is where a VIP or alias without one fails.
    try {
      const probe = new KerberosAuthenticator({
        scheme: auth === 'kerberos' ? 'Kerberos' : 'Negotiate',
        ...(alias ? { hostname: alias } : {}),
      });
      await withTimeout(Promise.resolve(probe.authorize({ method: 'POST', url })), ctx.timeoutMs, 'the KDC');
      ctx.add(
        'kerberos',
        'pass',
        `a ticket for ${spn} was issued${alias ? ` (${host} is an alias of ${alias})` : ''}`,
      );
    } catch (e) {
      const code = e instanceof PsrpError ? e.code : undefined;
      const fallback =
        auth === 'negotiate' && ctx.options.credential !== undefined && code !== 'PSRP_KERBEROS_CLOCK_SKEW';
      ctx.add(
        'kerberos',
        fallback ? 'warn' : 'fail',
        `${clip(errMessage(e), 200)}${fallback ? '; Negotiate will fall back to NTLM with the given credentials' : ''}`,
        hintOf(e) ??
          `On a load-balanced or VIP name Kerberos fails unless an alternate service account holds ${spn} (setspn -S ${spn} <ASA account>): connect to a CAS FQDN instead.`,
        code,
      );
      if (!fallback) return { from: 'auth', reason: 'skipped: Kerberos cannot get a ticket' };
    }
  }
  negotiateOverHttp(ctx);
  return undefined;
}

/**
 * Windows authentication over http:// (field guide: "HTTP with Negotiate Authentication Error …
 * use https://"): PowerShell then encrypts every message with the context, and so does psrp.
 */
export function negotiateOverHttp(ctx: DiagnoseContext): void {
  if (ctx.https) return;
  ctx.add(
    'kerberos',
    'pass',
    'over http:// every message will be encrypted with the authentication context (MS-WSMV message encryption)',
  );
}
