/**
 * `psrp shells <uri|server> [options]`: the caller's shells on a WinRM server, disconnected ones
 * included (Get-PSSession -ComputerName): id, name, state, configuration, owner, client, idle
 * timeout, run time and inactivity.
 *
 * `psrp shells <uri|server> --connect <shellId> [--command <commandId>] [--leave]`: attaches to a
 * disconnected shell (Connect-PSSession) and prints what its pipeline wrote, while no client was
 * attached and until it ends (Receive-PSSession): the one given, else every command the shell
 * holds. The shell is then deleted, or with --leave disconnected again, for later.
 *
 * Exit code: 0; 1 when connecting failed or a pipeline failed or wrote errors; 2 for usage errors.
 */
import { RunspacePool, type RunspacePoolOptions, type ShellInfo } from '../index.js';
import {
  checkTarget,
  connectionOptions,
  defaultConfiguration,
  describeError,
  flag,
  isUri,
  paint,
  parseArgs,
  resolveAuthOption,
  useColour,
  type CliIo,
} from './cli-options.js';
import { display, layoutTable, toJson } from './format.js';

const USAGE = `usage: psrp shells <uri|server> [--user U] [--password P] [--auth basic|ntlm|negotiate|kerberos] [--spn-host H] [--configuration NAME]
                   [--format table|json] [--ca FILE] [--skip-certificate-check] [--no-color]
       psrp shells <uri|server> [options] --connect <shellId> [--command <commandId>] [--leave] [--idle-timeout SECONDS]
  Lists your shells on the server (disconnected ones included), or connects to a disconnected one and
  prints the output of its pipelines (--command: that one only); the shell is then deleted, or with
  --leave disconnected again (kept for --idle-timeout seconds, default the server's).`;

/** The listing's columns, in the order Get-PSSession shows them. */
const row = (s: ShellInfo): Record<string, string> => ({
  ShellId: s.shellId,
  Name: s.name ?? '',
  State: s.state ?? '',
  Configuration: s.configurationName,
  Owner: s.owner ?? '',
  ClientIP: s.clientIp ?? '',
  IdleTimeOut: s.idleTimeout ?? '',
  ShellRunTime: s.shellRunTime ?? '',
  ShellInactivity: s.shellInactivity ?? '',
});

export async function runShells(argv: readonly string[], io: CliIo): Promise<number> {
  const args = parseArgs(argv.filter((a) => a !== '--leave'));
  const leave = argv.includes('--leave');
  const target = args.target;
  if (args.flags.get('help') === true) {
    io.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (!target) {
    io.stderr.write(`${USAGE}\n`);
    return 2;
  }
  const targetError = checkTarget(target);
  if (targetError !== undefined) {
    io.stderr.write(`psrp shells: ${targetError}\n`);
    return 2;
  }
  const format = flag(args, 'format') ?? (io.stdout.isTTY ? 'table' : 'json');
  if (format !== 'table' && format !== 'json') {
    io.stderr.write(`psrp shells: unknown --format ${format}: use table or json\n`);
    return 2;
  }
  const shellId = flag(args, 'connect');
  const commandId = flag(args, 'command');
  const idleText = flag(args, 'idle-timeout');
  const idleTimeoutSeconds = idleText === undefined ? undefined : Number(idleText);
  const guid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
  if (shellId !== undefined && !guid.test(shellId)) {
    io.stderr.write(
      `psrp shells: --connect takes a shell id (a GUID from the listing), got ${JSON.stringify(shellId)}\n`,
    );
    return 2;
  }
  if (commandId !== undefined && (shellId === undefined || !guid.test(commandId))) {
    io.stderr.write('psrp shells: --command takes a command id (a GUID), with --connect <shellId>\n');
    return 2;
  }
  if (
    idleTimeoutSeconds !== undefined &&
    (!Number.isInteger(idleTimeoutSeconds) || idleTimeoutSeconds < 1 || !leave)
  ) {
    io.stderr.write('psrp shells: --idle-timeout takes a whole number of seconds, with --leave\n');
    return 2;
  }
  const authentication = await resolveAuthOption(args, io, 'shells');
  if (typeof authentication === 'string') {
    io.stderr.write(`${authentication}\n`);
    return 2;
  }
  const err = paint(useColour(io.stderr, io, args));
  const out = paint(useColour(io.stdout, io, args));
  try {
    // eslint-disable-next-line @typescript-eslint/no-unused-vars
    const { server, ...connection } = connectionOptions({ ...args, target });
    const options: RunspacePoolOptions = {
      ...connection,
      uri: isUri(target) ? target : `https://${target}/PowerShell/`,
      auth: authentication.auth,
      configurationName: flag(args, 'configuration') ?? defaultConfiguration(target),
    };
    if (shellId === undefined) {
      const shells = await RunspacePool.listShells(options);
      if (format === 'json') io.stdout.write(`${toJson(shells, 2)}\n`);
      else if (shells.length === 0) io.stderr.write(`${err.dim('No shells of yours on this server.')}\n`);
      else {
        const width = io.stdout.columns ?? (Number(io.env['COLUMNS']) || undefined);
        io.stdout.write(
          layoutTable(shells.map(row), { bold: out.bold, ...(width !== undefined ? { width } : {}) }).text,
        );
      }
      return 0;
    }
    const commands =
      commandId !== undefined ? [commandId] : await RunspacePool.listCommands({ ...options, shellId });
    const pool = await RunspacePool.connect({ ...options, shellId });
    let failed = false;
    try {
      for (const id of commands) {
        const result = await pool
          .connectPipeline(id)
          .invoke()
          .catch((e: unknown) => {
            failed = true;
            io.stderr.write(`${err.red(`${id}: ${describeError(e)}`)}\n`);
            return undefined;
          });
        if (!result) continue;
        if (format === 'json')
          io.stdout.write(`${toJson({ commandId: id, state: result.state, output: result.output }, 2)}\n`);
        else for (const o of result.output) io.stdout.write(`${display(o)}\n`);
        for (const w of result.warnings) io.stderr.write(`${err.yellow(`WARNING: ${w.message}`)}\n`);
        for (const e of result.errors) io.stderr.write(`${err.red(e.toString())}\n`);
        if (result.hadErrors) failed = true;
      }
      if (commands.length === 0) io.stderr.write(`${err.dim(`The shell ${shellId} holds no commands.`)}\n`);
      if (leave) {
        await pool.disconnect(idleTimeoutSeconds !== undefined ? { idleTimeoutSeconds } : {});
        io.stderr.write(
          `${err.dim(`Left the shell ${shellId.toUpperCase()} disconnected on the server.`)}\n`,
        );
      }
    } finally {
      await pool.close();
    }
    return failed ? 1 : 0;
  } catch (e) {
    io.stderr.write(`psrp shells: ${err.red(describeError(e))}\n`);
    return 1;
  }
}
