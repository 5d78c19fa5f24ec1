/**
 * What the checks of a diagnosis share: the target, the options, the facts earlier checks found
 * (the address, a CNAME, whether TLS can be trusted, the offered schemes), and `add` to report.
 * A check returns {@link Stop} when the checks after it cannot run.
 */
import type { AuthOption } from '../../index.js';
import type { CheckId, CheckStatus, DiagnoseOptions, DiagnosisCheck } from './types.js';

export interface DiagnoseContext {
  readonly url: URL;
  readonly options: DiagnoseOptions;
  readonly timeoutMs: number;
  readonly auth: 'basic' | 'negotiate' | 'kerberos' | 'ntlm';
  readonly https: boolean;
  /** The host name, without IPv6 brackets. */
  readonly host: string;
  readonly port: number;
  readonly ca: readonly (string | Buffer)[];
  /** Reports a check. */
  add(id: CheckId, status: CheckStatus, detail: string, fix?: string, code?: string): DiagnosisCheck;
  /** Whether the last check reported failed. */
  lastFailed(): boolean;
  /** The address to connect to (the DNS check's answer). */
  address: string;
  /** The canonical name when the host is a CNAME (the Kerberos SPN is that name's). */
  alias: string | undefined;
  /** Whether credentials may be sent: plain http://, a trusted certificate or verification off as asked. */
  tlsTrusted: boolean;
  /** Schemes the virtual directory offers in WWW-Authenticate. */
  offered: string[];
}

/** The checks from `from` on are skipped, for `reason`. */
export interface Stop {
  readonly from: CheckId;
  readonly reason: string;
}

/** What the credential check settles for the shell check: how to authenticate, over what. */
export interface Session {
  readonly auth: AuthOption;
  readonly http: {
    readonly ca?: readonly (string | Buffer)[];
    readonly skipCertificateCheck?: boolean;
    readonly allowRedirection?: boolean;
    readonly allowUnencrypted?: boolean;
    readonly requestTimeoutMs: number;
  };
}
