/**
 * `psrp exec <uri|server> [options] -- <command line>`: run a command line (NoLanguage rules: one
 * pipeline of commands) on Exchange and print the output.
 *
 * Credentials: --user/--password, or PSRP_USER/PSRP_PASSWORD, or a prompt on a terminal (the
 * password is never echoed). Output: --format table (default on a terminal), json, jsonl (printed
 * as each object arrives), clixml. On a terminal, stderr shows a spinner with the count of objects
 * received and a bar from PowerShell's progress records (--quiet turns it off); colours only on a
 * terminal (NO_COLOR, --no-color). Exit code: 0 on success, 1 when the pipeline failed or wrote
 * errors, 2 for usage errors.
 */
import { RunspacePool, serializeClixml, type ErrorRecord, type PipelineRecord } from '../index.js';
import { connectExchange } from '../exchange/index.js';
import {
  connectionOptions,
  describeError,
  flag,
  isSshTarget,
  paint,
  parseArgs,
  resolveAuthOption,
  sshOptions,
  useColour,
  type CliIo,
} from './cli-options.js';
import { jsonReplacer, table } from './format.js';
import { ProgressDisplay } from './progress-display.js';

/** The I/O of `psrp exec` (the process's own streams in the CLI; PassThroughs in tests). */
export type ExecIo = CliIo;

const USAGE = `usage: psrp exec <uri|server> [--user U] [--password P] [--auth basic|ntlm|negotiate|kerberos] [--spn-host H] [--configuration NAME] [--format table|json|jsonl|clixml]
                 [--ca FILE] [--skip-certificate-check] [--allow-redirection] [--proxy URL|env] [--quiet] [--no-color] -- <command line>
  A bare server name means Exchange: https://<server>/PowerShell/, configuration Microsoft.Exchange.
       psrp exec ssh://[user@]host[:port] [--identity FILE] [--passphrase P] [--password P] [--known-hosts FILE]
                 [--no-host-key-check] [--subsystem NAME] [--format ...] -- <script>
  PowerShell 7 over SSH (the server's sshd runs \`pwsh -sshs\` as the powershell subsystem); --ssh takes [user@]host[:port].`;

/** Opens a pool over SSH and yields the records of the script, then closes the pool. */
async function* sshRecords(
  options: Parameters<typeof RunspacePool.open>[0],
  script: string,
): AsyncGenerator<PipelineRecord, void, undefined> {
  await using pool = await RunspacePool.open(options);
  yield* pool.powershell().addScript(script).stream();
}

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
  if (isSshTarget(args)) {
    const ssh = sshOptions({ ...args, target }, io, 'exec');
    if (typeof ssh === 'string') {
      io.stderr.write(`${ssh}\n`);
      return 2;
    }
    return printRecords(() => sshRecords({ ssh }, command), format, args, io);
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
  return printRecords(
    async function* () {
      await using ex = await connectExchange({
        ...connectionOptions({ ...args, target }),
        auth: authentication.auth,
        convertValues: format !== 'clixml',
      });
      yield* ex.runRecords(command);
    },
    format,
    args,
    io,
  );
}

/** Prints a pipeline's records in `format`; the exit code (1 on failure or error records). */
async function printRecords(
  records: () => AsyncGenerator<PipelineRecord, void, undefined>,
  format: string,
  args: ReturnType<typeof parseArgs>,
  io: ExecIo,
): Promise<number> {
  const errColourOn = useColour(io.stderr, io, args);
  const errColour = paint(errColourOn);
  const outColour = paint(useColour(io.stdout, io, args));
  const live = io.stderr.isTTY === true && args.flags.get('quiet') !== true;
  let status: ProgressDisplay | undefined;
  let connected = false;
  const output: unknown[] = [];
  const errors: ErrorRecord[] = [];
  try {
    status = live ? new ProgressDisplay({ stream: io.stderr, colour: errColourOn }) : undefined;
    try {
      for await (const r of records()) {
        connected = true;
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
      io.stderr.write(`${connected ? '' : 'psrp exec: '}${errColour.red(describeError(e))}\n`);
      return 1;
    }
    status?.done();
    if (format === 'json') io.stdout.write(`${JSON.stringify(output, jsonReplacer, 2)}\n`);
    else if (format === 'clixml') io.stdout.write(`${serializeClixml(output, { multiple: true })}\n`);
    else if (format === 'table' && output.length > 0) io.stdout.write(table(output, outColour.bold));
    for (const e of errors) io.stderr.write(`${errColour.red(e.toString())}\n`);
    return errors.length > 0 ? 1 : 0;
  } finally {
    status?.done();
  }
}
