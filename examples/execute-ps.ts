/**
 * One-shot PowerShell: open a pool, run a script, collect every stream, close the pool.
 *
 *   npx tsx examples/execute-ps.ts              # no server configured: starts the built-in lab
 *   PSRP_URI=https://server:5986/wsman PSRP_USER='CONTOSO\admin' PSRP_PASSWORD=... npx tsx examples/execute-ps.ts
 */
import { executePs } from '../src/index.js';
import { startLab } from '../src/lab/lab-server.js';

const env = process.env;
const lab = env['PSRP_URI'] ? undefined : await startLab();
if (lab) console.log(`no PSRP_URI set: using the built-in lab at ${lab.url}`);
const connection = {
  uri: env['PSRP_URI'] ?? lab!.url,
  auth: lab
    ? { username: 'admin', password: lab.users['admin']! }
    : { username: env['PSRP_USER'] ?? '', password: env['PSRP_PASSWORD'] ?? '' },
  ...(lab ? { ca: lab.ca } : {}),
};

try {
  const ok = await executePs(
    { ...connection, environment: { APP_STAGE: 'demo' } },
    '"PowerShell $($PSVersionTable.PSVersion) in stage $env:APP_STAGE"; Write-Warning "just so you know"',
  );
  console.log(`output: ${String(ok.output[0])}`);
  console.log(`warnings: ${ok.streams.warning.map((w) => w.message).join(', ')}; hadErrors: ${ok.hadErrors}`);
  const failed = await executePs(connection, 'Get-ServiceTypo');
  console.log(`hadErrors: ${failed.hadErrors}: ${failed.streams.error[0]?.message.split('\n')[0]}`);
} finally {
  await lab?.close();
}
