/**
 * The main example: run a command and print plain JavaScript objects.
 *
 *   npm start                                   # no server configured: starts the built-in lab
 *                                               # (HTTPS + Basic + WS-Man in front of real pwsh)
 *   PSRP_URI=https://server:5986/wsman PSRP_USER='CONTOSO\admin' PSRP_PASSWORD=... npm start
 *   PSRP_URI=https://cas.contoso.com/PowerShell/ PSRP_CONFIGURATION=Microsoft.Exchange \
 *     PSRP_COMMAND=Get-Mailbox PSRP_USER=... PSRP_PASSWORD=... npm start
 *
 * Options read from the environment: PSRP_URI, PSRP_USER, PSRP_PASSWORD, PSRP_CONFIGURATION
 * (default Microsoft.PowerShell), PSRP_COMMAND (default Get-Process), PSRP_CA_FILE (PEM to trust),
 * PSRP_SKIP_CERT_CHECK=1 (lab only).
 */
import { readFileSync } from 'node:fs';
import { RunspacePool, psMeta } from '../src/index.js';
import { startLab } from '../src/lab/lab-server.js';

const env = process.env;
const command = env['PSRP_COMMAND'] ?? 'Get-Process';

// No real server configured: start the lab (a loopback WinRM endpoint backed by real pwsh).
const lab = env['PSRP_URI'] ? undefined : await startLab();
if (lab) console.log(`no PSRP_URI set: using the built-in lab at ${lab.url}`);

const pool = await RunspacePool.open({
  uri: env['PSRP_URI'] ?? lab!.url,
  auth: lab
    ? { username: 'admin', password: lab.users['admin']! }
    : { username: env['PSRP_USER'] ?? '', password: env['PSRP_PASSWORD'] ?? '' },
  configurationName: env['PSRP_CONFIGURATION'] ?? 'Microsoft.PowerShell',
  ...(lab ? { ca: lab.ca } : env['PSRP_CA_FILE'] ? { ca: readFileSync(env['PSRP_CA_FILE'], 'utf8') } : {}),
  skipCertificateCheck: env['PSRP_SKIP_CERT_CHECK'] === '1',
});

try {
  console.log(`connected: protocol ${pool.serverProtocolVersion}, running ${command}`);
  const ps = pool.powershell().addCommand(command);
  if (command === 'Get-Process') ps.addCommand('Select-Object').addParameter('First', 5);
  const result = await ps.invoke();
  for (const obj of result.output) {
    const o = obj as Record<string, unknown>;
    const type = psMeta(obj)?.typeNames[0] ?? typeof obj;
    console.log(
      `- ${String(o['Name'] ?? o['DisplayName'] ?? psMeta(obj)?.toStringValue ?? obj)}  (${type}, ${Object.keys(o).length} properties)`,
    );
  }
  for (const w of result.warnings) console.log(`WARNING: ${w.message}`);
  for (const e of result.errors) console.error(`ERROR: ${e.toString()}`);
  process.exitCode = result.hadErrors ? 1 : 0;
} finally {
  await pool.close();
  await lab?.close();
}
