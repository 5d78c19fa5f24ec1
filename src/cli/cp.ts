/**
 * `psrp cp <uri|server> [options] -- <src> <dst>`: copy a file to or from a PowerShell endpoint over
 * PSRP (RunspacePool.copyTo / copyFrom). The remote side is written `remote:<path>`, e.g.
 * `psrp cp server -- ./app.zip 'remote:C:\Temp\app.zip'` or `psrp cp server -- remote:%TEMP%\log.txt ./log.txt`
 * (with `--expand`, `%VAR%` is expanded on the server). A bare server name means
 * `https://<server>:5986/wsman`. On a terminal stderr shows a progress bar (--quiet turns it off).
 * Exit code: 0 copied, 1 failed, 2 usage errors.
 */
import { RunspacePool, type FileTransferProgress } from '../index.js';
import {
  caOption,
  describeError,
  flag,
  isUri,
  paint,
  startCommand,
  useColour,
  type CliIo,
} from './cli-options.js';

const USAGE = `usage: psrp cp <uri|server> [--user U] [--password P] [--auth basic|ntlm|negotiate|kerberos] [--spn-host H] [--ca FILE] [--skip-certificate-check]
               [--configuration NAME] [--expand] [--no-overwrite] [--quiet] -- <src> <dst>
  One of <src>, <dst> is remote: remote:<path> (e.g. 'remote:C:\\Temp\\a.zip'). A bare server name means https://<server>:5986/wsman.`;

const REMOTE = /^remote:/i;
const OWN_BOOLEAN = new Set(['--expand', '--no-overwrite']);

const mb = (n: number): string => `${(n / 1048576).toFixed(1)} MB`;

/** One line of the progress bar: `[#####-----]  50%  5.0/10.0 MB  2.5 MB/s`. */
export function formatTransferBar(p: FileTransferProgress, elapsedMs: number, width = 24): string {
  const rate = elapsedMs > 0 ? `${mb((p.bytes * 1000) / elapsedMs)}/s` : '';
  if (p.totalBytes === undefined || p.totalBytes === 0) return `${mb(p.bytes)}  ${rate}`.trimEnd();
  const ratio = Math.min(1, p.bytes / p.totalBytes);
  const filled = Math.round(ratio * width);
  const pct = `${Math.floor(ratio * 100)}`.padStart(3);
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${pct}%  ${(p.bytes / 1048576).toFixed(1)}/${mb(p.totalBytes)}  ${rate}`.trimEnd();
}

export async function runCp(argv: readonly string[], io: CliIo): Promise<number> {
  const dd = argv.indexOf('--');
  const head = dd >= 0 ? argv.slice(0, dd) : [...argv];
  const paths = dd >= 0 ? argv.slice(dd + 1) : [];
  const own = new Set(head.filter((a) => OWN_BOOLEAN.has(a)));
  const start = await startCommand(
    'cp',
    USAGE,
    head.filter((a) => !OWN_BOOLEAN.has(a)),
    io,
    {
      fits: () => paths.length === 2 && REMOTE.test(paths[0]!) !== REMOTE.test(paths[1]!),
    },
  );
  if (typeof start === 'number') return start;
  const { args, authentication } = start;
  const [src, dst] = paths as [string, string];
  const { target } = args;
  const upload = REMOTE.test(dst);
  const colour = paint(useColour(io.stderr, io, args));
  const live = io.stderr.isTTY === true && args.flags.get('quiet') !== true;
  const configurationName = flag(args, 'configuration');
  const started = Date.now();
  let drawn = false;
  const onProgress = live
    ? (p: FileTransferProgress): void => {
        io.stderr.write(`\r${formatTransferBar(p, Date.now() - started)}\x1b[K`);
        drawn = true;
      }
    : undefined;
  try {
    await using pool = await RunspacePool.open({
      uri: isUri(target) ? target : `https://${target}:5986/wsman`,
      auth: authentication.auth,
      ...(configurationName !== undefined ? { configurationName } : {}),
      ...caOption(args),
      skipCertificateCheck: args.flags.get('skip-certificate-check') === true,
      allowRedirection: args.flags.get('allow-redirection') === true,
      ...(args.flags.get('allow-unencrypted') === true ? { allowUnencrypted: true } : {}),
    });
    const options = {
      expandVariables: own.has('--expand'),
      overwrite: !own.has('--no-overwrite'),
      onProgress,
    };
    const r = upload
      ? await pool.copyTo(src, dst.replace(REMOTE, ''), options)
      : await pool.copyFrom(src.replace(REMOTE, ''), dst, options);
    if (drawn) io.stderr.write('\n');
    for (const w of r.warnings) io.stderr.write(`${colour.yellow(`WARNING: ${w}`)}\n`);
    if (args.flags.get('quiet') !== true)
      io.stderr.write(
        `${upload ? 'copied to' : 'copied from'} ${upload ? r.path : src.replace(REMOTE, '')}: ${r.bytes} bytes, sha256 ${r.sha256}\n`,
      );
    return 0;
  } catch (e) {
    if (drawn) io.stderr.write('\n');
    io.stderr.write(`psrp cp: ${colour.red(describeError(e))}\n`);
    return 1;
  }
}
