/**
 * One-call helpers for the simple cases: open, run one thing, collect everything, close (the shell
 * or pool is deleted on every path). `executePs` runs a script in a runspace pool; `executeCmd` runs
 * a process in a WinRS cmd shell. For more than one call, streaming, input or cancellation use
 * RunspacePool / WinRSShell directly.
 */
import { PipelineFailedError } from '../errors.js';
import {
  ErrorRecord,
  type InformationalRecord,
  type InformationRecord,
  type ProgressRecord,
} from '../psrp/records.js';
import { RunspacePool, type RunspacePoolOptions } from './runspace-pool.js';
import { WinRSShell, type WinRSShellOptions } from './winrs-shell.js';

export interface ExecutePsOptions extends RunspacePoolOptions {
  /** Environment variables set in the runspace before the script runs (`$env:NAME = value`). */
  readonly environment?: Readonly<Record<string, string>> | undefined;
}

export interface ExecutePsResult {
  /** The script's output objects. */
  readonly output: unknown[];
  readonly streams: {
    readonly error: ErrorRecord[];
    readonly warning: InformationalRecord[];
    readonly verbose: InformationalRecord[];
    readonly debug: InformationalRecord[];
    readonly information: InformationRecord[];
    readonly progress: ProgressRecord[];
  };
  /**
   * True when an error record arrived or the script failed; a terminating error (`throw`, an
   * unknown command) is the last entry of `streams.error`, not an exception.
   */
  readonly hadErrors: boolean;
}

const psQuote = (s: string): string => `'${s.replace(/'/g, "''")}'`;

/** Opens a pool, runs `script`, closes the pool, and returns everything it wrote. */
export async function executePs(options: ExecutePsOptions, script: string): Promise<ExecutePsResult> {
  await using pool = await RunspacePool.open(options);
  const prefix = Object.entries(options.environment ?? {})
    .map(([k, v]) => `[Environment]::SetEnvironmentVariable(${psQuote(k)}, ${psQuote(v)})\n`)
    .join('');
  const streams: ExecutePsResult['streams'] = {
    error: [],
    warning: [],
    verbose: [],
    debug: [],
    information: [],
    progress: [],
  };
  const output: unknown[] = [];
  try {
    for await (const r of pool
      .powershell()
      .addScript(prefix + script)
      .stream({ signal: options.signal })) {
      if (r.stream === 'output') output.push(r.value);
      else if (r.stream === 'error') streams.error.push(r.value);
      else if (r.stream === 'warning') streams.warning.push(r.value);
      else if (r.stream === 'verbose') streams.verbose.push(r.value);
      else if (r.stream === 'debug') streams.debug.push(r.value);
      else if (r.stream === 'information') streams.information.push(r.value);
      else if (r.stream === 'progress') streams.progress.push(r.value);
    }
  } catch (e) {
    if (!(e instanceof PipelineFailedError)) throw e;
    if (e.errorRecord instanceof ErrorRecord) streams.error.push(e.errorRecord);
    return { output, streams, hadErrors: true };
  }
  return { output, streams, hadErrors: streams.error.length > 0 };
}

export interface ExecuteCmdResult {
  readonly stdout: string;
  readonly stderr: string;
  readonly exitCode: number;
}

/**
 * Opens a WinRS cmd shell, runs one process, deletes the shell. Without `args`, `command` is a
 * whole command line sent as is (cmd.exe syntax: `dir C:\\`, `echo a && echo b`); with `args`,
 * `command` is the program and each argument is quoted by the Windows rules.
 */
export async function executeCmd(
  options: WinRSShellOptions,
  command: string,
  args?: readonly string[],
): Promise<ExecuteCmdResult> {
  await using shell = await WinRSShell.open(options);
  const r = await shell.run(command, args ?? [], {
    quoteArguments: args !== undefined,
    signal: options.signal,
  });
  return { stdout: r.stdout, stderr: r.stderr, exitCode: r.exitCode };
}
