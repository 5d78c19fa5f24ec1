/**
 * Where the examples connect: a real Exchange server when PSRP_URI (or PSRP_SERVER) is set,
 * otherwise the built-in lab (HTTPS + Basic + WS-Man in front of real pwsh with a fake organisation).
 *
 *   PSRP_URI=https://cas.contoso.com/PowerShell/   or   PSRP_SERVER=cas.contoso.com
 *   PSRP_USER='CONTOSO\admin'  PSRP_PASSWORD=...  [PSRP_CA_FILE=ca.pem]
 */
import { readFileSync } from 'node:fs';
import type { ConnectExchangeOptions } from '../src/exchange/index.js';
import { startLab, type Lab } from '../src/lab/lab-server.js';

export interface ExchangeTarget {
  readonly options: ConnectExchangeOptions;
  /** The lab, when no server is configured. */
  readonly lab: Lab | undefined;
  close(): Promise<void>;
}

export async function exchangeTarget(
  labOptions: { readonly mailboxCount?: number } = {},
): Promise<ExchangeTarget> {
  const env = process.env;
  if (env['PSRP_URI'] || env['PSRP_SERVER']) {
    return {
      options: {
        ...(env['PSRP_URI'] ? { uri: env['PSRP_URI'] } : { server: env['PSRP_SERVER']! }),
        credential: { username: env['PSRP_USER'] ?? '', password: env['PSRP_PASSWORD'] ?? '' },
        ...(env['PSRP_CA_FILE'] ? { ca: readFileSync(env['PSRP_CA_FILE'], 'utf8') } : {}),
      },
      lab: undefined,
      close: () => Promise.resolve(),
    };
  }
  const lab = await startLab(labOptions);
  console.log(`No PSRP_URI set: using the built-in lab at ${lab.exchangeUrl}\n`);
  return {
    options: {
      uri: lab.exchangeUrl,
      ca: lab.ca,
      credential: { username: 'admin', password: lab.users['admin']! },
    },
    lab,
    close: () => lab.close(),
  };
}
