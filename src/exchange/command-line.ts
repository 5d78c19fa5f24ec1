/**
 * A PowerShell command-line parser for the NoLanguage world (Exchange Remote PowerShell).
 *
 * Exchange runspaces are in NoLanguage mode (research A2): only Command objects can be sent, never
 * script text. This parser turns what an admin types,
 *
 *     Get-Mailbox -ResultSize 10 | Set-Mailbox -HiddenFromAddressListsEnabled $true
 *
 * into Command objects with typed parameter values, following PowerShell's *argument mode* rules
 * (about_Parsing): barewords are strings unless they look like numbers; quotes, `$true`/`$false`/
 * `$null`, comma arrays, `-Param:value` and switches. Anything that needs the language (variables,
 * script blocks, subexpressions, hashtables, redirections, several statements) is refused with a
 * clear error pointing at the column, because the server would refuse it anyway.
 *
 * Without command metadata the parser cannot know whether `-Force Alice` means a switch followed by
 * a positional value or a parameter with a value; by default a parameter followed by a value takes
 * it. Pass `isSwitch` (for example built from Get-Command metadata) to decide exactly.
 */
import { InvalidArgumentError } from '../index.js';

/** One parameter or positional argument. `name` is null for a positional argument. */
export interface CommandLineArgument {
  readonly name: string | null;
  readonly value: CommandLineValue;
}

/** Values the parser produces: what PowerShell's argument mode would bind. */
export type CommandLineValue = string | number | bigint | boolean | null | readonly CommandLineValue[];

/** One stage of a pipeline. */
export interface ParsedCommand {
  readonly name: string;
  readonly arguments: readonly CommandLineArgument[];
}

export interface ParseCommandLineOptions {
  /** Tells whether `-parameter` of `command` is a switch (takes no value unless written `-p:value`). */
  readonly isSwitch?: (command: string, parameter: string) => boolean;
}

const LANGUAGE_HINT =
  'it needs the PowerShell language, which NoLanguage endpoints such as Exchange do not allow; ' +
  'send plain commands and parameters, and filter on the server (-Filter, -ResultSize)';

/** Number multipliers PowerShell accepts on numeric literals (about_Numeric_Literals). */
const MULTIPLIERS: Record<string, bigint> = {
  kb: 1024n,
  mb: 1024n ** 2n,
  gb: 1024n ** 3n,
  tb: 1024n ** 4n,
  pb: 1024n ** 5n,
};

const NUMBER_RE =
  /^([+-]?)(?:(0x[0-9a-f]+)|(\d+(?:\.\d*)?(?:e[+-]?\d+)?|\.\d+(?:e[+-]?\d+)?))(kb|mb|gb|tb|pb)?$/i;

/** A word or quoted string, with where it started. */
interface Token {
  readonly kind: 'word' | 'quoted' | 'pipe' | 'comma';
  readonly text: string;
  readonly pos: number;
  /** For words: whether whitespace follows (so `-Name:` can be told from `-Name: value`). */
  readonly spaceAfter: boolean;
}

class Scanner {
  private i = 0;
  constructor(private readonly s: string) {}

  fail(message: string, pos: number, code = 'PSRP_COMMAND_LINE_SYNTAX'): never {
    const caret = `${this.s}\n${' '.repeat(Math.max(0, pos))}^`;
    throw new InvalidArgumentError(`${message} (column ${pos + 1})\n${caret}`, { code });
  }

  needsLanguage(what: string, pos: number): never {
    this.fail(`Cannot send ${what}: ${LANGUAGE_HINT}`, pos, 'PSRP_COMMAND_LINE_NEEDS_LANGUAGE');
  }

  tokens(): Token[] {
    const out: Token[] = [];
    const s = this.s;
    while (this.i < s.length) {
      const c = s[this.i]!;
      if (c === ' ' || c === '\t' || c === '\r' || c === '\n') {
        this.i++;
        continue;
      }
      const start = this.i;
      if (c === '#') break; // comment to end of line
      if (c === '|') {
        if (s[this.i + 1] === '|') this.needsLanguage('a pipeline chain operator (||)', start);
        out.push({ kind: 'pipe', text: '|', pos: start, spaceAfter: true });
        this.i++;
        continue;
      }
      if (c === ',') {
        out.push({ kind: 'comma', text: ',', pos: start, spaceAfter: true });
        this.i++;
        continue;
      }
      if (c === ';') this.needsLanguage('several statements (;)', start);
      if (c === '&')
        this.needsLanguage(
          s[this.i + 1] === '&' ? 'a pipeline chain operator (&&)' : 'the call operator (&)',
          start,
        );
      if (c === '{' || c === '}') this.needsLanguage('a script block', start);
      if (c === '(' || c === ')') this.needsLanguage('a parenthesised expression', start);
      if (c === '@' && (s[this.i + 1] === '(' || s[this.i + 1] === '{')) {
        this.needsLanguage(s[this.i + 1] === '(' ? 'an array subexpression @( )' : 'a hashtable @{ }', start);
      }
      if (c === '>' || c === '<' || (/[0-9*]/.test(c) && s[this.i + 1] === '>'))
        this.needsLanguage('a redirection', start);
      if (c === "'" || c === '\u2018' || c === '\u2019') {
        out.push(this.singleQuoted(start));
        continue;
      }
      if (c === '"' || c === '\u201c' || c === '\u201d') {
        out.push(this.doubleQuoted(start));
        continue;
      }
      out.push(this.word(start));
    }
    return out;
  }

  private singleQuoted(start: number): Token {
    const s = this.s;
    let text = '';
    this.i++;
    for (;;) {
      if (this.i >= s.length) this.fail("Missing closing quote (')", start);
      const c = s[this.i]!;
      if (c === "'" || c === '\u2018' || c === '\u2019') {
        if (s[this.i + 1] === c) {
          text += c;
          this.i += 2;
          continue;
        }
        this.i++;
        break;
      }
      text += c;
      this.i++;
    }
    return { kind: 'quoted', text, pos: start, spaceAfter: this.spaceFollows() };
  }

  private doubleQuoted(start: number): Token {
    const s = this.s;
    let text = '';
    this.i++;
    for (;;) {
      if (this.i >= s.length) this.fail('Missing closing quote (")', start);
      const c = s[this.i]!;
      if (c === '`') {
        text += unescapeBacktick(s[this.i + 1], () =>
          this.fail('Escape character (`) at end of input', this.i),
        );
        this.i += 2;
        continue;
      }
      if (c === '$' && /[\w({:?$^]/.test(s[this.i + 1] ?? ''))
        this.needsLanguage('a variable or subexpression inside double quotes', this.i);
      if (c === '"' || c === '\u201c' || c === '\u201d') {
        if (s[this.i + 1] === '"') {
          text += '"';
          this.i += 2;
          continue;
        }
        this.i++;
        break;
      }
      text += c;
      this.i++;
    }
    return { kind: 'quoted', text, pos: start, spaceAfter: this.spaceFollows() };
  }

  private word(start: number): Token {
    const s = this.s;
    let text = '';
    while (this.i < s.length) {
      const c = s[this.i]!;
      if (' \t\r\n|,;&(){}\'"'.includes(c)) {
        // `-Name:'value'` and `-Name:"value"`: the quote belongs to the next token.
        break;
      }
      if (c === '`') {
        text += unescapeBacktick(s[this.i + 1], () =>
          this.fail('Escape character (`) at end of input', this.i),
        );
        this.i += 2;
        continue;
      }
      if (c === '$' && /[\w({:?^]/.test(s[this.i + 1] ?? '')) {
        // Only $true, $false and $null, standing alone or as `-Param:$true`, are plain values.
        const name = /^\$(\w*)/.exec(s.slice(this.i))?.[1] ?? '';
        const alone = text === '' || (text.startsWith('-') && text.endsWith(':'));
        const after = s[this.i + 1 + name.length] ?? ' ';
        if (!alone || !/^(true|false|null)$/i.test(name) || !/[\s|,;]/.test(after)) {
          this.needsLanguage(name ? `a variable ($${name})` : 'a $ expression', this.i);
        }
      }
      text += c;
      this.i++;
    }
    return { kind: 'word', text, pos: start, spaceAfter: this.spaceFollows() };
  }

  private spaceFollows(): boolean {
    const c = this.s[this.i];
    return c === undefined || c === ' ' || c === '\t' || c === '\r' || c === '\n';
  }
}

function unescapeBacktick(next: string | undefined, fail: () => never): string {
  if (next === undefined) return fail();
  const map: Record<string, string> = {
    n: '\n',
    t: '\t',
    r: '\r',
    '0': '\0',
    a: '\x07',
    b: '\b',
    f: '\f',
    v: '\v',
    e: '\x1b',
  };
  return map[next] ?? next;
}

/** Converts one bareword to the value PowerShell's argument mode would bind. */
function wordValue(text: string, pos: number, scanner: Scanner): CommandLineValue {
  if (text.startsWith('$')) {
    const lower = text.toLowerCase();
    if (lower === '$true') return true;
    if (lower === '$false') return false;
    if (lower === '$null') return null;
    scanner.needsLanguage(`a variable (${text})`, pos);
  }
  const m = NUMBER_RE.exec(text);
  if (m) {
    const [, sign, hex, dec, mult] = m;
    const multiplier = mult ? MULTIPLIERS[mult.toLowerCase()]! : 1n;
    if (hex !== undefined || (dec !== undefined && /^\d+$/.test(dec))) {
      let n = BigInt(hex ?? dec!) * multiplier;
      if (sign === '-') n = -n;
      if (n >= -2147483648n && n <= 2147483647n) return Number(n);
      return n;
    }
    const d = Number(dec) * Number(multiplier) * (sign === '-' ? -1 : 1);
    return d;
  }
  return text;
}

/**
 * Parses one command line (a pipeline of commands) into Command objects.
 *
 * @throws {InvalidArgumentError} `PSRP_COMMAND_LINE_SYNTAX` for malformed input (unclosed quote,
 *   empty pipeline stage) and `PSRP_COMMAND_LINE_NEEDS_LANGUAGE` for anything that needs the
 *   PowerShell language. The message shows the column with a caret.
 */
export function parseCommandLine(line: string, options: ParseCommandLineOptions = {}): ParsedCommand[] {
  const scanner: Scanner = new Scanner(line);
  const tokens = scanner.tokens();
  const commands: ParsedCommand[] = [];
  let i = 0;

  const readValue = (): CommandLineValue => {
    // One value, possibly a comma-separated array: a,b,c
    const items: CommandLineValue[] = [];
    for (;;) {
      const t = tokens[i];
      if (t === undefined || t.kind === 'pipe' || t.kind === 'comma') {
        scanner.fail('Missing value', t?.pos ?? line.length);
      }
      items.push(t.kind === 'quoted' ? t.text : wordValue(t.text, t.pos, scanner));
      i++;
      if (tokens[i]?.kind !== 'comma') break;
      i++;
    }
    return items.length === 1 ? items[0]! : items;
  };

  while (i < tokens.length || commands.length === 0) {
    const nameTok = tokens[i];
    if (nameTok === undefined || nameTok.kind !== 'word') {
      scanner.fail(
        nameTok === undefined ? 'Empty command line' : 'Expected a command name',
        nameTok?.pos ?? line.length,
      );
    }
    if (nameTok.text.startsWith('$') || nameTok.text.startsWith('-'))
      scanner.needsLanguage('an expression where a command name belongs', nameTok.pos);
    const name = nameTok.text;
    i++;
    const args: CommandLineArgument[] = [];
    while (i < tokens.length && tokens[i]!.kind !== 'pipe') {
      const t = tokens[i]!;
      if (t.kind === 'word' && /^-[A-Za-z_?]/.test(t.text)) {
        const colon = t.text.indexOf(':');
        if (colon > 0) {
          const pname = t.text.slice(1, colon);
          const rest = t.text.slice(colon + 1);
          i++;
          if (rest !== '') {
            // -Param:value (value glued to the colon); may continue as an array: -P:a,b
            const first = wordValue(rest, t.pos + colon + 1, scanner);
            if (tokens[i]?.kind === 'comma') {
              i++;
              const more = readValue();
              args.push({
                name: pname,
                value: [first, ...(Array.isArray(more) ? (more as CommandLineValue[]) : [more])],
              });
            } else {
              args.push({ name: pname, value: first });
            }
          } else {
            args.push({ name: pname, value: readValue() });
          }
          continue;
        }
        const pname = t.text.slice(1);
        i++;
        const next = tokens[i];
        const nextIsValue =
          next !== undefined &&
          (next.kind === 'quoted' || (next.kind === 'word' && !/^-[A-Za-z_?]/.test(next.text)));
        const isSwitch = options.isSwitch?.(name, pname) ?? false;
        if (!nextIsValue || isSwitch) {
          args.push({ name: pname, value: true });
        } else {
          args.push({ name: pname, value: readValue() });
        }
        continue;
      }
      if (t.kind === 'comma') scanner.fail('Missing value before ","', t.pos);
      args.push({ name: null, value: readValue() });
    }
    commands.push({ name, arguments: args });
    if (i < tokens.length) {
      // a pipe
      i++;
      if (i >= tokens.length) scanner.fail('Empty pipe element: a command must follow "|"', line.length);
    }
  }
  return commands;
}
