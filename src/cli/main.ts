#!/usr/bin/env node
/**
 * The `psrp` command. Today: `psrp lab` (the loopback WinRM lab). The Exchange commands (exec,
 * diagnose, shell, import) come with the Exchange layer.
 */
import { runLabCli } from '../lab/cli.js';

const USAGE = `usage: psrp <command>

commands:
  lab [--port N] [--users users.json]   start the loopback WinRM lab (real PowerShell behind WS-Man)
`;

const [command, ...rest] = process.argv.slice(2);
if (command === 'lab') {
  await runLabCli(rest);
} else {
  process.stdout.write(USAGE);
  process.exitCode = command === undefined || command === '--help' || command === '-h' ? 0 : 2;
}
