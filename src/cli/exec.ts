/**
 * `psrp exec <uri|server> [options] -- <command line>`: run a command line (NoLanguage rules: one
 * pipeline of commands) on Exchange and print the output.
 *
 * Credentials: --user/--password, or PSRP_USER/PSRP_PASSWORD, or a prompt on a terminal (the
 * password is never echoed). Output: --format table (default on a terminal: fitted to its width,
 * saying which properties it left out), list (every property), csv, json, jsonl (printed as each
 * object arrives), clixml; --property NAME,NAME (wildcards allowed) picks and orders properties. On a terminal, stderr shows a spinner with the count of objects
 * received and a bar from PowerShell's progress records (--quiet turns it off); colours only on a
 * terminal (NO_COLOR, --no-color). Exit code: 0 on success, 1 when the pipeline failed or wrote
 * errors, 2 for usage errors.
 */
import { serializeClixml, traceTo, type ErrorRecord } from '../index.js';
import { connectExchange } from '../exchange/index.js';
import {
  checkTarget,
  connectionOptions,
  defaultConfiguration,
  describeError,
  isUri,
  flag,
  paint,
  parseArgs,
  resolveAuthOption,
  useColour,
  type CliIo,
} from './cli-options.js';
import { columnsOf, csv, layoutTable, list, omittedNote, select, toJson } from './format.js';
import { ProgressDisplay } from './progress-display.js';

/** The I/O of `psrp exec` (the process's own streams in the CLI; PassThroughs in tests). */
export type ExecIo = CliIo;

const USAGE = `usage: psrp exec <uri|server> [--user U] [--password P] [--auth basic|ntlm|negotiate|kerberos] [--spn-host H] [--configuration NAME]
                 [--format table|list|csv|json|jsonl|clixml] [--property NAME,NAME] [--trace]
                 [--ca FILE] [--skip-certificate-check] [--allow-redirection] [--quiet] [--no-color] -- <command line>
  A bare server name means Exchange: https://<server>/PowerShell/, configuration Microsoft.Exchange.
  A URL is used as given (https://host:5986/wsman); its configuration defaults to Microsoft.Exchange
  for a /PowerShell path and Microsoft.PowerShell otherwise (--configuration NAME picks another).`;

const FORMATS = ['table', 'list', 'csv', 'json', 'jsonl', 'clixml'];

export async function runExec(argv: readonly string[], io: ExecIo): Promise<number> {
  const args = parseArgs(argv);
  const { target, rest: command } = args;
  if (!target || !command) {
    io.stderr.write(`${USAGE}\n`);
    return 2;
  }
  const format = flag(args, 'format') ?? (io.stdout.isTTY ? 'table' : 'json');
  if (!FORMATS.includes(format)) {
    io.stderr.write(`psrp exec: unknown --format ${format}: use ${FORMATS.join(', ')}\n`);
    return 2;
  }
  const property = flag(args, 'property');
  const wanted = property
    ?.split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '');
  const configuration = flag(args, 'configuration');
  if (configuration === '') {
    io.stderr.write(
      'psrp exec: --configuration needs a name (Microsoft.Exchange, Microsoft.PowerShell, ...)\n',
    );
    return 2;
  }
  const targetError = checkTarget(target);
  if (targetError !== undefined) {
    io.stderr.write(`psrp exec: ${targetError}\n`);
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
  // --trace / PSRP_TRACE=1: a protocol trace on stderr (WS-Man actions, shell ids, sizes, timings).
  const stopTrace =
    args.flags.get('trace') === true || (io.env['PSRP_TRACE'] ?? '') === '1'
      ? traceTo((line) => io.stderr.write(`${line}\n`))
      : undefined;
  try {
    await using ex = await connectExchange({
      ...connectionOptions({ ...args, target }),
      auth: authentication.auth,
      configurationName: configuration ?? defaultConfiguration(target),
      convertValues: format !== 'clixml',
    });
    const output: unknown[] = [];
    const errors: ErrorRecord[] = [];
    status = live ? new ProgressDisplay({ stream: io.stderr, colour: errColourOn }) : undefined;
    try {
      for await (const r of ex.runRecords(command)) {
        if (r.stream === 'output') {
          status?.object();
          if (format === 'jsonl')
            io.stdout.write(
              `${toJson(wanted ? select([r.value], columnsOf([r.value], wanted))[0] : r.value)}\n`,
            );
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
      io.stderr.write(`${errColour.red(describeError(e))}\n`);
      return 1;
    }
    status?.done();
    const columns = wanted ? columnsOf(output, wanted) : undefined;
    if (format === 'json') io.stdout.write(`${toJson(columns ? select(output, columns) : output, 2)}\n`);
    else if (format === 'clixml') io.stdout.write(`${serializeClixml(output, { multiple: true })}\n`);
    else if (format === 'list' && output.length > 0)
      io.stdout.write(list(output, columns ? { columns } : {}));
    else if (format === 'csv') io.stdout.write(csv(output, columns ? { columns } : {}));
    else if (format === 'table' && output.length > 0) {
      const width = io.stdout.columns ?? (Number(io.env['COLUMNS']) || undefined);
      const t = layoutTable(output, {
        bold: outColour.bold,
        ...(width !== undefined ? { width } : {}),
        ...(columns ? { columns } : {}),
      });
      io.stdout.write(t.text);
      const shown = (columns ?? columnsOf(output)).length - t.omitted.length;
      if (t.omitted.length > 0) io.stderr.write(`${errColour.dim(omittedNote(shown, t.omitted))}\n`);
    }
    for (const e of errors) io.stderr.write(`${errColour.red(e.toString())}\n`);
    return errors.length > 0 ? 1 : 0;
  } catch (e) {
    status?.done();
    io.stderr.write(`psrp exec: ${errColour.red(describeError(e))}\n`);
    if (!isUri(target))
      io.stderr.write(
        `${errColour.dim(`(a bare name means Exchange: psrp connected to https://${target}/PowerShell/; for any other endpoint give the full URL, e.g. https://${target}:5986/wsman)`)}\n`,
      );
    return 1;
  } finally {
    status?.done();
    stopTrace?.();
  }
}
