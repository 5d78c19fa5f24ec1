/** The shapes of a diagnosis (`diagnose()` in runner.ts): checks, their statuses, the options. */

export type CheckStatus = 'pass' | 'warn' | 'fail' | 'skip';
export type CheckId = 'dns' | 'tcp' | 'tls' | 'http' | 'kerberos' | 'auth' | 'shell' | 'roles';

export interface DiagnosisCheck {
  readonly id: CheckId;
  readonly title: string;
  readonly status: CheckStatus;
  /** What was found, in plain words. */
  readonly detail: string;
  /** What to do about it (for warn and fail). */
  readonly fix?: string | undefined;
  /** The psrp error code behind a failure, when there is one. */
  readonly code?: string | undefined;
}

export interface Diagnosis {
  readonly url: string;
  readonly checks: readonly DiagnosisCheck[];
  /** True when no check failed. */
  readonly ok: boolean;
}

export interface DiagnoseOptions {
  /** A server name (→ `https://<server>/PowerShell/`) or a full URI. */
  readonly server?: string | undefined;
  readonly uri?: string | URL | undefined;
  /** Without it, the steps that need credentials are skipped. */
  readonly credential?: { readonly username: string; readonly password: string } | undefined;
  /**
   * The mechanism to check and use: Basic (default), NTLM, Negotiate (Kerberos with an NTLM
   * fallback when `credential` is given) or Kerberos (the ticket cache; `credential` is not used).
   */
  readonly auth?: 'basic' | 'negotiate' | 'kerberos' | 'ntlm' | undefined;
  readonly ca?: string | Buffer | readonly (string | Buffer)[] | undefined;
  readonly skipCertificateCheck?: boolean | undefined;
  readonly allowRedirection?: boolean | undefined;
  readonly allowUnencrypted?: boolean | undefined;
  /** Milliseconds each network step may take. Default 10000. */
  readonly stepTimeoutMs?: number | undefined;
  /** Called as each check completes (for live output). */
  readonly onCheck?: ((check: DiagnosisCheck) => void) | undefined;
}

/** The checks in the order they run: from the client outwards, as the field guide walks. */
export const CHECK_ORDER: readonly CheckId[] = [
  'dns',
  'tcp',
  'tls',
  'http',
  'kerberos',
  'auth',
  'shell',
  'roles',
];

export const TITLES: Readonly<Record<CheckId, string>> = {
  dns: 'DNS',
  tcp: 'TCP',
  tls: 'TLS certificate',
  http: 'HTTP on the virtual directory',
  kerberos: 'Kerberos / SPN',
  auth: 'Credentials',
  shell: 'Shell',
  roles: 'Roles',
};
