/**
 * Runs the lab in a child process, so that a benchmark measures its own memory and CPU without the
 * lab's. The parent forks this file (with tsx) passing LabOptions as JSON in argv[2]; the child
 * answers `{ exchangeUrl, url, ca, users }` over IPC and closes the lab when the parent disconnects.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startLab, type LabOptions } from '../src/lab/index.js';

export interface LabInfo {
  readonly url: string;
  readonly exchangeUrl: string;
  readonly ca: string;
  readonly users: Readonly<Record<string, string>>;
}

export interface LabChild extends LabInfo {
  readonly pid: number;
  close(): Promise<void>;
}

/** Starts the lab in a child process. */
export async function forkLab(options: LabOptions = {}): Promise<LabChild> {
  const child: ChildProcess = fork(fileURLToPath(import.meta.url), [JSON.stringify(options)], {
    execArgv: [
      '--import',
      'tsx',
      ...(process.env['BENCH_LAB_PROF']
        ? ['--cpu-prof', `--cpu-prof-dir=${process.env['BENCH_LAB_PROF']}`]
        : []),
    ],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const info = await new Promise<LabInfo>((resolve, reject) => {
    child.once('message', (m) => resolve(m as LabInfo));
    child.once('exit', (code) => reject(new Error(`lab process exited (${code})`)));
  });
  return {
    ...info,
    pid: child.pid!,
    close: async () => {
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      child.disconnect();
      await exited;
    },
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url) && process.send) {
  const lab = await startLab(JSON.parse(process.argv[2] ?? '{}') as LabOptions);
  process.send({
    url: lab.url,
    exchangeUrl: lab.exchangeUrl,
    ca: lab.ca,
    users: lab.users,
  } satisfies LabInfo);
  process.once('disconnect', () => {
    void lab.close().finally(() => process.exit(0));
  });
}
