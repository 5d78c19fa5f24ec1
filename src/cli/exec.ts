/**
 * `psrp exec <uri|server> [options] -- <command line>`: run a command line (NoLanguage rules: one
 * pipeline of commands) on Exchange or any PowerShell endpoint and print the output.
 *
 * Credentials: --user/--password, or PSRP_USER/PSRP_PASSWORD, or a prompt on a terminal (the
 * password is never echoed). Output: --format table (default on a terminal), json, jsonl, clixml.
 * Exit code: 0 on success, 1 when the pipeline failed or wrote errors, 2 for usage errors.
 */
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import { readFileSync } from 'node:fs';
import { psMeta, serializeClixml, type InvokeResult } from '../index.js';
import { connectExchange } from '../exchange/index.js';

export interface ExecIo {
  readonly stdout: NodeJS.WritableStream & { isTTY?: boolean };
  readonly stderr: NodeJS.WritableStream;
  readonly env: NodeJS.ProcessEnv;
  readonly stdin?: NodeJS.ReadableStream & { isTTY?: boolean };
}

const USAGE = `usage: psrp exec <uri|server> [--user U] [--password P] [--configuration NAME] [--format table|json|jsonl|clixml]
                 [--ca FILE] [--skip-certificate-check] [--allow-redirection] -- <command line>
  A bare server name means Exchange: https://<server>/PowerShell/, configuration Microsoft.Exchange.`;

function parseArgs(argv: readonly string[]): { target?: string; flags: Map<string, string | true>; command: string } {
  const dd = argv.indexOf('--');
  const head = dd >= 0 ? argv.slice(0, dd) : argv;
  const command = dd >= 0 ? argv.slice(dd + 1).join(' ') : '';
  const flags = new Map<string, string | true>();
  let target: string | undefined;
  for (let i = 0; i < head.length; i++) {
    const a = head[i]!;
    if (a.startsWith('--')) {
      const name = a.slice(2);
      if (['skip-certificate-check', 'allow-redirection'].includes(name)) flags.set(name, true);
      else flags.set(name, head[++i] ?? '');
    } else target ??= a;
  }
  return { ...(target !== undefined ? { target } : {}), flags, command };
}

/** Reads a line without echoing it (for passwords). */
async function promptHidden(question: string, io: ExecIo): Promise<string> {
  let muted = false;
  const out = new Writable({
    write(chunk: Buffer, _enc, cb): void {
      if (!muted) io.stderr.write(chunk);
      cb();
    },
  });
  const rl = createInterface({ input: io.stdin ?? process.stdin, output: out, terminal: true });
  const answer = new Promise<string>((resolve) => rl.question(question, resolve));
  muted = true;
  const value = await answer;
  rl.close();
  io.stderr.write('\n');
  return value;
}

const display = (v: unknown): string => {
  if (v === null || v === undefined) return '';
  if (typeof v === 'object') return psMeta(v)?.toStringValue ?? (Array.isArray(v) ? v.map(display).join(', ') : JSON.stringify(v, jsonReplacer));
  return String(v);
};

function jsonReplacer(_k: string, v: unknown): unknown {
  return typeof v === 'bigint' ? (Number.isSafeInteger(Number(v)) ? Number(v) : v.toString()) : v;
}

function table(rows: readonly unknown[]): string {
  const objects = rows.map((r) => (r !== null && typeof r === 'object' && !Array.isArray(r) ? (r as Record<string, unknown>) : { Value: r }));
  const cols = [...new Set(objects.flatMap((o) => Object.keys(o)))].slice(0, 6);
  const cells = objects.map((o) => cols.map((c) => display(o[c]).replace(/\s+/g, ' ').slice(0, 48)));
  const widths = cols.map((c, i) => Math.max(c.length, ...cells.map((r) => r[i]!.length)));
  const line = (r: readonly string[]): string => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(cols), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n') + '\n';
}

export async function runExec(argv: readonly string[], io: ExecIo): Promise<number> {
  const { target, flags, command } = parseArgs(argv);
  if (!target || !command) {
    io.stderr.write(`${USAGE}\n`);
    return 2;
  }
  const user = (flags.get('user') as string | undefined) ?? io.env['PSRP_USER'];
  let password = (flags.get('password') as string | undefined) ?? io.env['PSRP_PASSWORD'];
  if (!user) {
    io.stderr.write('psrp exec: no user: pass --user or set PSRP_USER\n');
    return 2;
  }
  if (password === undefined) {
    if (!io.stdin?.isTTY) {
      io.stderr.write('psrp exec: no password: pass --password, set PSRP_PASSWORD, or run on a terminal to be asked\n');
      return 2;
    }
    password = await promptHidden(`Password for ${user}: `, io);
  }
  const isUri = /^https?:\/\//i.test(target);
  const format = (flags.get('format') as string | undefined) ?? (io.stdout.isTTY ? 'table' : 'json');
  if (!['table', 'json', 'jsonl', 'clixml'].includes(format)) {
    io.stderr.write(`psrp exec: unknown format ${format}\n`);
    return 2;
  }
  const configuration = flags.get('configuration');
  if (typeof configuration === 'string' && configuration !== 'Microsoft.Exchange') {
    io.stderr.write('psrp exec: only --configuration Microsoft.Exchange is supported so far\n');
    return 2;
  }
  const ca = flags.get('ca');
  try {
    await using ex = await connectExchange({
      ...(isUri ? { uri: target } : { server: target }),
      credential: { username: user, password },
      convertValues: format !== 'clixml',
      ...(typeof ca === 'string' ? { ca: readFileSync(ca, 'utf8') } : {}),
      skipCertificateCheck: flags.get('skip-certificate-check') === true,
      allowRedirection: flags.get('allow-redirection') === true,
    });
    let result: InvokeResult;
    try {
      result = await ex.run(command);
    } catch (e) {
      io.stderr.write(`${(e as Error).message}\n`);
      return 1;
    }
    if (format === 'json') io.stdout.write(`${JSON.stringify(result.output, jsonReplacer, 2)}\n`);
    else if (format === 'jsonl') for (const o of result.output) io.stdout.write(`${JSON.stringify(o, jsonReplacer)}\n`);
    else if (format === 'clixml') io.stdout.write(`${serializeClixml(result.output, { multiple: true })}\n`);
    else if (result.output.length > 0) io.stdout.write(table(result.output));
    for (const w of result.warnings) io.stderr.write(`WARNING: ${w.message}\n`);
    for (const e of result.errors) io.stderr.write(`${e.toString()}\n`);
    return result.hadErrors ? 1 : 0;
  } catch (e) {
    const err = e as Error & { code?: string; hint?: string };
    io.stderr.write(`psrp exec: ${err.message}${err.code ? ` [${err.code}]` : ''}\n`);
    return 1;
  }
}
