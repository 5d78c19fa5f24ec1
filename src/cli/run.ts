/**
 * `psrp run <uri|server> [options] -- <program> [args...]`: run a plain process in a WinRS cmd shell
 * (what `winrs.exe` does) and pass its exit code through. stdout and stderr are copied as bytes as
 * they arrive. A bare server name means `https://<server>:5986/wsman`.
 *
 * Arguments after `--` are quoted by the Windows command-line rules, so the program's argv is what
 * was typed; `--raw` sends them verbatim (for cmd.exe syntax such as `&&`). `--skip-cmd-shell`
 * starts the program without `cmd.exe /c`. `--stdin` forwards this process's stdin
 * (otherwise the program's stdin is at end of file).
 * Exit code: the remote process's; 255 when the run itself failed (connection, authentication,
 * fault); 2 for usage errors.
 */
import { WinRSShell, type WinRSShellOptions } from '../index.js';
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

const USAGE = `usage: psrp run <uri|server> [--user U] [--password P] [--auth basic|ntlm|negotiate|kerberos] [--spn-host H] [--ca FILE] [--skip-certificate-check]
                [--codepage 65001|437] [--cwd DIR] [--env NAME=VALUE]... [--no-profile] [--skip-cmd-shell] [--raw] [--stdin] -- <program> [args...]
  A bare server name means https://<server>:5986/wsman. Exit code: the program's (255 when the run failed).`;

/** Flags of `run` that take no value (parseArgs knows only the shared ones). */
const OWN_BOOLEAN = new Set(['--no-profile', '--skip-cmd-shell', '--raw', '--stdin']);

export async function runRun(argv: readonly string[], io: CliIo): Promise<number> {
  const dd = argv.indexOf('--');
  const head = dd >= 0 ? argv.slice(0, dd) : [...argv];
  const command = dd >= 0 ? argv.slice(dd + 1) : [];
  const own = new Set(head.filter((a) => OWN_BOOLEAN.has(a)));
  const environment: Record<string, string> = {};
  const rest: string[] = [];
  for (let i = 0; i < head.length; i++) {
    const a = head[i]!;
    if (OWN_BOOLEAN.has(a)) continue;
    if (a === '--env' || a.startsWith('--env=')) {
      const kv = a === '--env' ? (head[++i] ?? '') : a.slice(6);
      const eq = kv.indexOf('=');
      if (eq <= 0) {
        io.stderr.write(`psrp run: --env needs NAME=VALUE, got ${JSON.stringify(kv)}\n`);
        return 2;
      }
      environment[kv.slice(0, eq)] = kv.slice(eq + 1);
      continue;
    }
    rest.push(a);
  }
  const start = await startCommand('run', USAGE, rest, io, {
    fits: () => command.length > 0,
    check: (a) => {
      const text = flag(a, 'codepage');
      return text !== undefined && !Number.isInteger(Number(text))
        ? `--codepage must be a number (65001, 437), got ${text}`
        : undefined;
    },
  });
  if (typeof start === 'number') return start;
  const { args, authentication } = start;
  const { target } = args;
  const codepageText = flag(args, 'codepage');
  const codepage = codepageText === undefined ? undefined : Number(codepageText);
  const red = paint(useColour(io.stderr, io, args)).red;
  const cwd = flag(args, 'cwd');
  const options: WinRSShellOptions = {
    uri: isUri(target) ? target : `https://${target}:5986/wsman`,
    auth: authentication.auth,
    ...caOption(args),
    skipCertificateCheck: args.flags.get('skip-certificate-check') === true,
    allowRedirection: args.flags.get('allow-redirection') === true,
    ...(args.flags.get('allow-unencrypted') === true ? { allowUnencrypted: true } : {}),
    ...(codepage !== undefined ? { codepage } : {}),
    ...(cwd !== undefined ? { workingDirectory: cwd } : {}),
    ...(Object.keys(environment).length > 0 ? { environment } : {}),
    noProfile: own.has('--no-profile'),
  };
  try {
    await using shell = await WinRSShell.open(options);
    const p = await shell.start(command[0]!, command.slice(1), {
      quoteArguments: !own.has('--raw'),
      skipCmdShell: own.has('--skip-cmd-shell'),
    });
    try {
      let feeding: Promise<void> = Promise.resolve();
      if (own.has('--stdin') && io.stdin) {
        const stdin = io.stdin;
        feeding = (async () => {
          for await (const chunk of stdin)
            await p.write(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
          await p.end();
        })();
      } else {
        await p.end(); // stdin at end of file, so a program that reads it does not wait forever
      }
      for await (const c of p.output()) (c.stream === 'stdout' ? io.stdout : io.stderr).write(c.data);
      await feeding.catch(() => undefined);
      return p.exitCode ?? 0;
    } finally {
      await p.close().catch(() => undefined);
    }
  } catch (e) {
    io.stderr.write(`psrp run: ${red(describeError(e))}\n`);
    return 255;
  }
}
