// The test_client_* recordings (the Python client's execute_cmd / execute_ps / copy / fetch against
// real Windows) replayed through our public API: RunspacePool.copyTo / copyFrom, executePs,
// executeCmd, with what the recorded client asserted.
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { executeCmd, executePs, FileTransferError, RunspacePool, sequentialIds } from '../../src/index.js';
import { chunkBytes } from '../../src/client/file-transfer.js';
import { ReplayTransport } from '../helpers/replay-transport.js';

const dir = mkdtempSync(join(tmpdir(), 'psrp-client-replay-'));
const local = (name: string, content: string | Buffer): string => {
  const p = join(dir, name);
  writeFileSync(p, content);
  return p;
};
const open = (replay: ReplayTransport): Promise<RunspacePool> =>
  RunspacePool.open({ transport: replay, ids: sequentialIds() });
const actions = (r: ReplayTransport): string[] => r.steps.map((s) => s.action);
// Recorded servers are full-language Windows PowerShell; the language probe (one extra pipeline)
// is not in these recordings and is covered live (test/lab/file-transfer.test.ts).
const noProbe = { checkLanguage: false } as const;
const ALPHABET = 'abcdefghijklmnopqrstuvwxyz';

async function copyOnce(
  replay: ReplayTransport,
  src: string,
  dest: string,
  extra: Parameters<RunspacePool['copyTo']>[2] = {},
) {
  const pool = await open(replay);
  try {
    return await pool.copyTo(src, dest, { ...noProbe, ...extra });
  } finally {
    await pool.close();
  }
}

describe('copy recordings', () => {
  it('test_client_copy_file: two copies (each one Send: data, hash, end), then the file is read back and removed with executeCmd', async () => {
    const replay = new ReplayTransport('test_client_copy_file');
    const src = local('test_file', ALPHABET);
    const first = await copyOnce(replay, src, 'test_file');
    expect(first).toMatchObject({
      path: 'C:\\Users\\vagrant-domain\\Documents\\test_file',
      bytes: 26,
      warnings: [],
    });
    const send = replay.steps.find((s) => s.action === 'Send')!;
    expect(send.psrpTypes).toEqual(send.recordedPsrpTypes);
    const second = await copyOnce(replay, src, 'test_file');
    expect(second.path).toBe(first.path);
    const read = await executeCmd(
      { transport: replay, ids: sequentialIds() },
      `powershell.exe Get-Content ${first.path}`,
    );
    expect(read).toEqual({ stdout: `${ALPHABET}\r\n`, stderr: '', exitCode: 0 });
    const removed = await executeCmd(
      { transport: replay, ids: sequentialIds() },
      `powershell Remove-Item -Path '${first.path}'`,
    );
    expect(removed.exitCode).toBe(0);
    expect(replay.remaining).toBe(0);
  });

  it('test_client_copy_expand_vars: the remote path expanded on the server', async () => {
    const replay = new ReplayTransport('test_client_copy_expand_vars');
    const src = local('test_file_vars', ALPHABET);
    const r = await copyOnce(replay, src, '%TEMP%\\test_file', { expandVariables: true });
    expect(r.path).toBe('C:\\Users\\vagrant\\AppData\\Local\\Temp\\test_file');
    await copyOnce(replay, src, '%TEMP%\\test_file', { expandVariables: true });
    const read = await executeCmd(
      { transport: replay, ids: sequentialIds() },
      `powershell.exe Get-Content ${r.path}`,
    );
    expect(read.stdout).toBe(`${ALPHABET}\r\n`);
    await executeCmd({ transport: replay, ids: sequentialIds() }, `powershell Remove-Item -Path '${r.path}'`);
    expect(replay.remaining).toBe(0);
  });

  it('test_client_copy_file_empty: an empty file is one empty chunk and its hash', async () => {
    const replay = new ReplayTransport('test_client_copy_file_empty');
    const r = await copyOnce(replay, local('empty', ''), 'test_file');
    expect(r).toMatchObject({ bytes: 0, sha256: createHash('sha256').digest('hex') });
    const send = replay.steps.find((s) => s.action === 'Send')!;
    expect(send.psrpTypes).toEqual(['PipelineInput', 'PipelineInput', 'EndOfPipelineInput']);
    const read = await executeCmd(
      { transport: replay, ids: sequentialIds() },
      `powershell.exe Get-Content ${r.path}`,
    );
    expect(read).toEqual({ stdout: '', stderr: '', exitCode: 0 });
    await executeCmd({ transport: replay, ids: sequentialIds() }, `powershell Remove-Item -Path '${r.path}'`);
    expect(replay.remaining).toBe(0);
  });

  it('test_client_copy_file_failure: the server found a hash mismatch → PSRP_FILE_HASH_MISMATCH, the pool is still closed', async () => {
    const replay = new ReplayTransport('test_client_copy_file_failure');
    const err = await copyOnce(replay, local('fail', ALPHABET), 'test_file').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FileTransferError);
    expect((err as FileTransferError).code).toBe('PSRP_FILE_HASH_MISMATCH');
    expect((err as FileTransferError).side).toBe('remote');
    expect(actions(replay).at(-1)).toBe('Delete');
    expect(replay.remaining).toBe(0);
  });

  it('test_client_copy_file_warning: the server warning is collected, or is a typed error with warnings: "error"', async () => {
    const src = local('warn', ALPHABET);
    // The recording's WarningRecord was spliced in from another session (its pool and pipeline ids
    // are not the recorded ones); it is replayed as belonging to the recorded pipeline.
    const aliases = {
      'c196f63f-fc8f-4b77-89ee-a44e6ddc62fc': 'fa73644a-b428-42ac-9f7a-e8f8f752994f',
      'ac848653-f425-4321-b041-3788123c2269': '89892065-f160-4df9-9e7c-80fc904084d0',
    };
    const replay = new ReplayTransport('test_client_copy_file_warning', { aliases });
    const r = await copyOnce(replay, src, 'test_file');
    expect(r.warnings).toHaveLength(1);
    expect(r.warnings[0]).toMatch(/^Failed to disable MaximumAllowedMemory input size/);
    expect(r.path).toBe('C:\\Users\\vagrant\\Documents\\test_file');
    await executeCmd({ transport: replay, ids: sequentialIds() }, `powershell Remove-Item -Path '${r.path}'`);
    expect(replay.remaining).toBe(0);
    const strict = new ReplayTransport('test_client_copy_file_warning', { aliases });
    const err = await copyOnce(strict, src, 'test_file', { warnings: 'error' }).catch((e: unknown) => e);
    expect((err as FileTransferError).code).toBe('PSRP_FILE_REMOTE_WARNING');
    expect(actions(strict).at(-1)).toBe('Delete');
  });

  it('test_client_copy_file_really_large: a multi-chunk file streams one chunk per Send', async () => {
    const replay = new ReplayTransport('test_client_copy_file_really_large');
    const pool = await open(replay);
    // Five chunks, then the hash, then the end of input: the recording's seven Sends.
    const size = chunkBytes(pool.connection.maxPayloadBytes) * 5 - 1000;
    const src = local('large', Buffer.alloc(size, 0x61));
    const progress: number[] = [];
    const r = await pool.copyTo(src, 'test_file', { ...noProbe, onProgress: (p) => progress.push(p.bytes) });
    await pool.close();
    expect(r.bytes).toBe(size);
    expect(progress).toHaveLength(5);
    expect(progress.at(-1)).toBe(size);
    const sends = replay.steps.filter((s) => s.action === 'Send');
    expect(sends).toHaveLength(7);
    expect(sends.map((s) => s.psrpTypes.join())).toEqual([
      ...Array<string>(6).fill('PipelineInput'),
      'EndOfPipelineInput',
    ]);
    expect(replay.remaining).toBe(0);
  });
});

describe('fetch recordings', () => {
  const fetchOnce = async (name: string, remote: string, to: string, extra = {}) => {
    const replay = new ReplayTransport(name);
    const pool = await open(replay);
    try {
      return { result: await pool.copyFrom(remote, to, { ...noProbe, ...extra }), replay };
    } finally {
      await pool.close();
      expect(actions(replay).at(-1)).toBe('Delete');
      expect(replay.remaining).toBe(0);
    }
  };

  it('test_client_fetch_file: output over several Receives, checked with the hash the server sent', async () => {
    const to = join(dir, 'fetched.txt');
    const { result } = await fetchOnce('test_client_fetch_file', 'C:\\Users\\vagrant\\test_file', to);
    const data = readFileSync(to);
    expect(data.toString()).toMatch(/^(abc\r\n)+/);
    expect(result.bytes).toBe(data.length);
    expect(result.sha256).toBe(createHash('sha256').update(data).digest('hex'));
    // The recorded server is the Python client's script: its bare SHA-1 is what was checked.
    expect(createHash('sha1').update(data).digest('hex')).toBe('70e3bea8cdb0d0c883bccff5228933d933b88a80');
  });

  it('test_client_fetch_file_expand_vars', async () => {
    const to = join(dir, 'fetched-vars.txt');
    await fetchOnce('test_client_fetch_file_expand_vars', '%TEMP%\\test_file', to, { expandVariables: true });
    expect(readFileSync(to, 'utf8')).toBe('abc\r\n\r\n');
  });

  it('test_client_fetch_file_hash_mismatch: data altered in transit → PSRP_FILE_HASH_MISMATCH and nothing written', async () => {
    const to = join(dir, 'mismatch.txt');
    // The recorded data and hash agree (the Python test forced the mismatch on its own side): alter
    // one byte of the file data inside the recorded answer, as a corrupting hop would.
    const tamper = (replay: ReplayTransport): void => {
      const send = replay.send.bind(replay);
      replay.send = async (envelope: string) =>
        (await send(envelope)).replace(
          /(<(?:\w+:)?Stream[^>]*>)([A-Za-z0-9+/=]+)(<)/g,
          (_m, open: string, b64: string, close: string) => {
            const text = Buffer.from(b64, 'base64').toString('latin1').replace('<S>YWJjDQph', '<S>YWJkDQph');
            return open + Buffer.from(text, 'latin1').toString('base64') + close;
          },
        );
    };
    const replay = new ReplayTransport('test_client_fetch_file_hash_mismatch');
    tamper(replay);
    const pool = await open(replay);
    const err = await pool.copyFrom('C:\\test_file', to, noProbe).catch((e: unknown) => e);
    await pool.close();
    expect(replay.remaining).toBe(0);
    expect((err as FileTransferError).code).toBe('PSRP_FILE_HASH_MISMATCH');
    expect(existsSync(to)).toBe(false);
  });

  it('test_client_fetch_file_fail_dir and _fail_missing: typed errors from the server', async () => {
    const dirErr = await fetchOnce('test_client_fetch_file_fail_dir', 'C:\\Windows', join(dir, 'd')).catch(
      (e: unknown) => e,
    );
    expect([(dirErr as FileTransferError).code, (dirErr as FileTransferError).side]).toEqual([
      'PSRP_FILE_IS_DIRECTORY',
      'remote',
    ]);
    const missing = await fetchOnce(
      'test_client_fetch_file_fail_missing',
      'C:\\fakefile.txt',
      join(dir, 'm'),
    ).catch((e: unknown) => e);
    expect((missing as FileTransferError).code).toBe('PSRP_FILE_NOT_FOUND');
    expect((missing as Error).message).toContain("The path at 'C:\\fakefile.txt' does not exist");
  });
});

describe('execute recordings', () => {
  it('test_client_execute_cmd: two one-shot processes, each its own shell', async () => {
    const replay = new ReplayTransport('test_client_execute_cmd');
    const dirOut = await executeCmd({ transport: replay, ids: sequentialIds() }, 'dir');
    expect(dirOut.exitCode).toBe(0);
    expect(dirOut.stdout).toContain('Volume in drive C is Windows 2016');
    const echo = await executeCmd({ transport: replay, ids: sequentialIds() }, 'echo abc');
    expect(echo).toEqual({ stdout: 'abc\r\n', stderr: '', exitCode: 0 });
    expect(actions(replay)).toEqual([
      'Create',
      'Command',
      'Receive',
      'Signal',
      'Delete',
      'Create',
      'Command',
      'Receive',
      'Signal',
      'Delete',
    ]);
    expect(replay.remaining).toBe(0);
  });

  it('test_client_execute_cmd_environment', async () => {
    const replay = new ReplayTransport('test_client_execute_cmd_environment');
    const env = {
      string: 'string value',
      int: '1234',
      bool: 'True',
      double_quote: 'double " quote',
      'hyphen - var': 'abc @ 123',
    };
    const r = await executeCmd({ transport: replay, ids: sequentialIds(), environment: env }, 'set');
    const lines = r.stdout.split('\r\n');
    for (const [k, v] of Object.entries(env)) expect(lines).toContain(`${k}=${v}`);
    expect(replay.remaining).toBe(0);
  });

  it('test_client_execute_ps: output, no errors', async () => {
    const replay = new ReplayTransport('test_client_execute_ps');
    const r = await executePs({ transport: replay, ids: sequentialIds() }, 'Get-Service -Name winrm');
    expect(r.hadErrors).toBe(false);
    expect(r.output.join('\n')).toContain('Running  winrm');
    expect(actions(replay)).toEqual(['Create', 'Receive', 'Receive', 'Command', 'Receive', 'Delete']);
    expect(replay.remaining).toBe(0);
  });

  it('test_client_execute_ps_environment', async () => {
    const replay = new ReplayTransport('test_client_execute_ps_environment');
    const r = await executePs(
      { transport: replay, ids: sequentialIds(), environment: { string: 'string value', int: '1234' } },
      'cmd.exe /c set',
    );
    expect(r.output).toContain('int=1234');
    expect(r.output).toContain('double_quote=double " quote');
    expect(replay.remaining).toBe(0);
  });

  it('test_client_execute_ps_failure: a terminating error is hadErrors with the record, not an exception', async () => {
    const replay = new ReplayTransport('test_client_execute_ps_failure');
    const r = await executePs({ transport: replay, ids: sequentialIds() }, 'Get-ServiceTypo -Name winrm');
    expect(r.hadErrors).toBe(true);
    expect(r.output).toEqual([]);
    expect(r.streams.error.at(-1)!.message).toMatch(/The term 'Get-ServiceTypo' is not recognized/);
    expect(actions(replay).at(-1)).toBe('Delete');
    expect(replay.remaining).toBe(0);
  });
});
