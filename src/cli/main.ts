#!/usr/bin/env node
/**
 * The `psrp` command: `exec`, `import`, `diagnose`, `shell` against Exchange (or any PowerShell
 * endpoint), and `lab` (the loopback WinRM lab).
 */
import { runExec } from './exec.js';
import { runImport } from './import.js';
import { runDiagnose } from './diagnose.js';
import { runShell } from './shell.js';
import { runRun } from './run.js';
import { packageVersion } from './version.js';
import { runCp } from './cp.js';
import { runShells } from './shells.js';

const USAGE = `usage: psrp <command>     (psrp --version prints the version)

commands:
  exec <uri|server> [options] -- <command line>   run a command line (Exchange: a bare server name)
  run <uri|server> [options] -- <program> [args]  run a plain process over WinRS (cmd shell); its exit code is passed through
  cp <uri|server> [options] -- <src> <dst>        copy a file to or from the server (remote:<path>), with a progress bar
  diagnose <uri|server> [options]                  walk DNS, TLS, HTTP, auth, shell and roles; say what to fix
  shell <uri|server> [options]                     interactive prompt with history and tab completion
  shells <uri|server> [options] [--connect ID]     list your shells, disconnected ones included; connect to one and print its output
  import <uri|server> --out FILE.ts                typed TypeScript functions for the commands your roles grant
  lab [--port N] [--users FILE] [--state-dir DIR]  start the loopback WinRM lab (real PowerShell behind WS-Man)
`;

const io = { stdout: process.stdout, stderr: process.stderr, env: process.env, stdin: process.stdin };
const commands: Readonly<Record<string, (argv: readonly string[], cli: typeof io) => Promise<number>>> = {
  exec: runExec,
  run: runRun,
  cp: runCp,
  diagnose: runDiagnose,
  shell: runShell,
  shells: runShells,
  import: runImport,
};

const [command, ...rest] = process.argv.slice(2);
const run = command === undefined ? undefined : commands[command];
if (command === '--version' || command === '-v' || command === 'version') {
  process.stdout.write(`${packageVersion()}\n`);
} else if (command === 'lab') {
  // The lab (a WinRM server, certificates, pwsh launch) is loaded only for `psrp lab` (issue 17,
  // cold start: every other command starts without it).
  const { runLabCli } = await import('../lab/cli.js');
  await runLabCli(rest);
} else if (run) {
  process.exitCode = await run(rest, io);
} else {
  process.stdout.write(USAGE);
  process.exitCode = command === undefined || command === '--help' || command === '-h' ? 0 : 2;
}
