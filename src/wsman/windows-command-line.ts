// The Windows command line (the one string CreateProcess receives) and how a program splits it into
// argv: the rules of CommandLineToArgvW and the Microsoft C runtime. The WinRS cmd plugin
// (MS-WSMV 2.2.4.7 CommandLine) joins rsp:Command and each rsp:Arguments with a space, so each
// argument must already be quoted for the program to see it unchanged.

/**
 * Quotes one argument so that CommandLineToArgvW / the MSVC runtime give it back unchanged:
 * left as is when it has no space, tab, newline or double quote (and is not empty); otherwise in
 * double quotes, with each `"` preceded by a backslash and the backslashes that precede a `"` (or
 * the closing quote) doubled. cmd.exe's own metacharacters (`& | < > ^ %`) are not escaped: inside
 * quotes cmd leaves them alone, outside quotes they mean what they mean to cmd.
 */
export function quoteWindowsArgument(arg: string): string {
  if (arg !== '' && !/[\s"]/.test(arg)) return arg;
  let out = '"';
  let backslashes = 0;
  for (const ch of arg) {
    if (ch === '\\') {
      backslashes++;
      continue;
    }
    if (ch === '"') {
      out += '\\'.repeat(backslashes * 2 + 1) + '"';
    } else {
      out += '\\'.repeat(backslashes) + ch;
    }
    backslashes = 0;
  }
  return out + '\\'.repeat(backslashes * 2) + '"';
}

/** Quotes each argument ({@link quoteWindowsArgument}) and joins them with spaces. */
export function joinWindowsArguments(args: readonly string[]): string {
  return args.map(quoteWindowsArgument).join(' ');
}

/**
 * Splits a command line into arguments as the MSVC runtime does for argv[1..] (2008+ rules):
 * whitespace separates arguments outside quotes; `2n` backslashes before `"` give `n` backslashes
 * and the quote toggles quoting; `2n+1` give `n` backslashes and a literal `"`; backslashes not
 * before a quote are literal; `""` inside a quoted part gives a literal `"`.
 */
export function splitWindowsCommandLine(line: string): string[] {
  const args: string[] = [];
  let cur = '';
  let inArg = false;
  let quoted = false;
  let i = 0;
  while (i < line.length) {
    const ch = line[i]!;
    if (ch === '\\') {
      let n = 0;
      while (line[i + n] === '\\') n++;
      inArg = true;
      if (line[i + n] === '"') {
        cur += '\\'.repeat(Math.floor(n / 2));
        if (n % 2 === 1) {
          cur += '"';
          i += n + 1;
        } else {
          i += n; // the quote is handled as a quote below
        }
      } else {
        cur += '\\'.repeat(n);
        i += n;
      }
      continue;
    }
    if (ch === '"') {
      inArg = true;
      if (quoted && line[i + 1] === '"') {
        cur += '"';
        i += 2;
      } else {
        quoted = !quoted;
        i++;
      }
      continue;
    }
    if (!quoted && (ch === ' ' || ch === '\t' || ch === '\n' || ch === '\r')) {
      if (inArg) args.push(cur);
      cur = '';
      inArg = false;
      i++;
      continue;
    }
    cur += ch;
    inArg = true;
    i++;
  }
  if (inArg) args.push(cur);
  return args;
}
