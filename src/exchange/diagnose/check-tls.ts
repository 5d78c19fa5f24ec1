/**
 * TLS (https:// only): the certificate is trusted, names the host (field guide: a CNAME or virtual
 * name must be on the certificate) and has not expired. Sets `ctx.tlsTrusted`.
 */
import { checkServerIdentity } from 'node:tls';
import type { DiagnoseContext, Stop } from './context.js';
import { errCode, probeTls, withTimeout } from './probes.js';

export async function checkTls(ctx: DiagnoseContext): Promise<Stop | undefined> {
  const { host, port, timeoutMs } = ctx;
  ctx.tlsTrusted = !ctx.https;
  if (!ctx.https) return undefined;
  try {
    const t = await withTimeout(probeTls(host, ctx.address, port, ctx.ca, timeoutMs), timeoutMs + 500, 'TLS');
    const cert = t.cert;
    const first = (v: string | string[] | undefined): string | undefined => (Array.isArray(v) ? v[0] : v);
    const names = cert?.subjectaltname?.replace(/DNS:|IP Address:/g, '') ?? first(cert?.subject?.CN) ?? '?';
    const issuer = first(cert?.issuer?.CN) ?? first(cert?.issuer?.O) ?? '?';
    const until = cert ? new Date(cert.valid_to) : undefined;
    const days = until ? Math.floor((until.getTime() - Date.now()) / 86_400_000) : undefined;
    const nameError = cert ? checkServerIdentity(host, cert) : undefined;
    const about = `issued to ${names} by ${issuer}, valid until ${until?.toISOString().slice(0, 10) ?? '?'}`;
    if (t.authorizationError === 'CERT_HAS_EXPIRED' || (days !== undefined && days < 0)) {
      ctx.add(
        'tls',
        'fail',
        `the certificate has expired (${about})`,
        'Renew the certificate on the server (Exchange: New-ExchangeCertificate / Enable-ExchangeCertificate -Services IIS), and on the reverse proxy if it terminates TLS. Check both clocks.',
        'PSRP_TLS_EXPIRED',
      );
    } else if (nameError) {
      ctx.add(
        'tls',
        'fail',
        `the certificate does not name ${host} (${about})`,
        `Connect with a name the certificate lists, or add ${host} to its subject alternative names (a CNAME or load-balanced VIP name must be on the certificate).`,
        'PSRP_TLS_NAME_MISMATCH',
      );
    } else if (!t.authorized) {
      if (ctx.options.skipCertificateCheck === true) {
        ctx.add(
          'tls',
          'warn',
          `the certificate is not trusted (${t.authorizationError ?? 'unknown'}; ${about}); verification is off as asked`,
          'Trust the issuing CA instead of turning verification off outside a lab.',
        );
        ctx.tlsTrusted = true;
      } else {
        ctx.add(
          'tls',
          'fail',
          `the certificate is not trusted (${t.authorizationError ?? 'unknown'}; ${about})`,
          'Trust the issuing CA: pass --ca <file.pem> (or `ca`), or set NODE_EXTRA_CA_CERTS; a self-signed Exchange certificate must be exported and trusted on the client (and on the ARR server). --skip-certificate-check is the -SkipCACheck of a lab.',
          'PSRP_TLS_UNTRUSTED',
        );
      }
    } else {
      ctx.tlsTrusted = true;
      ctx.add(
        'tls',
        days !== undefined && days < 30 ? 'warn' : 'pass',
        `trusted, ${t.protocol ?? 'TLS'}, ${about}${days !== undefined ? ` (${days} days left)` : ''}`,
        days !== undefined && days < 30
          ? 'The certificate expires soon: renew it before clients start failing.'
          : undefined,
      );
    }
    return undefined;
  } catch (e) {
    const code = errCode(e);
    ctx.add(
      'tls',
      'fail',
      `no TLS handshake with ${host}:${port} (${code})`,
      /WRONG_VERSION_NUMBER|PACKET_LENGTH/.test(code)
        ? 'This port speaks plain HTTP: use http://, or the https port.'
        : 'The server closed the handshake: check the binding of the certificate in IIS, TLS versions, or a proxy in between.',
      'PSRP_TLS_HANDSHAKE_FAILED',
    );
    return { from: 'http', reason: 'skipped: no TLS connection' };
  }
}
