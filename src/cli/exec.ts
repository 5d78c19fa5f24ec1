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
 * errors, 2 for usage errors, 130 after Ctrl-C (143 after SIGTERM): the pipeline is stopped and the
 * shell deleted first; a second Ctrl-C within 2 s exits after a Delete bounded to 3 s.
 */
import { RunspacePool, serializeClixml, traceTo, type ErrorRecord, type SshOptions } from '../index.js';
import {
  connectExchange,
  connectExchangeOnline,
  ExchangeSession,
  type ExchangeCommandSession,
} from '../exchange/index.js';
import {
  caOption,
  checkTarget,
  connectionOptions,
  defaultConfiguration,
  describeError,
  isSshTarget,
  isUri,
  flag,
  paint,
  parseArgs,
  resolveAuthOption,
  sshOptions,
  useColour,
  type CliIo,
  type ParsedArgs,
} from './cli-options.js';
import { columnsOf, csv, layoutTable, list, omittedNote, select, toJson } from './format.js';
import { ProgressDisplay } from './progress-display.js';
import { exitCodeOf, Interrupts } from './interrupts.js';

/** The I/O of `psrp exec` (the process's own streams in the CLI; PassThroughs in tests). */
export type ExecIo = CliIo;

const USAGE = `usage: psrp exec <uri|server> [--user U] [--password P] [--auth basic|ntlm|negotiate|kerberos] [--spn-host H] [--configuration NAME]
                 [--format table|list|csv|json|jsonl|clixml] [--property NAME,NAME] [--trace[=messages]]
                 [--ca FILE] [--skip-certificate-check] [--allow-redirection] [--quiet] [--no-color] -- <command line>
  A bare server name means Exchange: https://<server>/PowerShell/, configuration Microsoft.Exchange.
  A URL is used as given (https://host:5986/wsman); its configuration defaults to Microsoft.Exchange
  for a /PowerShell path and Microsoft.PowerShell otherwise (--configuration NAME picks another).
       psrp exec exo://<tenant-id> [--base-url URL] [--page-size N] [--unsupported-beta-invoke-command] [--ca FILE] [--format ...] -- <command line>
  Exchange Online through its admin API (docs/exchange-online.md); the bearer token comes from PSRP_EXO_TOKEN.
       psrp exec ssh://[user@]host[:port] [--identity FILE] [--passphrase P] [--password P] [--known-hosts FILE]
                 [--no-host-key-check] [--subsystem NAME] [--format ...] -- <script or command line>
       psrp exec --ssh [user@]host[:port] ...   (the same: --ssh makes a bare host an SSH target)
  PowerShell 7 over SSH (the server's sshd runs \`pwsh -sshs\` as the powershell subsystem): a script there;
  on any other --subsystem (a JEA/NoLanguage endpoint, the lab's exchange) a command line of commands.
  The host key must be in --known-hosts FILE (default ~/.ssh/known_hosts); the user defaults to --user,
  PSRP_USER, then yours; without --identity/--password: ssh-agent, then ~/.ssh/id_ed25519, id_ecdsa, id_rsa.
  --proxy URL|env (http/https targets): through an HTTP proxy; env follows HTTPS_PROXY/HTTP_PROXY/NO_PROXY.`;

const FORMATS = ['table', 'list', 'csv', 'json', 'jsonl', 'clixml'];

/** An Exchange Online session for `exo://<tenant>`, or a usage error to print. */
function exchangeOnline(
  args: ReturnType<typeof parseArgs>,
  target: string,
  io: ExecIo,
  convertValues: boolean,
): Promise<ExchangeCommandSession> | string {
  const tenantId = target.slice('exo://'.length).replace(/\/+$/, '');
  if (!tenantId) return 'psrp exec: exo:// needs the tenant: exo://<tenant GUID or contoso.onmicrosoft.com>';
  const token = io.env['PSRP_EXO_TOKEN'];
  if (!token)
    return 'psrp exec: set PSRP_EXO_TOKEN to a bearer token for https://outlook.office365.com (never a flag: flags show in the process list)';
  const baseUrl = flag(args, 'base-url');
  const pageSize = flag(args, 'page-size');
  return connectExchangeOnline({
    tenantId,
    token: () => token,
    ...(baseUrl !== undefined ? { baseUrl } : {}),
    ...caOption(args),
    ...(pageSize !== undefined ? { pageSize: Number(pageSize) } : {}),
    skipCertificateCheck: args.flags.get('skip-certificate-check') === true,
    unsupportedBetaInvokeCommand: args.flags.get('unsupported-beta-invoke-command') === true,
    convertValues,
  });
}

/** What `psrp exec` drives: an Exchange session (on-premises or Online), or a pool over SSH. */
type ExecSession = Pick<ExchangeCommandSession, 'runRecords' | 'close'> & AsyncDisposable;

/**
 * A PowerShell pool over SSH as an ExecSession. On the `powershell` subsystem (full language) the
 * command line runs as a script; any other subsystem is taken for a restricted endpoint (JEA,
 * NoLanguage, the lab's `exchange`), where only commands run: the command line is parsed and sent
 * as Command objects (NoLanguage rules), as on WinRM.
 */
async function sshSession(ssh: SshOptions, convertValues: boolean): Promise<ExecSession> {
  const pool = await RunspacePool.open({ ssh });
  if ((ssh.subsystem ?? 'powershell') !== 'powershell') return new ExchangeSession(pool, convertValues);
  return {
    runRecords: (script, options) =>
      pool
        .powershell()
        .addScript(script)
        .stream(options?.signal ? { signal: options.signal } : {}),
    close: () => pool.close(),
    [Symbol.asyncDispose]: () => pool.close(),
  };
}

export async function runExec(argv: readonly string[], io: ExecIo): Promise<number> {
  const args = parseArgs(argv);
  const { target, rest: command } = args;
  if (!target || !command) {
    io.stderr.write(`${USAGE}\n`);
    return 2;
  }
  const choices = outputChoices(args, io);
  if (typeof choices === 'number') return choices;
  const { format, wanted, configuration } = choices;
  const online = /^exo:\/\//i.test(target);
  const ssh = isSshTarget(args) ? sshOptions({ ...args, target }, io, 'exec') : undefined;
  if (typeof ssh === 'string') {
    io.stderr.write(`${ssh}\n`);
    return 2;
  }
  if (ssh && flag(args, 'proxy') !== undefined) {
    io.stderr.write(
      'psrp exec: --proxy is for http:// and https:// targets (WinRM); SSH connects directly\n',
    );
    return 2;
  }
  const targetError = online || ssh ? undefined : checkTarget(target);
  if (targetError !== undefined) {
    io.stderr.write(`psrp exec: ${targetError}\n`);
    return 2;
  }
  const authentication = online || ssh ? undefined : await resolveAuthOption(args, io, 'exec');
  if (typeof authentication === 'string') {
    io.stderr.write(`${authentication}\n`);
    return 2;
  }
  const session = online
    ? exchangeOnline(args, target, io, format !== 'clixml')
    : ssh
      ? sshSession(ssh, format !== 'clixml')
      : undefined;
  if (typeof session === 'string') {
    io.stderr.write(`${session}\n`);
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
  const stopTrace = startTrace(args, io);
  try {
    await using ex: ExecSession = session
      ? await session
      : await connectExchange({
          ...connectionOptions({ ...args, target }),
          auth: authentication!.auth,
          configurationName: configuration ?? defaultConfiguration(target),
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
      if (interrupts.received) return interrupted()!;
      io.stderr.write(`${errColour.red(describeError(e))}\n`);
      return 1;
    }
    status?.done();
    if (interrupts.received) return interrupted()!;
    writeOutput(io, format, output, wanted, outColour, errColour);
    for (const e of errors) io.stderr.write(`${errColour.red(e.toString())}\n`);
    return errors.length > 0 ? 1 : 0;
  } catch (e) {
    status?.done();
    if (interrupts.received) return interrupted()!;
    io.stderr.write(`psrp exec: ${errColour.red(describeError(e))}\n`);
    if (!isUri(target) && !online && !ssh)
      io.stderr.write(
        `${errColour.dim(`(a bare name means Exchange: psrp connected to https://${target}/PowerShell/; for any other endpoint give the full URL, e.g. https://${target}:5986/wsman)`)}\n`,
      );
    return 1;
  } finally {
    status?.done();
    stopTrace?.();
  }
}

/** --format (default table on a terminal, else json), --property and --configuration; 2 on a usage error. */
function outputChoices(
  args: ParsedArgs,
  io: ExecIo,
): { format: string; wanted: string[] | undefined; configuration: string | undefined } | number {
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
  return { format, wanted, configuration };
}

/**
 * --trace / PSRP_TRACE=1: a protocol trace on stderr (WS-Man actions, shell and command ids, PSRP
 * message types, sizes, timings); --trace=messages / PSRP_TRACE=messages adds every envelope and
 * message, credentials redacted.
 */
function startTrace(args: ParsedArgs, io: ExecIo): (() => void) | undefined {
  const traceFlag = args.flags.get('trace');
  const traceEnv = io.env['PSRP_TRACE'] ?? '';
  const dumpMessages = traceFlag === 'messages' || (traceFlag === undefined && traceEnv === 'messages');
  return traceFlag === true || dumpMessages || (traceFlag === undefined && traceEnv === '1')
    ? traceTo((line) => io.stderr.write(`${line}\n`), { messages: dumpMessages })
    : undefined;
}

/** The collected output in the chosen format (jsonl was written as it came). */
function writeOutput(
  io: ExecIo,
  format: string,
  output: unknown[],
  wanted: string[] | undefined,
  outColour: ReturnType<typeof paint>,
  errColour: ReturnType<typeof paint>,
): void {
  const columns = wanted ? columnsOf(output, wanted) : undefined;
  if (format === 'json') io.stdout.write(`${toJson(columns ? select(output, columns) : output, 2)}\n`);
  else if (format === 'clixml') io.stdout.write(`${serializeClixml(output, { multiple: true })}\n`);
  else if (format === 'list' && output.length > 0) io.stdout.write(list(output, columns ? { columns } : {}));
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
}
