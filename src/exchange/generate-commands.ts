/**
 * Generates a TypeScript module of typed functions from {@link CommandInfo} (what `psrp import`
 * writes): one camel-cased function per command the user's roles grant, one parameter object type
 * per command (a union of one object type per parameter set, with that set's mandatory parameters
 * required), so that `await ex.getMailbox({ identity: 'alice', resultSize: 'Unlimited' })`
 * type-checks and `ex.setMailbox(...)` does not exist for a user who may not run it.
 *
 * The generated module binds to any object with an `invoke(name, parameters, options)` method
 * shaped like ExchangeSession's. It imports nothing, except `PSSecureString` from psrp when a
 * command takes a SecureString (`-Password`): such a parameter accepts a `PSSecureString` or a
 * string, which the module sends as a SecureString (psrp's serializer sends a string as a String,
 * which PowerShell does not bind to a SecureString parameter). Each function resolves with the
 * types the command declares it writes (`[OutputType()]`: strings, numbers, dates...), or with
 * `CommandOutput` (an object's properties) when it declares none or an object type. Common
 * parameters (Verbose, ErrorAction, ...) are left out; calls run with errorAction 'stop', so the
 * first error record rejects the promise.
 */
import type { CommandInfo, ParameterInfo, ParameterSetInfo } from './command-info.js';

/** Session plumbing commands that every restricted runspace offers; not worth a typed function. */
export const SESSION_COMMANDS: ReadonlySet<string> = new Set([
  'Clear-Host',
  'Exit-PSSession',
  'Get-Command',
  'Get-FormatData',
  'Get-Help',
  'Measure-Object',
  'Out-Default',
  'Select-Object',
]);

export interface GenerateCommandsOptions {
  /** A line saying where the metadata came from (no secrets), written into the header comment. */
  readonly source?: string | undefined;
  /** Include the session plumbing commands of {@link SESSION_COMMANDS}. Default false. */
  readonly includeSessionCommands?: boolean | undefined;
}

const RESERVED = new Set([
  'break',
  'case',
  'catch',
  'class',
  'const',
  'continue',
  'debugger',
  'default',
  'delete',
  'do',
  'else',
  'enum',
  'export',
  'extends',
  'false',
  'finally',
  'for',
  'function',
  'if',
  'import',
  'in',
  'instanceof',
  'new',
  'null',
  'return',
  'super',
  'switch',
  'this',
  'throw',
  'true',
  'try',
  'typeof',
  'var',
  'void',
  'while',
  'with',
  'constructor',
  '__proto__',
]);

/** `Get-DistributionGroupMember` → `getDistributionGroupMember`; `ResultSize` → `resultSize`. */
export function camelName(name: string): string {
  const parts = name.split(/[^A-Za-z0-9]+/).filter(Boolean);
  let out = parts
    .map((p, i) =>
      i === 0 ? p.charAt(0).toLowerCase() + p.slice(1) : p.charAt(0).toUpperCase() + p.slice(1),
    )
    .join('');
  if (out === '' || /^[0-9]/.test(out)) out = `_${out}`;
  return RESERVED.has(out) ? `${out}_` : out;
}

const pascal = (name: string): string => {
  const c = camelName(name).replace(/_$/, '');
  return c.charAt(0).toUpperCase() + c.slice(1);
};

const NUMBER_TYPES = new Set([
  'System.Byte',
  'System.SByte',
  'System.Int16',
  'System.UInt16',
  'System.Int32',
  'System.UInt32',
  'System.Single',
  'System.Double',
  'System.Decimal',
]);

const SECURE_STRING = 'System.Security.SecureString';

/** The TypeScript type of one output object of a command declaring `outputTypes` (.NET names). */
export function tsOutputType(outputTypes: readonly string[] | undefined): string {
  const types = new Set(
    (outputTypes ?? []).map((t) => {
      if (t === 'System.String' || t === 'System.Guid' || t === 'System.Char') return 'string';
      if (t === 'System.Boolean') return 'boolean';
      if (NUMBER_TYPES.has(t) && t !== 'System.Decimal') return 'number';
      if (t === 'System.Int64' || t === 'System.UInt64') return 'number | bigint';
      if (t === 'System.DateTime') return 'Date';
      // An object type (Exchange's Mailbox, a PSCustomObject...): its properties.
      return 'CommandOutput';
    }),
  );
  return types.size === 0 ? 'CommandOutput' : [...types].join(' | ');
}

/** The TypeScript type a parameter accepts (what psrp's serializer turns into the .NET type). */
export function tsType(p: Pick<ParameterInfo, 'type' | 'isSwitch' | 'enumValues' | 'isArray'>): string {
  if (p.isSwitch) return 'boolean';
  if (p.enumValues && p.enumValues.length > 0 && p.enumValues.length <= 64)
    return p.enumValues.map((v) => JSON.stringify(v)).join(' | ');
  const t = p.type;
  if (p.isArray) {
    const inner = tsType({ type: t.slice(0, -2), isSwitch: false, isArray: t.slice(0, -2).endsWith('[]') });
    return `readonly (${inner})[]`;
  }
  if (t === 'System.String') return 'string';
  if (t === 'System.Boolean') return 'boolean';
  if (NUMBER_TYPES.has(t)) return 'number';
  if (t === 'System.Int64' || t === 'System.UInt64') return 'number | bigint';
  if (t === 'System.DateTime') return 'Date';
  if (t === 'System.Guid') return 'string';
  if (t === SECURE_STRING) return 'PSSecureString | string';
  if (t === 'System.Collections.Hashtable' || t === 'System.Collections.IDictionary')
    return 'Readonly<Record<string, unknown>>';
  // Exchange's identity and size types parse strings: MailboxIdParameter, Unlimited`1, ByteQuantifiedSize...
  if (
    /IdParameter$|Parameter$/.test(t) ||
    /ByteQuantifiedSize|Unlimited|SmtpAddress|ProxyAddress|EnhancedTimeSpan/.test(t)
  )
    return 'string';
  if (/MultiValuedProperty/.test(t)) return 'string | readonly string[]';
  return 'unknown';
}

function paramLines(
  c: CommandInfo,
  entries: readonly { readonly p: ParameterInfo; readonly mandatory: boolean }[],
): string[] {
  return entries.map(({ p, mandatory }) => {
    const doc = `  /** -${p.name} (${p.type || 'untyped'})${p.aliases.length > 0 ? `, aliases ${p.aliases.join(', ')}` : ''} */`;
    return `${doc}\n  readonly ${camelName(p.name)}${mandatory ? '' : '?'}: ${tsType(p)};`;
  });
}

function parametersType(c: CommandInfo): string {
  const typeName = `${pascal(c.name)}Parameters`;
  const own = c.parameters.filter((p) => !p.isCommon);
  const byName = new Map(own.map((p) => [p.name.toLowerCase(), p]));
  const sets: ParameterSetInfo[] = c.parameterSets.filter(
    (s) => s.parameters.some((e) => byName.has(e.name.toLowerCase())) || s.parameters.length === 0,
  );
  if (sets.length <= 1) {
    const mandatory = new Set(
      (sets[0]?.parameters ?? []).filter((e) => e.mandatory).map((e) => e.name.toLowerCase()),
    );
    const lines = paramLines(
      c,
      own.map((p) => ({ p, mandatory: mandatory.has(p.name.toLowerCase()) })),
    );
    return `/** Parameters of ${c.name}. */\nexport interface ${typeName} {\n${lines.join('\n')}\n}\n`;
  }
  const members = sets.map((s) => {
    const inSet = new Map(s.parameters.map((e) => [e.name.toLowerCase(), e]));
    const lines = paramLines(
      c,
      own
        .filter((p) => inSet.has(p.name.toLowerCase()))
        .map((p) => ({ p, mandatory: inSet.get(p.name.toLowerCase())!.mandatory })),
    );
    return `  /** Parameter set ${s.name}${s.isDefault ? ' (default)' : ''} */\n  | {\n${lines.map((l) => l.replace(/^/gm, '    ')).join('\n')}\n    }`;
  });
  return `/** Parameters of ${c.name}: one member per parameter set. */\nexport type ${typeName} =\n${members.join('\n')};\n`;
}

/** `T[]`, parenthesised when T is a union. */
const arrayOf = (t: string): string => (t.includes(' | ') ? `(${t})[]` : `${t}[]`);

/** True when every parameter set of the command can be called with no parameters. */
function allOptional(c: CommandInfo): boolean {
  const own = new Set(c.parameters.filter((p) => !p.isCommon).map((p) => p.name.toLowerCase()));
  if (c.parameterSets.length === 0) return true;
  return c.parameterSets.some((s) => !s.parameters.some((e) => e.mandatory && own.has(e.name.toLowerCase())));
}

/**
 * The commands worth a typed function: cmdlets and functions (not aliases), without the session
 * plumbing of {@link SESSION_COMMANDS} unless asked for. What `psrp import` writes, what `psrp shell`
 * and `diagnose` count as granted.
 */
export function grantedCommands(
  commands: readonly CommandInfo[],
  options: { readonly includeSessionCommands?: boolean | undefined } = {},
): CommandInfo[] {
  return commands.filter(
    (c) =>
      (c.commandType === 'Cmdlet' || c.commandType === 'Function') &&
      (options.includeSessionCommands === true || !SESSION_COMMANDS.has(c.name)),
  );
}

/** The TypeScript source of the module (see the module comment). */
export function generateCommandModule(
  commands: readonly CommandInfo[],
  options: GenerateCommandsOptions = {},
): string {
  const chosen = grantedCommands(commands, options).sort((a, b) => a.name.localeCompare(b.name));
  const out: string[] = [];
  out.push(
    '// Generated by `psrp import`: typed functions for the commands this user may run. Do not edit;',
    '// run `psrp import` again when roles change.',
    ...(options.source ? [`// Source: ${options.source.replace(/[\r\n]/g, ' ')}`] : []),
    '/* eslint-disable */',
    '',
    '/** What the functions call: an ExchangeSession from `psrp/exchange` fits. */',
    'export interface CommandRunner {',
    "  invoke(name: string, parameters: Readonly<Record<string, unknown>>, options: { readonly errorAction: 'stop' }): Promise<{ readonly output: readonly unknown[] }>;",
    '}',
    '',
    "/** One object of a command's output, when it declares no simpler type. */",
    'export type CommandOutput = Readonly<Record<string, unknown>>;',
    '',
  );
  const secure = (c: CommandInfo): string[] =>
    c.parameters.filter((p) => !p.isCommon && p.type === SECURE_STRING).map((p) => camelName(p.name));
  const anySecure = chosen.some((c) => secure(c).length > 0);
  if (anySecure) out.splice(out.indexOf('/* eslint-disable */') + 1, 0, "import { PSSecureString } from 'psrp';");
  for (const c of chosen) out.push(parametersType(c));
  out.push('/** Every command the user may run, as a typed function. */', 'export interface Commands {');
  for (const c of chosen) {
    out.push(
      `  /** ${c.name} */`,
      `  ${camelName(c.name)}(parameters${allOptional(c) ? '?' : ''}: ${pascal(c.name)}Parameters): Promise<${arrayOf(tsOutputType(c.outputTypes))}>;`,
    );
  }
  out.push('}', '');
  out.push(
    '/** Function name -> [command, parameter names, SecureString parameters]. */',
    'const NAMES: Readonly<Record<string, readonly [string, Readonly<Record<string, string>>, readonly string[]]>> = {',
  );
  for (const c of chosen) {
    const map = c.parameters
      .filter((p) => !p.isCommon)
      .map((p) => `${JSON.stringify(camelName(p.name))}: ${JSON.stringify(p.name)}`);
    out.push(
      `  ${JSON.stringify(camelName(c.name))}: [${JSON.stringify(c.name)}, { ${map.join(', ')} }, ${JSON.stringify(secure(c))}],`,
    );
  }
  out.push(
    '};',
    '',
    '/** Binds the typed functions to a session: `const ex = bindCommands(await connectExchange(...))`. */',
    'export function bindCommands(session: CommandRunner): Commands {',
    '  const out: Record<string, (parameters?: Readonly<Record<string, unknown>>) => Promise<readonly unknown[]>> = {};',
    `  for (const [fn, [command, names${anySecure ? ', secure' : ''}]] of Object.entries(NAMES)) {`,
    '    out[fn] = async (parameters = {}) => {',
    '      const named: Record<string, unknown> = {};',
    '      for (const [k, v] of Object.entries(parameters)) {',
    '        if (v === undefined) continue;',
    '        const name = names[k];',
    '        if (name === undefined) throw new TypeError(`${command} has no parameter ${k}`);',
    anySecure
      ? "        named[name] = typeof v === 'string' && secure.includes(k) ? PSSecureString.fromPlainText(v) : v;"
      : '        named[name] = v;',
    '      }',
    "      const result = await session.invoke(command, named, { errorAction: 'stop' });",
    '      return result.output;',
    '    };',
    '  }',
    '  return out as unknown as Commands;',
    '}',
    '',
  );
  return out.join('\n');
}
