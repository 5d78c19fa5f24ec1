/**
 * The main example: run a command and print plain JavaScript objects.
 *
 *   npm start                                   # local PowerShell 7 (pwsh -s), no server needed
 *   PSRP_URI=https://server:5986/wsman PSRP_USER='CONTOSO\admin' PSRP_PASSWORD=... npm start
 *   PSRP_URI=https://cas.contoso.com/PowerShell/ PSRP_CONFIGURATION=Microsoft.Exchange \
 *     PSRP_COMMAND=Get-Mailbox PSRP_USER=... PSRP_PASSWORD=... npm start
 *
 * Options read from the environment: PSRP_URI, PSRP_USER, PSRP_PASSWORD, PSRP_CONFIGURATION
 * (default Microsoft.PowerShell), PSRP_COMMAND (default Get-Process), PSRP_CA_FILE (PEM to trust),
 * PSRP_SKIP_CERT_CHECK=1 (lab only).
 */
import { readFileSync } from 'node:fs';
import { OutOfProcConnection, RunspacePool, psMeta } from '../src/index.js';

const env = process.env;
const command = env['PSRP_COMMAND'] ?? 'Get-Process';

const pool = env['PSRP_URI']
  ? await RunspacePool.open({
      uri: env['PSRP_URI'],
      auth: { username: env['PSRP_USER'] ?? '', password: env['PSRP_PASSWORD'] ?? '' },
      configurationName: env['PSRP_CONFIGURATION'] ?? 'Microsoft.PowerShell',
      ...(env['PSRP_CA_FILE'] ? { ca: readFileSync(env['PSRP_CA_FILE'], 'utf8') } : {}),
      skipCertificateCheck: env['PSRP_SKIP_CERT_CHECK'] === '1',
    })
  : await RunspacePool.open({ connection: new OutOfProcConnection() });

try {
  console.log(`connected: protocol ${pool.serverProtocolVersion}, running ${command}`);
  const ps = pool.powershell().addCommand(command);
  if (command === 'Get-Process') ps.addCommand('Select-Object').addParameter('First', 5);
  const result = await ps.invoke();
  for (const obj of result.output) {
    const o = obj as Record<string, unknown>;
    const type = psMeta(obj)?.typeNames[0] ?? typeof obj;
    console.log(`- ${String(o['Name'] ?? o['DisplayName'] ?? psMeta(obj)?.toStringValue ?? obj)}  (${type}, ${Object.keys(o).length} properties)`);
  }
  for (const w of result.warnings) console.log(`WARNING: ${w.message}`);
  for (const e of result.errors) console.error(`ERROR: ${e.toString()}`);
  process.exitCode = result.hadErrors ? 1 : 0;
} finally {
  await pool.close();
}
