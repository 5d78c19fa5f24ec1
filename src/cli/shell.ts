/**
 * `psrp shell <uri|server>`: an interactive prompt on an Exchange session. Each line is parsed as a
 * command line (NoLanguage rules: a pipeline of commands with literal arguments) and runs as one
 * server-side pipeline; output prints as a table (`:format json` switches). Tab completes command
 * and parameter names from the session's command metadata (what the user's roles grant). History
 * is kept across runs in ~/.psrp_history (or --history FILE / PSRP_HISTORY; `--history ''` keeps
 * none), except lines that mention a password, token or secret. `exit` or end of input closes the session (the shell on the server is deleted).
 * Ctrl-C as in PowerShell: during a command it stops the pipeline and the prompt comes back; at the
 * prompt it clears the line. A second Ctrl-C within 2 s leaves (after a Delete bounded to 3 s),
 * exit code 130; SIGTERM stops the command, deletes the shell and leaves with 143.
 */
import { appendFileSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { createInterface, type Interface } from 'node:readline';
import { connectExchange, getCommandInfo, grantedCommands, type CommandInfo } from '../exchange/index.js';
import { completeLine } from './completion.js';
import {
  connectionOptions,
  describeError,
  flag,
  paint,
  startCommand,
  useColour,
  type CliIo,
} from './cli-options.js';
import { jsonReplacer, table } from './format.js';
import { exitCodeOf, Interrupts, type InterruptName } from './interrupts.js';

const USAGE = `usage: psrp shell <uri|server> [--user U] [--password P] [--auth basic|ntlm|negotiate|kerberos] [--spn-host H] [--ca FILE] [--skip-certificate-check] [--allow-redirection]
                  [--history FILE]
  An interactive prompt: Tab completes cmdlets and parameters; 'help' lists commands; 'exit' leaves.`;

const HISTORY_SIZE = 1000;
/** Lines kept out of the history file (PSReadLine's default rule). */
const SENSITIVE = /password|asplaintext|token|apikey|secret/i;

function loadHistory(file: string | undefined): string[] {
  if (!file) return [];
  try {
    // readline wants the newest first.
    return readFileSync(file, 'utf8').split('\n').filter(Boolean).slice(-HISTORY_SIZE).reverse();
  } catch {
    return [];
  }
}

export async function runShell(argv: readonly string[], io: CliIo): Promise<number> {
  const start = await startCommand('shell', USAGE, argv, io);
  if (typeof start === 'number') return start;
  const { args, authentication } = start;
  const historyFlag = flag(args, 'history');
  const historyFile =
    historyFlag !== undefined
      ? historyFlag || undefined
      : (io.env['PSRP_HISTORY'] ?? join(homedir(), '.psrp_history'));
  const out = paint(useColour(io.stdout, io, args));
  const err = paint(useColour(io.stderr, io, args));
  const terminal = io.stdin?.isTTY === true && io.stdout.isTTY === true;
  let format: 'table' | 'json' = 'table';
  let rl: Interface | undefined;
  let running = false;
  let leaving: InterruptName | undefined;
  using interrupts = new Interrupts({
    onInterrupt: (name) => {
      if (name === 'SIGTERM' || !rl) {
        // Leave: the running command is stopped (its signal aborted), then the shell deleted.
        leaving ??= name;
        rl?.close();
      } else if (!running) {
        // At the prompt: drop the line, a new prompt (PSReadLine).
        if (terminal) rl.write(null, { ctrl: true, name: 'u' });
        io.stdout.write('^C\n');
        rl.prompt();
      }
    },
  });
  try {
    await using ex = await connectExchange({
      ...connectionOptions({ ...args, target: args.target }),
      auth: authentication.auth,
    });
    interrupts.setCleanup(() => ex.close());
    if (leaving) return exitCodeOf(leaving);
    let commands: CommandInfo[] = [];
    try {
      commands = await getCommandInfo(ex);
    } catch (e) {
      io.stderr.write(`${err.yellow(`(no tab completion: ${describeError(e)})`)}\n`);
    }
    const runnable = grantedCommands(commands);
    io.stdout.write(
      `Connected to ${args.target} as ${authentication.who}: ${runnable.length} commands. Tab completes; 'help' lists them; 'exit' leaves.\n`,
    );
    rl = createInterface({
      input: io.stdin ?? process.stdin,
      output: io.stdout,
      terminal,
      history: loadHistory(historyFile),
      historySize: HISTORY_SIZE,
      removeHistoryDuplicates: true,
      completer: (line: string): [string[], string] => completeLine(line, commands),
    });
    // On a terminal readline reads Ctrl-C itself; without a listener it would pause the input.
    rl.on('SIGINT', () => interrupts.interrupt('SIGINT'));
    const prompt = out.green('PS> ');
    rl.setPrompt(prompt);
    rl.prompt();
    for await (const raw of rl) {
      const line = raw.trim();
      if (line === '') {
        rl.prompt();
        continue;
      }
      // Like PSReadLine, lines that look like they carry a secret are not written to the file.
      if (historyFile && !SENSITIVE.test(line)) {
        try {
          appendFileSync(historyFile, `${line.replace(/[\r\n]/g, ' ')}\n`, { mode: 0o600 });
        } catch {
          // History is a convenience: an unwritable file does not stop the shell.
        }
      }
      if (line === 'exit' || line === 'quit') break;
      if (line === 'help') {
        io.stdout.write(
          `${runnable.map((c) => c.name).join('\n')}\n:format table|json switches the output format\n`,
        );
        rl.prompt();
        continue;
      }
      const m = /^:format\s+(table|json)$/.exec(line);
      if (m) {
        format = m[1] as 'table' | 'json';
        rl.prompt();
        continue;
      }
      running = true;
      try {
        const result = await ex.run(line, { signal: interrupts.next() });
        if (format === 'json') io.stdout.write(`${JSON.stringify(result.output, jsonReplacer, 2)}\n`);
        else if (result.output.length > 0) io.stdout.write(table(result.output, out.bold));
        for (const w of result.warnings) io.stderr.write(`${err.yellow(`WARNING: ${w.message}`)}\n`);
        for (const e of result.errors) io.stderr.write(`${err.red(e.toString())}\n`);
      } catch (e) {
        if (interrupts.signal.aborted) io.stderr.write(`${err.yellow('^C: pipeline stopped')}\n`);
        else io.stderr.write(`${err.red(describeError(e))}\n`);
      } finally {
        running = false;
      }
      if (leaving) break;
      rl.prompt();
    }
    rl.close();
    return leaving ? exitCodeOf(leaving) : 0;
  } catch (e) {
    if (leaving) return exitCodeOf(leaving);
    io.stderr.write(`psrp shell: ${describeError(e)}\n`);
    return 1;
  }
}
