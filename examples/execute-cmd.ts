/**
 * One-shot plain processes over WinRS (the WinRM cmd shell), then a shell kept open for several.
 *
 *   npx tsx examples/execute-cmd.ts             # no server configured: starts the built-in lab
 *   PSRP_URI=https://server:5986/wsman PSRP_USER='CONTOSO\admin' PSRP_PASSWORD=... npx tsx examples/execute-cmd.ts
 *
 * Against Windows the commands are cmd.exe's; against the lab (which runs the command line through
 * /bin/sh, docs/lab.md) the POSIX equivalents.
 */
import { executeCmd, WinRSShell } from '../src/index.js';
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
const windows = lab === undefined;

try {
  // One call: open a shell, run, collect, delete the shell.
  const r = await executeCmd(connection, windows ? 'ver' : 'uname -s');
  console.log(`exit ${r.exitCode}: ${r.stdout.trim()}`);

  // A shell for several processes, with arguments quoted by the Windows rules.
  await using shell = await WinRSShell.open({ ...connection, environment: { GREETING: 'hello' } });
  const echo = await shell.run(
    windows ? 'cmd.exe' : 'printf',
    windows ? ['/c', 'echo', '%GREETING% world'] : ['%s\\n', 'hello world'],
    { skipCmdShell: !windows },
  );
  console.log(`echo said: ${echo.stdout.trim()}`);
  const failing = await shell.run(windows ? 'cmd.exe /c exit 3' : 'exit 3', [], { quoteArguments: false });
  console.log(`a failing command exits with ${failing.exitCode}`);
} finally {
  await lab?.close();
}
