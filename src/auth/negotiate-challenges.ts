// RFC 4559 2 and 4 (the `Negotiate` scheme's `WWW-Authenticate: Negotiate [token]`), with the same
// form for `NTLM` and for the `Kerberos` scheme WinRM offers when Negotiate is turned off.
/**
 * The token-carrying challenges of one 401 (or of the final 200, for mutual authentication),
 * shared by the NTLM and the Kerberos/Negotiate authenticators.
 */

const SCHEMES: Readonly<Record<string, 'Negotiate' | 'NTLM' | 'Kerberos'>> = {
  negotiate: 'Negotiate',
  ntlm: 'NTLM',
  kerberos: 'Kerberos',
};
const TOKEN = /^[A-Za-z0-9+/]+={0,2}$/;

/**
 * The `Negotiate`, `NTLM` and `Kerberos` challenges in `WWW-Authenticate` values: scheme (in that
 * spelling) → base64 token, '' when the scheme is offered bare. A value that is not base64 is
 * ignored; a token wins over a bare offer of the same scheme.
 */
export function parseNegotiateChallenges(wwwAuthenticate: readonly string[]): Map<string, string> {
  const found = new Map<string, string>();
  for (const value of wwwAuthenticate) {
    for (const part of value.split(',')) {
      const m = /^\s*(Negotiate|NTLM|Kerberos)(?:\s+(\S+))?\s*$/i.exec(part);
      const scheme = m?.[1] === undefined ? undefined : SCHEMES[m[1].toLowerCase()];
      if (scheme === undefined) continue;
      const token = m?.[2] ?? '';
      if (token === '' || TOKEN.test(token)) if (!found.has(scheme) || token !== '') found.set(scheme, token);
    }
  }
  return found;
}
