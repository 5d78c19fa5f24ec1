/**
 * `psrp import <uri|server> --out exchange-commands.ts`: asks the session which commands the user's
 * roles grant (GET_COMMAND_METADATA and Get-Command -ShowCommandInfo) and writes a TypeScript
 * module of typed functions for exactly those (see generateCommandModule). `--json` writes the
 * command descriptions instead.
 */
import { writeFile } from 'node:fs/promises';
import {
  connectExchange,
  generateCommandModule,
  getCommandInfo,
  grantedCommands,
} from '../exchange/index.js';
import { connectionOptions, describeError, flag, startCommand, type CliIo } from './cli-options.js';

const USAGE = `usage: psrp import <uri|server> --out FILE.ts [--user U] [--password P] [--auth basic|ntlm|negotiate|kerberos] [--spn-host H] [--ca FILE] [--skip-certificate-check]
                   [--allow-redirection] [--commands 'Get-*,Set-Mailbox'] [--json]
  Writes typed TypeScript functions for the commands your roles grant.`;

export async function runImport(argv: readonly string[], io: CliIo): Promise<number> {
  const start = await startCommand('import', USAGE, argv, io, { fits: (a) => Boolean(flag(a, 'out')) });
  if (typeof start === 'number') return start;
  const { args, authentication } = start;
  const out = flag(args, 'out')!;
  const names = (flag(args, 'commands') ?? '*')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  try {
    await using ex = await connectExchange({
      ...connectionOptions({ ...args, target: args.target }),
      auth: authentication.auth,
    });
    const commands = await getCommandInfo(ex, names);
    const source = `${args.target} as ${authentication.who}, ${new Date().toISOString().slice(0, 10)}`;
    const text =
      args.flags.get('json') === true
        ? `${JSON.stringify(commands, null, 2)}\n`
        : generateCommandModule(commands, { source });
    await writeFile(out, text, 'utf8');
    // The count of what the file holds: descriptions of everything, or functions for the granted commands.
    const written = args.flags.get('json') === true ? commands.length : grantedCommands(commands).length;
    io.stderr.write(`psrp import: ${written} commands written to ${out}\n`);
    return 0;
  } catch (e) {
    io.stderr.write(`psrp import: ${describeError(e)}\n`);
    return 1;
  }
}
