/**
 * `psrp diagnose <uri|server>`: runs {@link diagnose} and prints each check as it completes, with
 * the fix under each warning and failure. `--json` prints the whole diagnosis as JSON. Exit code 0
 * when nothing failed, 1 when something did, 2 for usage errors. Credentials are optional: without
 * them the steps that need them are skipped.
 */
import { diagnose, type DiagnosisCheck } from '../exchange/index.js';
import {
  connectionOptions,
  describeError,
  flag,
  paint,
  parseArgs,
  promptHidden,
  useColour,
  type CliIo,
} from './cli-options.js';

const USAGE = `usage: psrp diagnose <uri|server> [--user U] [--password P] [--auth basic|negotiate|kerberos|ntlm] [--ca FILE]
                     [--skip-certificate-check] [--allow-redirection] [--allow-unencrypted] [--timeout MS] [--json]
  Walks DNS, TCP, TLS, HTTP, authentication, shell creation and roles, and says what to fix.`;

const AUTHS = ['basic', 'negotiate', 'kerberos', 'ntlm'] as const;

export async function runDiagnose(argv: readonly string[], io: CliIo): Promise<number> {
  const args = parseArgs(argv);
  const target = args.target;
  const auth = (flag(args, 'auth') ?? 'basic').toLowerCase();
  const timeout = flag(args, 'timeout');
  if (
    !target ||
    !(AUTHS as readonly string[]).includes(auth) ||
    (timeout !== undefined && !(Number(timeout) > 0))
  ) {
    io.stderr.write(`${USAGE}\n`);
    return 2;
  }
  const username = flag(args, 'user') ?? io.env['PSRP_USER'];
  let password = flag(args, 'password') ?? io.env['PSRP_PASSWORD'];
  if (username && password === undefined && io.stdin?.isTTY)
    password = await promptHidden(`Password for ${username}: `, io);
  const json = args.flags.get('json') === true;
  const c = paint(useColour(io.stdout, io, args));
  const mark = (ch: DiagnosisCheck): string =>
    ch.status === 'pass'
      ? c.green('✔')
      : ch.status === 'warn'
        ? c.yellow('!')
        : ch.status === 'fail'
          ? c.red('✘')
          : c.dim('-');
  try {
    const { ca, skipCertificateCheck, allowRedirection, allowUnencrypted, ...where } = connectionOptions({
      ...args,
      target,
    });
    if (!json)
      io.stdout.write(
        `Diagnosing ${'uri' in where && where.uri ? String(where.uri) : `https://${target}/PowerShell/`}\n`,
      );
    const result = await diagnose({
      ...where,
      ...(ca !== undefined ? { ca } : {}),
      skipCertificateCheck,
      allowRedirection,
      allowUnencrypted,
      auth: auth as (typeof AUTHS)[number],
      ...(username && password !== undefined ? { credential: { username, password } } : {}),
      ...(timeout !== undefined ? { stepTimeoutMs: Number(timeout) } : {}),
      onCheck: json
        ? undefined
        : (ch) => {
            const line = `${mark(ch)} ${ch.title.padEnd(30)} ${ch.status === 'skip' ? c.dim(ch.detail) : ch.detail}\n`;
            io.stdout.write(line);
            if (ch.fix && (ch.status === 'fail' || ch.status === 'warn'))
              io.stdout.write(`  ${c.bold('fix:')} ${ch.fix}\n`);
          },
    });
    if (json) io.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    else
      io.stdout.write(
        result.ok
          ? `${c.green('No problem found.')}\n`
          : `${c.red('Problems found: see the fixes above.')}\n`,
      );
    return result.ok ? 0 : 1;
  } catch (e) {
    io.stderr.write(`psrp diagnose: ${describeError(e)}\n`);
    return 1;
  }
}
