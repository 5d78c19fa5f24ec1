// The optional `kerberos` npm binding (MIT GSSAPI), loaded for tests with a loud error when missing.
import { createRequire } from 'node:module';

export interface KerberosClient {
  step(challenge: string): Promise<string>;
  wrap(data: string, options?: { user?: string; protect?: boolean }): Promise<string>;
  unwrap(data: string): Promise<string>;
  contextComplete: boolean;
}

export interface KerberosModule {
  initializeClient(service: string, options: { mechOID?: number; gssFlag?: number }): Promise<KerberosClient>;
  GSS_MECH_OID_KRB5: number;
  GSS_MECH_OID_SPNEGO: number;
  GSS_C_MUTUAL_FLAG: number;
  GSS_C_CONF_FLAG: number;
  GSS_C_INTEG_FLAG: number;
  GSS_C_SEQUENCE_FLAG: number;
}

/** The binding, or an error saying what to install. */
export function loadKerberos(): KerberosModule {
  try {
    return createRequire(import.meta.url)('kerberos') as KerberosModule;
  } catch (e) {
    throw new Error(
      `The optional npm package "kerberos" did not load (${(e as Error).message}): install libkrb5-dev (scripts/ensure-gss.sh) and run npm ci again`,
    );
  }
}

/** Mutual authentication, confidentiality, integrity and sequencing: what a WinRM client asks for. */
export const sealingFlags = (k: KerberosModule): number =>
  k.GSS_C_MUTUAL_FLAG | k.GSS_C_CONF_FLAG | k.GSS_C_INTEG_FLAG | k.GSS_C_SEQUENCE_FLAG;
