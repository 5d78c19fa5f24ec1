/**
 * `npm run lab`: starts the loopback lab WinRM endpoint and prints how to connect. Stops on Ctrl+C.
 */
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLab } from './lab-server.js';

export async function runLabCli(argv: readonly string[] = process.argv.slice(2)): Promise<void> {
  const portArg = argv.indexOf('--port');
  const port = portArg >= 0 ? Number(argv[portArg + 1]) : 0;
  const usersArg = argv.indexOf('--users');
  const lab = await startLab({
    port,
    ...(usersArg >= 0 && argv[usersArg + 1] ? { usersFile: argv[usersArg + 1]! } : {}),
  });
  const caFile = join(tmpdir(), `psrp-lab-ca-${process.pid}.pem`);
  writeFileSync(caFile, lab.ca);
  const [user, password] = Object.entries(lab.users)[0]!;
  console.log(`psrp lab: a loopback WinRM endpoint backed by real PowerShell (dev tool, not a server)

  Windows-like  ${lab.url}          (configuration Microsoft.PowerShell)
  Exchange-like ${lab.exchangeUrl}    (configuration Microsoft.Exchange)
  plain HTTP    ${lab.httpOrigin}
  Exchange Online admin API  ${lab.exo.baseUrl}/adminapi/v2.0/${lab.exo.tenantId}/<Endpoint>  (tenant ${lab.exo.tenantId})
  users         ${Object.entries(lab.users)
    .map(([u, p]) => `${u} / ${p}`)
    .join(', ')}
  CA file       ${caFile}

  EXCHANGE_URI=${lab.exchangeUrl} EXCHANGE_USER=${user} EXCHANGE_PASSWORD='${password}' EXCHANGE_CA_FILE=${caFile} npm start

  PSRP_EXO_TOKEN=${lab.exo.issueToken({ expiresInSeconds: 12 * 3600 })} \
    npx tsx src/cli/main.ts exec exo://${lab.exo.tenantId} --base-url ${lab.exo.baseUrl} --ca ${caFile} -- Get-Mailbox -ResultSize 5

Ctrl+C stops it.`);
  const stop = (): void => {
    void lab.close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
