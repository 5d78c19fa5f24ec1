/**
 * File transfer over PSRP, as WinRM clients without SMB do it: a PowerShell script on the server
 * writes (copyTo) or reads (copyFrom) the file, and the bytes travel as base64 strings in pipeline
 * input / output (MS-PSRP 2.2.2.17 PIPELINE_INPUT, 2.2.2.18 PIPELINE_OUTPUT). Both ends hash what
 * they saw with SHA-256 and the receiving end compares before the file is put in place.
 *
 * Memory stays flat: one chunk (sized to fit one WS-Man envelope) is read, sent and hashed at a time,
 * and output is pulled one object at a time. Needs a FullLanguage endpoint: checked first, with one
 * small pipeline per pool, so a NoLanguage endpoint (Exchange) gets `PSRP_NOT_SUPPORTED` before any
 * file data is sent.
 */
import { createHash, type Hash } from 'node:crypto';
import { open, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { FileTransferError, PipelineFailedError } from '../errors.js';
import type { PowerShell } from './powershell.js';

/** What a transfer needs of a pool (RunspacePool is one): pipelines, and the room in one request. */
export interface TransferPool {
  powershell(): PowerShell;
  readonly connection: { readonly maxPayloadBytes: number };
}

export interface FileTransferProgress {
  /** Bytes of the file transferred so far. */
  readonly bytes: number;
  /** The file's size when known (always for copyTo; for copyFrom once the server said it). */
  readonly totalBytes: number | undefined;
}

export interface FileTransferOptions {
  /** Expand `%VAR%` environment variables in the remote path on the server ([Environment]::ExpandEnvironmentVariables). Default false. */
  readonly expandVariables?: boolean | undefined;
  /** Replace an existing destination file. Default true (as Copy-Item -Force and the Python client). */
  readonly overwrite?: boolean | undefined;
  /** Called after each chunk. */
  readonly onProgress?: ((p: FileTransferProgress) => void) | undefined;
  /** What a server warning does: kept in the result (`'collect'`, default) or fails the call (`'error'`, `PSRP_FILE_REMOTE_WARNING`). */
  readonly warnings?: 'collect' | 'error' | undefined;
  /** Check that the endpoint is FullLanguage before sending anything. Default true (once per pool). */
  readonly checkLanguage?: boolean | undefined;
  readonly signal?: AbortSignal | undefined;
}

export interface FileTransferResult {
  /** Full path of the written file (remote for copyTo, local for copyFrom). */
  readonly path: string;
  readonly bytes: number;
  /** Lower-case hex SHA-256 of the file. */
  readonly sha256: string;
  /** Messages of warnings the server wrote. */
  readonly warnings: readonly string[];
}

/** The result of the language check, per pool. */
const languageChecks = new WeakMap<TransferPool, Promise<void>>();

/** Rejects with PSRP_NOT_SUPPORTED unless the pool's runspaces are FullLanguage. */
export function requireFullLanguage(pool: TransferPool, signal?: AbortSignal): Promise<void> {
  let check = languageChecks.get(pool);
  if (!check) {
    check = (async () => {
      let mode: string;
      try {
        const r = await pool
          .powershell()
          .addScript('$ExecutionContext.SessionState.LanguageMode.ToString()')
          .invoke({ signal });
        mode = String(r.output[0] ?? '');
      } catch (e) {
        if (
          e instanceof PipelineFailedError &&
          /syntax is not supported|not allowed|NoLanguage/i.test(e.message)
        )
          mode = 'NoLanguage';
        else throw e;
      }
      if (mode !== 'FullLanguage') {
        throw new FileTransferError(
          `File transfer needs a FullLanguage endpoint (it runs a script on the server); this one is ${mode || 'not FullLanguage'}. Exchange and other restricted endpoints cannot copy files.`,
          { code: 'PSRP_NOT_SUPPORTED' },
        );
      }
    })();
    languageChecks.set(pool, check);
    // A transport failure is not an answer: ask again next time.
    check.catch((e: unknown) => {
      if (!(e instanceof FileTransferError)) languageChecks.delete(pool);
    });
  }
  return check;
}

/** Maps the failure of a transfer script to a typed error (our scripts' messages and the recorded Windows ones). */
function remoteFailure(e: unknown, path: string): unknown {
  if (!(e instanceof PipelineFailedError)) return e;
  const m = e.message;
  const typed = (code: string): FileTransferError =>
    new FileTransferError(m, { code, path, side: 'remote', cause: e });
  if (/hash mismatch/i.test(m)) return typed('PSRP_FILE_HASH_MISMATCH');
  if (/is a directory/i.test(m)) return typed('PSRP_FILE_IS_DIRECTORY');
  if (/does not exist|cannot find/i.test(m)) return typed('PSRP_FILE_NOT_FOUND');
  if (/already exists/i.test(m)) return typed('PSRP_FILE_EXISTS');
  return typed('PSRP_FILE_TRANSFER_FAILED');
}

/**
 * Bytes of file data per chunk: its base64 text plus the PSRP message and CLIXML around it must fit
 * one fragment of one Send (`maxPayloadBytes`), so each chunk is one request.
 */
export function chunkBytes(maxPayloadBytes: number): number {
  // 21 fragment header + 40 message header + 3 BOM + `<S>` `</S>` + room for the end marker.
  const room = maxPayloadBytes - 21 - 43 - 7 - 128;
  return Math.max(3, Math.floor(room / 4) * 3);
}

// The server side of copyTo. Input: base64 chunks, then `sha256:<hex>`. Output: the full path.
const COPY_SCRIPT = `param([string]$Path, [bool]$Expand, [bool]$Overwrite)
begin {
  $ErrorActionPreference = 'Stop'
  if ($Expand) { $Path = [Environment]::ExpandEnvironmentVariables($Path) }
  $target = $ExecutionContext.SessionState.Path.GetUnresolvedProviderPathFromPSPath($Path)
  if ([IO.Directory]::Exists($target)) { throw "psrp copy: the path '$target' is a directory, not a file" }
  if (-not $Overwrite -and [IO.File]::Exists($target)) { throw "psrp copy: the file '$target' already exists" }
  $folder = [IO.Path]::GetDirectoryName($target)
  if (-not [IO.Directory]::Exists($folder)) { throw "psrp copy: the folder '$folder' does not exist" }
  $part = [IO.Path]::Combine($folder, '.psrp-' + [Guid]::NewGuid().ToString('N') + '.part')
  $file = [IO.File]::Open($part, [IO.FileMode]::CreateNew, [IO.FileAccess]::Write, [IO.FileShare]::None)
  $sha = [Security.Cryptography.SHA256]::Create()
  $expected = ''
}
process {
  if ($_.StartsWith('sha256:')) { $expected = $_.Substring(7); return }
  $bytes = [Convert]::FromBase64String($_)
  [void]$sha.TransformBlock($bytes, 0, $bytes.Length, $null, 0)
  $file.Write($bytes, 0, $bytes.Length)
}
end {
  try {
    $file.Dispose()
    [void]$sha.TransformFinalBlock([byte[]]@(), 0, 0)
    $actual = [BitConverter]::ToString($sha.Hash).Replace('-', '').ToLowerInvariant()
    if ($actual -ne $expected) { throw "psrp copy: hash mismatch (sent $expected, received $actual)" }
    if ([IO.File]::Exists($target)) { [IO.File]::Delete($target) }
    [IO.File]::Move($part, $target)
    $target
  } finally {
    if ([IO.File]::Exists($part)) { [IO.File]::Delete($part) }
  }
}`;

// The server side of copyFrom. Output: `size:<n>`, base64 chunks, then `sha256:<hex>`.
const FETCH_SCRIPT = `param([string]$Path, [bool]$Expand, [int]$ChunkSize)
$ErrorActionPreference = 'Stop'
if ($Expand) { $Path = [Environment]::ExpandEnvironmentVariables($Path) }
$source = $ExecutionContext.SessionState.Path.GetUnresolvedProviderPathFromPSPath($Path)
if ([IO.Directory]::Exists($source)) { throw "psrp copy: the path '$source' is a directory, not a file" }
if (-not [IO.File]::Exists($source)) { throw "psrp copy: the file '$source' does not exist" }
$sha = [Security.Cryptography.SHA256]::Create()
$file = [IO.File]::OpenRead($source)
try {
  'size:' + $file.Length
  $buffer = [byte[]]::new($ChunkSize)
  while (($n = $file.Read($buffer, 0, $ChunkSize)) -gt 0) {
    [void]$sha.TransformBlock($buffer, 0, $n, $null, 0)
    [Convert]::ToBase64String($buffer, 0, $n)
  }
  [void]$sha.TransformFinalBlock($buffer, 0, 0)
  'sha256:' + [BitConverter]::ToString($sha.Hash).Replace('-', '').ToLowerInvariant()
} finally {
  $file.Dispose()
}`;

async function localStat(
  path: string,
): Promise<{ isFile: boolean; isDirectory: boolean; size: number } | undefined> {
  try {
    const s = await stat(path);
    return { isFile: s.isFile(), isDirectory: s.isDirectory(), size: s.size };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

/** Copies a local file to the server. */
export async function copyTo(
  pool: TransferPool,
  local: string,
  remote: string,
  options: FileTransferOptions = {},
): Promise<FileTransferResult> {
  const source = resolve(local);
  const st = await localStat(source);
  if (!st)
    throw new FileTransferError(`The local file '${source}' does not exist`, {
      code: 'PSRP_FILE_NOT_FOUND',
      path: source,
      side: 'local',
    });
  if (st.isDirectory)
    throw new FileTransferError(`The local path '${source}' is a directory, not a file`, {
      code: 'PSRP_FILE_IS_DIRECTORY',
      path: source,
      side: 'local',
    });
  if (options.checkLanguage ?? true) await requireFullLanguage(pool, options.signal);
  const chunk = chunkBytes(pool.connection.maxPayloadBytes);
  const total = st.size;
  const sha = createHash('sha256');
  let sent = 0;
  const progress = (): void => options.onProgress?.({ bytes: sent, totalBytes: total });
  const fh = await open(source, 'r');
  try {
    const buffer = Buffer.alloc(Math.min(chunk, Math.max(total, 1)));
    const readChunk = async (): Promise<Buffer> => {
      let n = 0;
      while (n < buffer.length) {
        const { bytesRead } = await fh.read(buffer, n, buffer.length - n, null);
        if (bytesRead === 0) break;
        n += bytesRead;
      }
      return buffer.subarray(0, n);
    };
    let input: unknown[] | AsyncIterable<string>;
    if (total <= chunk) {
      // Fits one request: the data, its hash and the end of input travel in one Send.
      const data = await readChunk();
      sha.update(data);
      sent = data.length;
      input = [data.toString('base64'), `sha256:${sha.copy().digest('hex')}`];
    } else {
      input = (async function* () {
        for (;;) {
          const data = await readChunk();
          if (data.length === 0) break;
          sha.update(data);
          sent += data.length;
          yield data.toString('base64');
          progress();
        }
        yield `sha256:${sha.copy().digest('hex')}`;
      })();
    }
    const ps = pool
      .powershell()
      .addScript(COPY_SCRIPT)
      .addParameter('Path', remote)
      .addParameter('Expand', options.expandVariables ?? false)
      .addParameter('Overwrite', options.overwrite ?? true);
    const warnings: string[] = [];
    let path = '';
    try {
      for await (const r of ps.stream({ input, signal: options.signal })) {
        if (r.stream === 'output') path = String(r.value);
        else if (r.stream === 'warning') warnings.push(r.value.message);
      }
    } catch (e) {
      throw remoteFailure(e, remote);
    }
    if (total <= chunk) progress();
    if (sent !== total)
      throw new FileTransferError(
        `The local file '${source}' changed size while it was sent (${total} → ${sent} bytes)`,
        { path: source, side: 'local' },
      );
    if (warnings.length > 0 && options.warnings === 'error') {
      throw new FileTransferError(`The server warned during the copy to '${path}': ${warnings.join(' | ')}`, {
        code: 'PSRP_FILE_REMOTE_WARNING',
        path,
        side: 'remote',
      });
    }
    return { path, bytes: sent, sha256: sha.digest('hex'), warnings };
  } finally {
    await fh.close();
  }
}

/** Copies a file from the server to a local path. */
export async function copyFrom(
  pool: TransferPool,
  remote: string,
  local: string,
  options: FileTransferOptions = {},
): Promise<FileTransferResult> {
  const target = resolve(local);
  const st = await localStat(target);
  if (st?.isDirectory)
    throw new FileTransferError(`The local path '${target}' is a directory, not a file`, {
      code: 'PSRP_FILE_IS_DIRECTORY',
      path: target,
      side: 'local',
    });
  if (st && options.overwrite === false)
    throw new FileTransferError(`The local file '${target}' already exists`, {
      code: 'PSRP_FILE_EXISTS',
      path: target,
      side: 'local',
    });
  const folder = await localStat(dirname(target));
  if (!folder?.isDirectory)
    throw new FileTransferError(`The local folder '${dirname(target)}' does not exist`, {
      code: 'PSRP_FILE_NOT_FOUND',
      path: dirname(target),
      side: 'local',
    });
  if (options.checkLanguage ?? true) await requireFullLanguage(pool, options.signal);
  const part = join(dirname(target), `.${basename(target)}.${process.pid}.${Date.now()}.part`);
  const fh = await open(part, 'wx');
  let done = false;
  try {
    const sha256 = createHash('sha256');
    // Servers that run the Python client's script end with a bare SHA-1 (the recordings do): kept
    // alongside so such an answer is checked too.
    const sha1: Hash = createHash('sha1');
    let bytes = 0;
    let total: number | undefined;
    let expected: { algorithm: 'sha256' | 'sha1'; hex: string } | undefined;
    const warnings: string[] = [];
    const ps = pool
      .powershell()
      .addScript(FETCH_SCRIPT)
      .addParameter('Path', remote)
      .addParameter('Expand', options.expandVariables ?? false)
      .addParameter('ChunkSize', chunkBytes(pool.connection.maxPayloadBytes));
    try {
      for await (const r of ps.stream({ signal: options.signal })) {
        if (r.stream === 'warning') warnings.push(r.value.message);
        if (r.stream !== 'output') continue;
        const v = String(r.value);
        if (v.startsWith('size:')) total = Number(v.slice(5));
        else if (v.startsWith('sha256:')) expected = { algorithm: 'sha256', hex: v.slice(7).toLowerCase() };
        else if (/^[0-9a-f]{40}$/i.test(v)) expected = { algorithm: 'sha1', hex: v.toLowerCase() };
        else {
          const data = Buffer.from(v, 'base64');
          sha256.update(data);
          sha1.update(data);
          await fh.write(data);
          bytes += data.length;
          options.onProgress?.({ bytes, totalBytes: total });
        }
      }
    } catch (e) {
      throw remoteFailure(e, remote);
    }
    await fh.close();
    const actual = { sha256: sha256.digest('hex'), sha1: sha1.digest('hex') };
    if (!expected || actual[expected.algorithm] !== expected.hex) {
      throw new FileTransferError(
        expected
          ? `Hash mismatch fetching '${remote}': the server sent ${expected.algorithm} ${expected.hex}, ${actual[expected.algorithm]} arrived; nothing was written`
          : `Fetching '${remote}': the server sent no hash; nothing was written`,
        { code: 'PSRP_FILE_HASH_MISMATCH', path: target, side: 'local' },
      );
    }
    if (warnings.length > 0 && options.warnings === 'error') {
      throw new FileTransferError(`The server warned while sending '${remote}': ${warnings.join(' | ')}`, {
        code: 'PSRP_FILE_REMOTE_WARNING',
        path: remote,
        side: 'remote',
      });
    }
    await rename(part, target);
    done = true;
    return { path: target, bytes, sha256: actual.sha256, warnings };
  } finally {
    await fh.close().catch(() => undefined);
    if (!done) await rm(part, { force: true }).catch(() => undefined);
  }
}
