/**
 * Process A of test/lab/disconnect.test.ts ("a bot restarted mid-command"): opens a pool on the lab
 * (PSRP_LAB_URL, PSRP_LAB_PASSWORD, PSRP_LAB_CA), starts the script of argv[2], disconnects while it
 * runs, prints `{"shellId": …}` and exits without deleting the shell, as a process that stops would.
 */
import { RunspacePool } from '../../src/index.js';

const pool = await RunspacePool.open({
  uri: process.env['PSRP_LAB_URL']!,
  auth: { username: 'admin', password: process.env['PSRP_LAB_PASSWORD']! },
  ca: process.env['PSRP_LAB_CA']!,
});
const running = pool.powershell().addScript(process.argv[2]!).invoke();
running.catch(() => undefined);
// Long enough for the Command to be answered; the script writes nothing for its first seconds.
await new Promise((resolve) => setTimeout(resolve, 700));
await pool.disconnect({ idleTimeoutSeconds: 120 });
process.stdout.write(`${JSON.stringify({ shellId: pool.id.toUpperCase(), state: pool.state })}\n`);
await pool.close();
process.exit(0);
