/**
 * Where the examples connect: a real Exchange server when EXCHANGE_URI (or EXCHANGE_SERVER) is set,
 * otherwise the built-in lab (HTTPS + Basic + WS-Man in front of real pwsh with a fake organisation).
 *
 *   EXCHANGE_URI=https://cas.contoso.com/PowerShell/   or   EXCHANGE_SERVER=cas.contoso.com
 *   EXCHANGE_USER='CONTOSO\admin'  EXCHANGE_PASSWORD=...  [EXCHANGE_CA_FILE=ca.pem]
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
  if (env['EXCHANGE_URI'] || env['EXCHANGE_SERVER']) {
    return {
      options: {
        ...(env['EXCHANGE_URI'] ? { uri: env['EXCHANGE_URI'] } : { server: env['EXCHANGE_SERVER']! }),
        credential: { username: env['EXCHANGE_USER'] ?? '', password: env['EXCHANGE_PASSWORD'] ?? '' },
        ...(env['EXCHANGE_CA_FILE'] ? { ca: readFileSync(env['EXCHANGE_CA_FILE'], 'utf8') } : {}),
      },
      lab: undefined,
      close: () => Promise.resolve(),
    };
  }
  const lab = await startLab(labOptions);
  console.log(`No EXCHANGE_URI set: using the built-in lab at ${lab.exchangeUrl}\n`);
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
