/**
 * Real PowerShell for interop tests. If pwsh is missing the suite FAILS (never skips) with the
 * install command: CI installs it (`.ci/run`), and `npm test` runs scripts/ensure-pwsh.sh first.
 */
import { findPwsh, OutOfProcConnection } from '../../src/client/outofproc-connection.js';
import { RunspacePool, type RunspacePoolOptions } from '../../src/index.js';

export function requirePwsh(): string {
  try {
    return findPwsh();
  } catch (e) {
    throw new Error(`Interop tests need real PowerShell 7: ${(e as Error).message}`, { cause: e });
  }
}

export async function openLocalPool(options: Omit<RunspacePoolOptions, 'connection'> = {}): Promise<{ pool: RunspacePool; connection: OutOfProcConnection }> {
  const connection = new OutOfProcConnection({ executable: requirePwsh() });
  const pool = await RunspacePool.open({ ...options, connection });
  return { pool, connection };
}
