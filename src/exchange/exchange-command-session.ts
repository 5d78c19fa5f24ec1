/**
 * What every Exchange session offers, whatever carries it: Remote PowerShell (`connectExchange`,
 * PSRP over WS-Man) or the Exchange Online admin API (`connectExchangeOnline`, JSON over HTTPS).
 * ExchangeSessionPool, the CLI and generated command modules are written against this interface,
 * so the same bot code serves on-premises Exchange and Exchange Online.
 */
import type { InvokeResult, PipelineRecord, RunOptions } from '../index.js';
import type { ParseCommandLineOptions } from './command-line.js';

/** Parameters of one command: name → value (`true` for a switch). */
export type ExchangeParameters = Readonly<Record<string, unknown>>;

export interface ExchangeCommandSession extends AsyncDisposable {
  /** Runs one cmdlet and collects every stream: `invoke('Get-Mailbox', { ResultSize: 10 })`. */
  invoke(name: string, parameters?: ExchangeParameters, options?: RunOptions): Promise<InvokeResult>;
  /** Streams one cmdlet's output as it arrives (pages, for Exchange Online). */
  stream<T = Record<string, unknown>>(
    name: string,
    parameters?: ExchangeParameters,
    options?: RunOptions,
  ): AsyncGenerator<T, void, undefined>;
  /** Every record (all streams) of one cmdlet as it arrives. */
  records(
    name: string,
    parameters?: ExchangeParameters,
    options?: RunOptions,
  ): AsyncGenerator<PipelineRecord, void, undefined>;
  /** Runs a command line (NoLanguage rules) as Command objects, never script text. */
  run(commandLine: string, options?: RunOptions & ParseCommandLineOptions): Promise<InvokeResult>;
  /** Every record of a command line as it arrives. */
  runRecords(
    commandLine: string,
    options?: RunOptions & ParseCommandLineOptions,
  ): AsyncGenerator<PipelineRecord, void, undefined>;
  close(): Promise<void>;
}
