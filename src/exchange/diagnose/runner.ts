/**
 * `diagnose()`: walks the path of the Exchange field guide (shared/seed/exchange-rps-over-arr.txt)
 * from the client outwards and says, in plain words, what is wrong and how to fix it:
 *
 *   DNS → TCP → TLS (trusted? name? expiry) → HTTP on the virtual directory (status, offered
 *   WWW-Authenticate schemes, Require SSL 403, reverse proxy 502, redirects) → Kerberos/SPN (when
 *   asked for) → credentials (WS-Man Identify with Basic) → shell creation → what the user's
 *   roles grant (a limited role is named as such).
 *
 * Each step is a check of its own file (check-*.ts, mapped onto the field guide's failures in
 * docs/troubleshooting.md); this runner calls them in order. A failed step stops the steps that
 * depend on it (they are reported as skipped, with the reason). Credentials are sent only over a
 * connection the earlier steps proved safe: a trusted certificate (or an explicit
 * skipCertificateCheck) and https:// (or an explicit allowUnencrypted). Nothing in a check's text
 * carries the password.
 *
 * This sits in the Exchange layer and does its own I/O on purpose: a diagnosis must see what the
 * transport hides (the raw status and headers of an anonymous request, the certificate of a
 * connection that failed verification).
 */
import { caList } from '../../index.js';
import { exchangeUri } from '../exchange-session.js';
import { checkAuth, sessionOf } from './check-auth.js';
import { checkDns } from './check-dns.js';
import { checkHttp } from './check-http.js';
import { checkKerberos } from './check-kerberos.js';
import { checkRoles } from './check-roles.js';
import { checkShell } from './check-shell.js';
import { checkTcp } from './check-tcp.js';
import { checkTls } from './check-tls.js';
import type { DiagnoseContext, Stop } from './context.js';
import {
  CHECK_ORDER,
  TITLES,
  type CheckId,
  type DiagnoseOptions,
  type Diagnosis,
  type DiagnosisCheck,
} from './types.js';

export async function diagnose(options: DiagnoseOptions): Promise<Diagnosis> {
  const url = exchangeUri(options);
  const https = url.protocol === 'https:';
  const auth = options.auth ?? 'basic';
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const checks: DiagnosisCheck[] = [];
  const ctx: DiagnoseContext = {
    url,
    options,
    timeoutMs: options.stepTimeoutMs ?? 10_000,
    auth,
    https,
    host,
    port: Number(url.port || (https ? 443 : 80)),
    ca: caList(options.ca),
    add(id: CheckId, status, detail, fix, code): DiagnosisCheck {
      const c: DiagnosisCheck = {
        id,
        title: TITLES[id],
        status,
        detail,
        ...(fix !== undefined ? { fix } : {}),
        ...(code !== undefined ? { code } : {}),
      };
      checks.push(c);
      options.onCheck?.(c);
      return c;
    },
    lastFailed: () => checks.at(-1)?.status === 'fail',
    address: host,
    alias: undefined,
    tlsTrusted: !https,
    offered: [],
  };
  const done = (): Diagnosis => ({ url: url.href, checks, ok: !checks.some((c) => c.status === 'fail') });
  const skipRest = ({ from, reason }: Stop): Diagnosis => {
    for (const id of CHECK_ORDER.slice(CHECK_ORDER.indexOf(from))) {
      if (id === 'kerberos' && auth === 'basic') continue;
      if (id === 'tls' && !https) continue;
      if (!checks.some((c) => c.id === id)) ctx.add(id, 'skip', reason);
    }
    return done();
  };

  for (const check of [checkDns, checkTcp, checkTls, checkHttp, checkKerberos]) {
    const stop = await check(ctx);
    if (stop) return skipRest(stop);
  }
  const session = sessionOf(ctx);
  if (!('auth' in session)) return skipRest(session);
  const refused = await checkAuth(ctx, session);
  if (refused) return skipRest(refused);
  const noShell = await checkShell(ctx, session, (ex) => checkRoles(ctx, ex));
  if (noShell) return skipRest(noShell);
  return done();
}
