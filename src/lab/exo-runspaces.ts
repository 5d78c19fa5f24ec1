/**
 * The runspaces behind the lab admin API: one role-limited NoLanguage pool per role (the same pwsh
 * module and state directory as the lab's Remote PowerShell endpoint), and one cmdlet run per
 * request, driven with a Command object, its failure answered as Exchange Online answers it.
 */
import type { ServerResponse } from 'node:http';
import { OutOfProcConnection } from '../client/outofproc-connection.js';
import { RunspacePool } from '../client/runspace-pool.js';
import { PipelineFailedError } from '../errors.js';
import type { ErrorRecord } from '../psrp/records.js';
import { exchangeRunspaceLaunch, type LabRole } from './exchange-runspace.js';
import { exceptionType, plain, sendODataError } from './exo-odata.js';

export interface ExoRunspaceOptions {
  readonly stateDir: string;
  readonly pwsh?: string | undefined;
  readonly mailboxCount?: number | undefined;
}

/** The pools, opened on first use, one per role. */
export class ExoRunspaces {
  readonly #pools = new Map<LabRole, Promise<RunspacePool>>();
  readonly #options: ExoRunspaceOptions;

  constructor(options: ExoRunspaceOptions) {
    this.#options = options;
  }

  poolFor(role: LabRole): Promise<RunspacePool> {
    let p = this.#pools.get(role);
    if (!p) {
      const launch = exchangeRunspaceLaunch({
        role,
        stateDir: this.#options.stateDir,
        ...(this.#options.mailboxCount !== undefined ? { mailboxCount: this.#options.mailboxCount } : {}),
      });
      const connection = new OutOfProcConnection({
        ...(this.#options.pwsh !== undefined ? { executable: this.#options.pwsh } : {}),
        args: launch.args,
        env: launch.env,
      });
      p = RunspacePool.open({ connection, maxRunspaces: 2 });
      p.catch(() => this.#pools.delete(role));
      this.#pools.set(role, p);
    }
    return p;
  }

  async close(): Promise<void> {
    const all = [...this.#pools.values()];
    this.#pools.clear();
    await Promise.all(all.map((p) => p.then((pool) => pool.close()).catch(() => undefined)));
  }
}

/**
 * Run one cmdlet with its parameters. A failure is answered on `res` (404 for ObjectNotFound, else
 * 400, with the exception type) and gives undefined; else the objects as JSON and the warnings.
 */
export async function runExoCmdlet(
  pool: RunspacePool,
  cmdlet: string,
  parameters: Record<string, unknown>,
  res: ServerResponse,
): Promise<{ items: unknown[]; warnings: string[] } | undefined> {
  const ps = pool.powershell().addCommand(cmdlet);
  for (const [k, v] of Object.entries(parameters)) {
    if (k === 'IncludeGrantSendOnBehalfTowithDisplayNames') continue; // documented; the lab's module has no such view
    ps.addParameter(k, v);
  }
  let result;
  try {
    result = await ps.invoke();
  } catch (e) {
    const record = e instanceof PipelineFailedError ? (e.errorRecord as ErrorRecord | undefined) : undefined;
    const type = record
      ? (record.exception?.typeNames[0] ?? 'System.Management.Automation.RuntimeException')
      : 'System.Exception';
    sendODataError(res, 400, 'BadRequest', record?.message ?? (e as Error).message, type);
    return undefined;
  }
  if (result.output.length === 0 && result.errors.length > 0) {
    const err = result.errors[0]!;
    const notFound = err.categoryInfo.category === 'ObjectNotFound';
    sendODataError(
      res,
      notFound ? 404 : 400,
      notFound ? 'NotFound' : 'BadRequest',
      err.message,
      exceptionType(err),
    );
    return undefined;
  }
  return { items: result.output.map((o) => plain(o)), warnings: result.warnings.map((w) => w.message) };
}
