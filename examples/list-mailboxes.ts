/**
 * The main job: list mailboxes from Exchange, as plain JavaScript objects.
 *
 *   npm start                                    # no server configured: the built-in lab's fake
 *                                                # organisation (HTTPS + Basic + WS-Man + real pwsh)
 *   PSRP_URI=https://cas.contoso.com/PowerShell/ PSRP_USER='CONTOSO\admin' \
 *     PSRP_PASSWORD=... npm start            # a real Exchange server (Basic over HTTPS)
 *
 * Optional: PSRP_CA_FILE (PEM of a private CA), PSRP_RESULT_SIZE (default 10).
 */
import { readFileSync } from 'node:fs';
import { RunspacePool } from '../src/index.js';
import { parseUnlimitedSize } from '../src/exchange/index.js';
import { startLab } from '../src/lab/lab-server.js';

const env = process.env;
const lab = env['PSRP_URI'] ? undefined : await startLab();
if (lab) console.log(`No PSRP_URI set: using the built-in lab at ${lab.exchangeUrl}\n`);

const pool = await RunspacePool.open({
  uri: env['PSRP_URI'] ?? lab!.exchangeUrl,
  configurationName: 'Microsoft.Exchange',
  auth: lab
    ? { username: 'admin', password: lab.users['admin']! }
    : { username: env['PSRP_USER'] ?? '', password: env['PSRP_PASSWORD'] ?? '' },
  ...(lab ? { ca: lab.ca } : env['PSRP_CA_FILE'] ? { ca: readFileSync(env['PSRP_CA_FILE'], 'utf8') } : {}),
});

type Mailbox = {
  DisplayName: string;
  PrimarySmtpAddress: string;
  RecipientTypeDetails: unknown;
  ProhibitSendQuota: unknown;
};
try {
  const ps = pool
    .powershell()
    .addCommand('Get-Mailbox')
    .addParameter('ResultSize', Number(env['PSRP_RESULT_SIZE'] ?? 10));
  console.log(
    'DisplayName'.padEnd(24) + 'PrimarySmtpAddress'.padEnd(34) + 'Type'.padEnd(16) + 'ProhibitSendQuota',
  );
  for await (const m of ps.output<Mailbox>()) {
    const quota = parseUnlimitedSize(String(m.ProhibitSendQuota));
    // A size prints as Exchange shows it: 49.5 GB (53,150,220,288 bytes); quota.bytes is the exact bigint.
    const q = String(quota ?? m.ProhibitSendQuota);
    console.log(
      String(m.DisplayName).padEnd(24) +
        String(m.PrimarySmtpAddress).padEnd(34) +
        String(m.RecipientTypeDetails).padEnd(16) +
        q,
    );
  }
} finally {
  await pool.close();
  await lab?.close();
}
