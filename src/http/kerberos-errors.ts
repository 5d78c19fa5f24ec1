// RFC 4121 / RFC 2744 major and minor status texts of MIT krb5 and Heimdal, as the `kerberos`
// binding and `kinit` print them, mapped to psrp's stable codes.
/**
 * One place that turns what GSSAPI or kinit said into an `AuthenticationError` with a stable code
 * and a hint (docs/errors.md), for the Kerberos authenticator and `kinit()`.
 */
import { AuthenticationError } from '../errors.js';

/** Turns a GSSAPI failure into an AuthenticationError with a stable code and a hint. */
export function kerberosError(err: unknown, service: string): AuthenticationError {
  const text = err instanceof Error ? err.message : String(err);
  const spn = service.replace('@', '/');
  const host = service.slice(service.indexOf('@') + 1);
  const make = (code: string, message: string, hint: string): AuthenticationError =>
    new AuthenticationError(`${message} (${text.trim()})`, { mechanism: 'kerberos', code, hint, cause: err });
  if (/Server (\S+ )?not found in Kerberos database|unknown server|S_PRINCIPAL_UNKNOWN/i.test(text))
    return make(
      'PSRP_KERBEROS_SPN_NOT_FOUND',
      `The KDC knows no service principal ${spn}`,
      `Kerberos needs the SPN ${spn} registered on the server's account. A load-balancer VIP or DNS alias usually has none: connect to the server's own FQDN, set \`hostname\` to a name that has the SPN, register it (setspn -S ${spn} <account>; for an Exchange load balancer, the Alternate Service Account), or use NTLM/Basic. Host used: ${host}.`,
    );
  if (/Clock skew too great|KRB_AP_ERR_SKEW/i.test(text))
    return make(
      'PSRP_KERBEROS_CLOCK_SKEW',
      'The clocks of this machine and the KDC differ too much',
      'Kerberos allows 5 minutes by default: synchronise this machine with the domain time (chrony/ntpd against a domain controller).',
    );
  if (/Password (has )?expired|KDC_ERR_KEY_EXP/i.test(text))
    return make(
      'PSRP_KERBEROS_PASSWORD_EXPIRED',
      'The password of this user has expired',
      'Change it first (kpasswd user@REALM, or on Windows); psrp does not change passwords.',
    );
  if (/Password incorrect|Preauthentication failed|KDC_ERR_PREAUTH_FAILED/i.test(text))
    return make(
      'PSRP_KERBEROS_BAD_PASSWORD',
      'The KDC rejected the password',
      'Check the password (case-sensitive) and the realm of the principal; repeated failures can lock the account.',
    );
  if (
    /No Kerberos credentials available|No credentials cache|Credentials cache file .* not found|credentials? (were )?not found|Ticket expired|No credentials were supplied/i.test(
      text,
    )
  )
    return make(
      'PSRP_KERBEROS_NO_CREDENTIALS',
      'No usable Kerberos ticket for this process',
      'Get one first: kinit user@REALM (or a keytab: kinit -k -t file.keytab principal), and check KRB5CCNAME and klist. Tickets expire (default 10 h).',
    );
  if (
    /Cannot (find|contact any) KDC|Cannot resolve network address for KDC|unable to reach any KDC/i.test(text)
  )
    return make(
      'PSRP_KERBEROS_KDC_UNREACHABLE',
      'No Kerberos KDC could be reached',
      'Check /etc/krb5.conf (default_realm, [realms] kdc =) or DNS SRV records _kerberos._udp.<realm>, and that TCP/UDP 88 to a domain controller is open.',
    );
  if (/Client (\S+ )?not found in Kerberos database|Client \(\S+\) unknown|C_PRINCIPAL_UNKNOWN/i.test(text))
    return make(
      'PSRP_KERBEROS_UNKNOWN_USER',
      'The KDC does not know this user',
      'Check the principal name and realm (user@REALM, realm in capitals).',
    );
  return make(
    'PSRP_KERBEROS_FAILED',
    'Kerberos authentication failed',
    'Run with DEBUG=psrp and KRB5_TRACE=/dev/stderr to see the GSSAPI conversation; klist shows the tickets in use.',
  );
}
