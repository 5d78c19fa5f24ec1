// MS-PSRP 3.1.4.10 (GET_COMMAND_METADATA) and 2.2.3.21 (its reply), plus Get-Command -ShowCommandInfo.
/**
 * What a session may run, as typed data: the commands the user's roles grant (Exchange RBAC shows a
 * user only those, and only their granted parameters), each with its parameters' names, .NET types,
 * aliases and switches, and, where the server can say, parameter sets with mandatory parameters and
 * positions.
 *
 * Two questions are asked, the way implicit remoting (Import-PSSession) and Show-Command ask them:
 * 1. GET_COMMAND_METADATA, which every PowerShell since 2.0 answers, even in a NoLanguage runspace;
 *    it gives names, types, aliases and switches but no parameter sets.
 * 2. `Get-Command -Name ... -ShowCommandInfo` (PowerShell 5.0 and later), which adds parameter sets,
 *    mandatory flags, positions and enum values. When it is refused (PowerShell 2-4, or a role
 *    without Get-Command), the answer of (1) stands alone and every parameter is optional.
 */
import { PipelineFailedError, psMeta, type RunspacePool } from '../index.js';

/** One parameter of a command. */
export interface ParameterInfo {
  readonly name: string;
  /** Full .NET type name, e.g. `System.String`, `Microsoft.Exchange.Configuration.Tasks.MailboxIdParameter`. */
  readonly type: string;
  readonly aliases: readonly string[];
  readonly isSwitch: boolean;
  /** One of PowerShell's common parameters (Verbose, ErrorAction, ...). */
  readonly isCommon: boolean;
  /** Values of an enum-typed parameter, when the server said. */
  readonly enumValues?: readonly string[] | undefined;
  /** True for an array type (`String[]`, MultiValuedProperty is not one). */
  readonly isArray: boolean;
}

/** One parameter as it appears in a parameter set. */
export interface ParameterSetEntry {
  readonly name: string;
  readonly mandatory: boolean;
  /** Position for positional use, or undefined when named only. */
  readonly position: number | undefined;
  readonly valueFromPipeline: boolean;
}

export interface ParameterSetInfo {
  readonly name: string;
  readonly isDefault: boolean;
  readonly parameters: readonly ParameterSetEntry[];
}

export interface CommandInfo {
  readonly name: string;
  /** `Cmdlet`, `Function`, `Alias`, ... */
  readonly commandType: string;
  /** For an alias: the command it stands for. */
  readonly resolvedCommandName?: string | undefined;
  readonly parameters: readonly ParameterInfo[];
  /** Empty when the server could not describe parameter sets (see the module comment). */
  readonly parameterSets: readonly ParameterSetInfo[];
  /**
   * The .NET types the command declares it writes (`[OutputType()]`, the metadata's OutputType),
   * e.g. `System.String`, `System.DateTime`; empty or absent when it declares none (Exchange's
   * proxy functions declare none).
   */
  readonly outputTypes?: readonly string[] | undefined;
}

/** PowerShell's common parameters (about_CommonParameters), which every advanced command has. */
export const COMMON_PARAMETERS: ReadonlySet<string> = new Set([
  'Verbose',
  'Debug',
  'ErrorAction',
  'WarningAction',
  'InformationAction',
  'ProgressAction',
  'ErrorVariable',
  'WarningVariable',
  'InformationVariable',
  'OutVariable',
  'OutBuffer',
  'PipelineVariable',
  'WhatIf',
  'Confirm',
  'UseTransaction',
]);

type Obj = Readonly<Record<string, unknown>>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string =>
  typeof v === 'string' ? v : v === null || v === undefined ? '' : (psMeta(v)?.toStringValue ?? String(v));
const list = (v: unknown): unknown[] =>
  Array.isArray(v) ? v : v instanceof Map ? [...v.values()] : isObj(v) ? Object.values(v) : [];
/** Name of an enum value as deserialized (a PSEnumValue, or a string on other paths). */
const enumName = (v: unknown): string => (isObj(v) && typeof v['name'] === 'string' ? v['name'] : str(v));

/** Parses one object of a GET_COMMAND_METADATA reply. */
export function parseCommandMetadata(raw: unknown): CommandInfo | undefined {
  if (!isObj(raw) || typeof raw['Name'] !== 'string') return undefined;
  const parameters = list(raw['Parameters'])
    .filter(isObj)
    .map<ParameterInfo>((p) => {
      const name = str(p['Name']);
      const type = str(p['ParameterType']);
      return {
        name,
        type,
        aliases: list(p['Aliases']).map(str),
        isSwitch: p['SwitchParameter'] === true || type === 'System.Management.Automation.SwitchParameter',
        isCommon: COMMON_PARAMETERS.has(name),
        isArray: type.endsWith('[]'),
      };
    });
  const resolved = raw['ResolvedCommandName'];
  // A list of type names (PSTypeName serializes as its name; an object with Name on other paths).
  const outputTypes = list(raw['OutputType'])
    .map((t) => (isObj(t) && typeof t['Name'] === 'string' ? t['Name'] : str(t)))
    .filter((t) => t !== '');
  return {
    name: raw['Name'],
    commandType: enumName(raw['CommandType']),
    ...(typeof resolved === 'string' && resolved !== '' ? { resolvedCommandName: resolved } : {}),
    parameters,
    parameterSets: [],
    ...(outputTypes.length > 0 ? { outputTypes } : {}),
  };
}

/** Adds what `Get-Command -ShowCommandInfo` said to metadata of the same command. */
export function mergeShowCommandInfo(info: CommandInfo, show: unknown): CommandInfo {
  if (!isObj(show)) return info;
  const known = new Map(info.parameters.map((p) => [p.name.toLowerCase(), p]));
  const enums = new Map<string, readonly string[]>();
  const sets = list(show['ParameterSets'])
    .filter(isObj)
    .map<ParameterSetInfo>((s) => ({
      name: str(s['Name']),
      isDefault: s['IsDefault'] === true,
      parameters: list(s['Parameters'])
        .filter(isObj)
        // Only parameters the metadata granted: RBAC may hide some from this user.
        .filter((p) => known.has(str(p['Name']).toLowerCase()))
        .map<ParameterSetEntry>((p) => {
          const t = p['ParameterType'];
          if (isObj(t) && t['IsEnum'] === true)
            enums.set(str(p['Name']).toLowerCase(), list(t['EnumValues']).map(enumName));
          const position = Number(p['Position']);
          return {
            name: str(p['Name']),
            mandatory: p['IsMandatory'] === true,
            position: Number.isInteger(position) && position >= 0 ? position : undefined,
            valueFromPipeline: p['ValueFromPipeline'] === true,
          };
        }),
    }));
  return {
    ...info,
    parameters: info.parameters.map((p) => {
      const values = enums.get(p.name.toLowerCase());
      return values && values.length > 0 ? { ...p, enumValues: values } : p;
    }),
    parameterSets: sets,
  };
}

/** Anything that holds a runspace pool: a RunspacePool or an ExchangeSession. */
export type CommandSource = RunspacePool | { readonly pool: RunspacePool };

/**
 * The commands this session may run, sorted by name: `names` may hold wildcards (default all).
 * See the module comment for where each field comes from.
 */
export async function getCommandInfo(
  source: CommandSource,
  names: readonly string[] = ['*'],
  options: { readonly signal?: AbortSignal } = {},
): Promise<CommandInfo[]> {
  const pool = 'pool' in source ? source.pool : source;
  const infos = (await pool.getCommandMetadata(names, options))
    .map(parseCommandMetadata)
    .filter((c): c is CommandInfo => c !== undefined);
  const runnable = infos.filter((c) => c.commandType !== 'Alias').map((c) => c.name);
  if (runnable.length > 0) {
    try {
      const r = await pool
        .powershell()
        .addCommand('Get-Command')
        .addParameter('Name', runnable)
        .addParameter('ShowCommandInfo', true)
        .invoke(options.signal ? { signal: options.signal } : {});
      const byName = new Map(r.output.filter(isObj).map((o) => [str(o['Name']).toLowerCase(), o]));
      for (let i = 0; i < infos.length; i++) {
        const show = byName.get(infos[i]!.name.toLowerCase());
        if (show) infos[i] = mergeShowCommandInfo(infos[i]!, show);
      }
    } catch (e) {
      // PowerShell before 5.0, or Get-Command not granted: names and types only (module comment).
      if (!(e instanceof PipelineFailedError)) throw e;
    }
  }
  return infos.sort((a, b) => a.name.localeCompare(b.name));
}
