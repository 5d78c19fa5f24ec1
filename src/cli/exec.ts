/**
 * `psrp exec <uri|server> [options] -- <command line>`: run a command line (NoLanguage rules: one
 * pipeline of commands) on Exchange and print the output.
 *
 * Credentials: --user/--password, or PSRP_USER/PSRP_PASSWORD, or a prompt on a terminal (the
 * password is never echoed). Output: --format table (default on a terminal), json, jsonl (printed
 * as each object arrives), clixml. On a terminal, stderr shows a spinner with the count of objects
 * received and a bar from PowerShell's progress records (--quiet turns it off); colours only on a
 * terminal (NO_COLOR, --no-color). Exit code: 0 on success, 1 when the pipeline failed or wrote
 * errors, 2 for usage errors, 130 after Ctrl-C (143 after SIGTERM): the pipeline is stopped and the
 * shell deleted first; a second Ctrl-C within 2 s exits after a Delete bounded to 3 s.
 */
import { serializeClixml, type ErrorRecord } from '../index.js';
import { connectExchange } from '../exchange/index.js';
import {
  connectionOptions,
  describeError,
  flag,
  paint,
  parseArgs,
  resolveAuthOption,
  useColour,
  type CliIo,
} from './cli-options.js';
import { jsonReplacer, table } from './format.js';
import { ProgressDisplay } from './progress-display.js';
import { exitCodeOf, Interrupts } from './interrupts.js';

/** The I/O of `psrp exec` (the process's own streams in the CLI; PassThroughs in tests). */
export type ExecIo = CliIo;

const USAGE = `usage: psrp exec <uri|server> [--user U] [--password P] [--auth basic|ntlm|negotiate|kerberos] [--spn-host H] [--configuration NAME] [--format table|json|jsonl|clixml]
                 [--ca FILE] [--skip-certificate-check] [--allow-redirection] [--quiet] [--no-color] -- <command line>
  A bare server name means Exchange: https://<server>/PowerShell/, configuration Microsoft.Exchange.`;

export async function runExec(argv: readonly string[], io: ExecIo): Promise<number> {
  const args = parseArgs(argv);
  const { target, rest: command } = args;
  if (!target || !command) {
    io.stderr.write(`${USAGE}\n`);
    return 2;
  }
  const format = flag(args, 'format') ?? (io.stdout.isTTY ? 'table' : 'json');
  if (!['table', 'json', 'jsonl', 'clixml'].includes(format)) {
    io.stderr.write(`psrp exec: unknown format ${format}\n`);
    return 2;
  }
  const configuration = flag(args, 'configuration');
  if (configuration !== undefined && configuration !== 'Microsoft.Exchange') {
    io.stderr.write('psrp exec: only --configuration Microsoft.Exchange is supported so far\n');
    return 2;
  }
  const authentication = await resolveAuthOption(args, io, 'exec');
  if (typeof authentication === 'string') {
    io.stderr.write(`${authentication}\n`);
    return 2;
  }
  const errColourOn = useColour(io.stderr, io, args);
  const errColour = paint(errColourOn);
  const outColour = paint(useColour(io.stdout, io, args));
  const live = io.stderr.isTTY === true && args.flags.get('quiet') !== true;
  let status: ProgressDisplay | undefined;
  // Ctrl-C / SIGTERM stop the pipeline; `await using` then deletes the shell before we return.
  using interrupts = new Interrupts();
  const interrupted = (): number | undefined => {
    if (!interrupts.received) return undefined;
    status?.done();
    io.stderr.write('psrp exec: interrupted: stopping the pipeline and deleting the shell\n');
    return exitCodeOf(interrupts.received);
  };
  try {
    await using ex = await connectExchange({
      ...connectionOptions({ ...args, target }),
      auth: authentication.auth,
      convertValues: format !== 'clixml',
    });
    interrupts.setCleanup(() => ex.close());
    if (interrupts.received) return interrupted()!;
    const output: unknown[] = [];
    const errors: ErrorRecord[] = [];
    status = live ? new ProgressDisplay({ stream: io.stderr, colour: errColourOn }) : undefined;
    try {
      for await (const r of ex.runRecords(command, { signal: interrupts.signal })) {
        if (r.stream === 'output') {
          status?.object();
          if (format === 'jsonl') io.stdout.write(`${JSON.stringify(r.value, jsonReplacer)}\n`);
          else output.push(r.value);
        } else if (r.stream === 'progress') status?.progress(r.value);
        else if (r.stream === 'error') errors.push(r.value);
        else if (r.stream === 'warning') {
          status?.done();
          io.stderr.write(`${errColour.yellow(`WARNING: ${r.value.message}`)}\n`);
        }
      }
    } catch (e) {
      status?.done();
      if (interrupts.received) return interrupted()!;
      io.stderr.write(`${errColour.red(describeError(e))}\n`);
      return 1;
    }
    status?.done();
    if (interrupts.received) return interrupted()!;
    if (format === 'json') io.stdout.write(`${JSON.stringify(output, jsonReplacer, 2)}\n`);
    else if (format === 'clixml') io.stdout.write(`${serializeClixml(output, { multiple: true })}\n`);
    else if (format === 'table' && output.length > 0) io.stdout.write(table(output, outColour.bold));
    for (const e of errors) io.stderr.write(`${errColour.red(e.toString())}\n`);
    return errors.length > 0 ? 1 : 0;
  } catch (e) {
    status?.done();
    if (interrupts.received) return interrupted()!;
    io.stderr.write(`psrp exec: ${errColour.red(describeError(e))}\n`);
    return 1;
  } finally {
    status?.done();
  }
}
