/**
 * Copy a file to the server and back over PSRP (no SMB needed), SHA-256 checked on arrival.
 *
 *   npx tsx examples/copy-file.ts               # no server configured: starts the built-in lab
 *   PSRP_URI=https://server:5986/wsman PSRP_USER='CONTOSO\admin' PSRP_PASSWORD=... PSRP_REMOTE_PATH='%TEMP%\psrp-demo.bin' npx tsx examples/copy-file.ts
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RunspacePool } from '../src/index.js';
import { startLab } from '../src/lab/lab-server.js';

const env = process.env;
const lab = env['PSRP_URI'] ? undefined : await startLab();
if (lab) console.log(`no PSRP_URI set: using the built-in lab at ${lab.url}`);
const dir = mkdtempSync(join(tmpdir(), 'psrp-copy-example-'));
const remote = env['PSRP_REMOTE_PATH'] ?? join(dir, 'on-the-server.bin');

try {
  await using pool = await RunspacePool.open({
    uri: env['PSRP_URI'] ?? lab!.url,
    auth: lab
      ? { username: 'admin', password: lab.users['admin']! }
      : { username: env['PSRP_USER'] ?? '', password: env['PSRP_PASSWORD'] ?? '' },
    ...(lab ? { ca: lab.ca } : {}),
  });
  const data = randomBytes(1_000_000);
  writeFileSync(join(dir, 'local.bin'), data);
  let lastPercent = -1;
  const up = await pool.copyTo(join(dir, 'local.bin'), remote, {
    expandVariables: true,
    onProgress: ({ bytes, totalBytes }) => {
      const percent = Math.floor((100 * bytes) / (totalBytes ?? bytes));
      if (percent !== lastPercent) lastPercent = percent;
    },
  });
  console.log(
    `uploaded ${up.bytes} bytes to ${up.path} (sha256 ${up.sha256.slice(0, 16)}…, progress reached ${lastPercent}%)`,
  );
  const down = await pool.copyFrom(up.path, join(dir, 'back.bin'));
  console.log(`downloaded ${down.bytes} bytes; identical: ${readFileSync(down.path).equals(data)}`);
} finally {
  await lab?.close();
}
