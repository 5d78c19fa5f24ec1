/**
 * Where the Exchange Online examples connect: a real tenant when PSRP_EXO_TENANT_ID is set, otherwise the
 * built-in lab's Exchange Online surface (the admin API in front of the same fake organisation as
 * the lab's Remote PowerShell endpoint, with lab-signed test tokens).
 *
 *   PSRP_EXO_TENANT_ID=<tenant GUID>  PSRP_EXO_TOKEN=<bearer token for https://outlook.office365.com>
 *
 * In a real service pass a TokenCredential instead of a fixed token, e.g. with @azure/identity:
 *   token: new ClientCertificateCredential(tenantId, clientId, { certificatePath: 'app.pem' })
 */
import type { ConnectExchangeOnlineOptions } from '../src/exchange/index.js';
import { startLab, type Lab } from '../src/lab/lab-server.js';

export interface ExchangeOnlineTarget {
  readonly options: ConnectExchangeOnlineOptions;
  /** The lab, when no tenant is configured. */
  readonly lab: Lab | undefined;
  close(): Promise<void>;
}

export async function exchangeOnlineTarget(
  settings: { readonly mailboxCount?: number; readonly unsupportedBetaInvokeCommand?: boolean } = {},
): Promise<ExchangeOnlineTarget> {
  const env = process.env;
  const beta = settings.unsupportedBetaInvokeCommand === true ? { unsupportedBetaInvokeCommand: true } : {};
  if (env['PSRP_EXO_TENANT_ID']) {
    const token = env['PSRP_EXO_TOKEN'] ?? '';
    return {
      options: { tenantId: env['PSRP_EXO_TENANT_ID'], token: () => token, ...beta },
      lab: undefined,
      close: () => Promise.resolve(),
    };
  }
  const lab = await startLab(
    settings.mailboxCount !== undefined ? { mailboxCount: settings.mailboxCount } : {},
  );
  console.log(
    `No PSRP_EXO_TENANT_ID set: using the built-in lab's Exchange Online surface at ${lab.exo.baseUrl}/adminapi/\n`,
  );
  return {
    options: {
      tenantId: lab.exo.tenantId,
      token: () => lab.exo.issueToken(), // app-only, audience https://outlook.office365.com
      baseUrl: lab.exo.baseUrl,
      ca: lab.ca,
      ...beta,
    },
    lab,
    close: () => lab.close(),
  };
}
