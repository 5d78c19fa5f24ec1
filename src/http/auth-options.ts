// MS-WSMV 2.2.9.1 (the authentication schemes WinRM offers): the public `auth` option and how each
// form becomes an Authenticator.
/**
 * What users pass as `auth`: plain Basic credentials (the common Exchange case), an object naming
 * a method, or any {@link Authenticator}. One place maps them, so HttpTransport, RunspacePool,
 * connectExchange and the CLI accept the same forms.
 */
import { NtlmAuthenticator } from './ntlm-authenticator.js';
import { InvalidArgumentError } from '../errors.js';
import type { Authenticator } from './authenticator.js';
import { BasicAuthenticator, type BasicCredentials } from './basic-authenticator.js';
import { CertificateAuthenticator, type CertificateCredentials } from './certificate-authenticator.js';
import { TokenAuthenticator, type TokenCredentials } from './token-authenticator.js';
import { KerberosAuthenticator } from './kerberos-authenticator.js';
import { NegotiateAuthenticator } from './negotiate-authenticator.js';

/** Kerberos service-principal settings shared by `kerberos` and `negotiate`. */
export interface KerberosTarget {
  /** Host of the SPN when the URL names a VIP or alias without one (`HTTP/<hostname>`). */
  readonly hostname?: string | undefined;
  /** The whole SPN (`HTTP/cas01.contoso.com`); overrides `hostname`. */
  readonly spn?: string | undefined;
  /** Client principal to pick from a credential-cache collection. */
  readonly principal?: string | undefined;
  /** Delegate (forward) the Kerberos ticket to the server. Default false. */
  readonly delegate?: boolean | undefined;
}

/** The `auth` option: see docs/auth.md for when to use which. */
export type AuthOption =
  | BasicCredentials
  | ({ readonly method: 'basic' } & BasicCredentials)
  | ({
      readonly method: 'ntlm';
      /** `Negotiate` (default; raw NTLM tokens, as WinRM accepts) or `NTLM`. */
      readonly scheme?: 'Negotiate' | 'NTLM' | undefined;
    } & BasicCredentials)
  | ({
      readonly method: 'negotiate';
      /** For the NTLM fallback when Kerberos cannot be used; omit to require Kerberos. */
      readonly username?: string | undefined;
      readonly password?: string | undefined;
      /** Never fall back to NTLM. Default false. */
      readonly kerberosOnly?: boolean | undefined;
    } & KerberosTarget)
  | ({
      readonly method: 'kerberos';
      /** With a password, psrp runs `kinit` into a private cache; without, it uses the process's ticket. */
      readonly username?: string | undefined;
      readonly password?: string | undefined;
    } & KerberosTarget)
  | ({ readonly method: 'certificate' } & CertificateCredentials)
  | ({ readonly method: 'token' } & TokenCredentials)
  | Authenticator;

const isAuthenticator = (a: object): a is Authenticator =>
  typeof (a as Partial<Authenticator>).authorize === 'function';

/** The Authenticator for an `auth` option (undefined stays undefined: anonymous). */
export function resolveAuth(auth: AuthOption | undefined): Authenticator | undefined {
  if (auth === undefined) return undefined;
  if (typeof auth !== 'object' || auth === null) throw new InvalidArgumentError('auth must be an object');
  if (isAuthenticator(auth)) return auth;
  const method = 'method' in auth ? auth.method : 'basic';
  const target = (a: KerberosTarget): KerberosTarget => ({
    ...(a.hostname !== undefined ? { hostname: a.hostname } : {}),
    ...(a.spn !== undefined ? { spn: a.spn } : {}),
    ...(a.principal !== undefined ? { principal: a.principal } : {}),
    ...(a.delegate !== undefined ? { delegate: a.delegate } : {}),
  });
  switch (method) {
    case 'basic': {
      const a = auth as BasicCredentials;
      return new BasicAuthenticator({ username: a.username, password: a.password });
    }
    case 'ntlm': {
      const a = auth as BasicCredentials & { scheme?: 'Negotiate' | 'NTLM' };
      return new NtlmAuthenticator({
        credentials: { username: a.username, password: a.password },
        ...(a.scheme !== undefined ? { scheme: a.scheme } : {}),
      });
    }
    case 'kerberos': {
      const a = auth as KerberosTarget & { username?: string; password?: string };
      if ((a.username === undefined) !== (a.password === undefined))
        throw new InvalidArgumentError(
          'kerberos takes both username and password (kinit), or neither (the ticket cache)',
        );
      return new KerberosAuthenticator({
        ...target(a),
        scheme: 'Kerberos',
        ...(a.username !== undefined && a.password !== undefined
          ? { credentials: { username: a.username, password: a.password } }
          : {}),
      });
    }
    case 'negotiate': {
      const a = auth as KerberosTarget & { username?: string; password?: string; kerberosOnly?: boolean };
      if ((a.username === undefined) !== (a.password === undefined))
        throw new InvalidArgumentError(
          'negotiate needs both username and password for its NTLM fallback, or neither',
        );
      return new NegotiateAuthenticator({
        ...target(a),
        ...(a.username !== undefined && a.password !== undefined
          ? { credentials: { username: a.username, password: a.password } }
          : {}),
        ...(a.kerberosOnly !== undefined ? { kerberosOnly: a.kerberosOnly } : {}),
      });
    }
    case 'certificate': {
      const { method: _m, ...credentials } = auth as { method: string } & CertificateCredentials;
      return new CertificateAuthenticator(credentials);
    }
    case 'token': {
      const a = auth as TokenCredentials;
      return new TokenAuthenticator({ username: a.username, token: a.token });
    }
    default:
      throw new InvalidArgumentError(
        `Unknown auth method ${JSON.stringify(String(method)).slice(0, 40)} (use basic, ntlm, negotiate, kerberos, certificate or token)`,
      );
  }
}
