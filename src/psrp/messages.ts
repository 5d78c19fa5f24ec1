// MS-PSRP 2.2.2 Message Types: data of the messages a client sends (2.2.2.1 SESSION_CAPABILITY,
// 2.2.2.2 INIT_RUNSPACEPOOL, 2.2.2.3 PUBLIC_KEY, 2.2.2.6/7 SET_MAX/MIN_RUNSPACES, 2.2.2.10
// CREATE_PIPELINE (2.2.3.11-13 PowerShell/Command/parameters), 2.2.2.11 GET_AVAILABLE_RUNSPACES,
// 2.2.2.14 GET_COMMAND_METADATA, 2.2.2.16/28 HOST_RESPONSE, 2.2.2.17 PIPELINE_INPUT, 2.2.2.29
// CONNECT_RUNSPACEPOOL, 2.2.2.31 RESET_RUNSPACE_STATE).
import { createPSObject, ps, psEnum, psList, serializeObject, type SerializeOptions } from '../clixml/index.js';
import { InvalidArgumentError } from '../errors.js';
import { HostMethod, type HostMethodName } from './host-method.js';

const PSOBJECT_LIST =
  'System.Collections.Generic.List`1[[System.Management.Automation.PSObject, System.Management.Automation, Version=3.0.0.0, Culture=neutral, PublicKeyToken=31bf3856ad364e35]]';
const RESULT_TYPES = 'System.Management.Automation.Runspaces.PipelineResultTypes';

/** A PSObject with these extended properties and no type names (what a message's data is built of). */
const psObjectOf = (props: Record<string, unknown>): Record<string, unknown> => createPSObject({ typeNames: [], extendedProperties: props });

/** Host information sent with INIT_RUNSPACEPOOL and CREATE_PIPELINE (MS-PSRP 2.2.3.14). */
export function hostInfo(hasHost: boolean): Record<string, unknown> {
  return psObjectOf({
    _isHostNull: !hasHost,
    _isHostUINull: !hasHost,
    _isHostRawUINull: true,
    _useRunspaceHost: !hasHost,
  });
}

export function sessionCapabilityData(protocolVersion = '2.3'): string {
  return serializeObject(
    psObjectOf({ protocolversion: ps.version(protocolVersion), PSVersion: ps.version('2.0'), SerializationVersion: ps.version('1.1.0.1') }),
  );
}

export interface InitRunspacePoolSpec {
  readonly minRunspaces: number;
  readonly maxRunspaces: number;
  readonly hasHost: boolean;
  /** `$PSSenderInfo.ApplicationArguments` on the server (a PSPrimitiveDictionary). */
  readonly applicationArguments?: Readonly<Record<string, unknown>> | undefined;
}

export function initRunspacePoolData(spec: InitRunspacePoolSpec): string {
  const args = spec.applicationArguments;
  return serializeObject(
    psObjectOf({
      MinRunspaces: spec.minRunspaces,
      MaxRunspaces: spec.maxRunspaces,
      PSThreadOptions: psEnum('System.Management.Automation.Runspaces.PSThreadOptions', 'Default', 0),
      ApartmentState: psEnum('System.Management.Automation.Runspaces.ApartmentState', 'UNKNOWN', 2),
      HostInfo: hostInfo(spec.hasHost),
      ApplicationArguments: args === undefined ? null : primitiveDictionary(args),
    }),
  );
}

function primitiveDictionary(values: Readonly<Record<string, unknown>>): Map<unknown, unknown> {
  const m = new Map<unknown, unknown>(Object.entries(values));
  return Object.defineProperty(m, Symbol.for('psrp.clixml.meta'), {
    value: {
      typeNames: ['System.Management.Automation.PSPrimitiveDictionary', 'System.Collections.Hashtable', 'System.Object'],
      toStringValue: undefined, adapted: [], extended: [], container: 'DCT',
    },
    enumerable: false,
  });
}

/** One parameter or positional argument of a command. `name` null = positional. */
export interface CommandParameter {
  readonly name: string | null;
  readonly value: unknown;
}

/** Which streams a command merges into which (MS-PSRP 2.2.3.31 PipelineResultTypes). */
export interface CommandMerges {
  /** Merge the error stream into output (`2>&1`). */
  readonly mergeErrorToOutput?: boolean;
  /** Protocol 2.2+: merge warning/verbose/debug/information into output. */
  readonly mergeWarningToOutput?: boolean;
  readonly mergeVerboseToOutput?: boolean;
  readonly mergeDebugToOutput?: boolean;
  readonly mergeInformationToOutput?: boolean;
}

export interface CommandSpec extends CommandMerges {
  /** Command name, or script text when `isScript` is true. */
  readonly name: string;
  readonly isScript: boolean;
  readonly useLocalScope?: boolean | undefined;
  readonly parameters: readonly CommandParameter[];
}

export interface CreatePipelineSpec {
  /** The pipeline's commands (its only statement, or the first of `statements`). */
  readonly commands: readonly CommandSpec[];
  /**
   * Several statements run in order in one pipeline (PowerShell.AddStatement), sent in the
   * PowerShell object's `ExtraCmds` list as Windows clients send it (the spec's 2.2.3.11 omits it;
   * servers of protocol 2.2+ read it). When given, `commands` is ignored.
   */
  readonly statements?: readonly (readonly CommandSpec[])[] | undefined;
  readonly noInput: boolean;
  readonly addToHistory: boolean;
  readonly isNested: boolean;
  readonly hasHost: boolean;
  /** Whether the server speaks protocol 2.2+ (per-stream merges). */
  readonly protocol22: boolean;
}

const RESULT_NAMES = ['None', 'Output', 'Error', 'Output, Error'] as const;
const merge = (value: 0 | 1 | 2 | 3): unknown => psEnum(RESULT_TYPES, RESULT_NAMES[value], value);

function command(c: CommandSpec, protocol22: boolean): Record<string, unknown> {
  const toOut = (b: boolean | undefined): unknown => merge(b ? 1 : 0);
  const props: Record<string, unknown> = {
    Cmd: c.name,
    IsScript: c.isScript,
    UseLocalScope: c.useLocalScope ?? null,
    MergeMyResult: merge(c.mergeErrorToOutput ? 2 : 0),
    MergeToResult: merge(c.mergeErrorToOutput ? 1 : 0),
    MergePreviousResults: merge(0),
    Args: psList(
      [PSOBJECT_LIST, 'System.Object'],
      c.parameters.map((p) => psObjectOf({ N: p.name, V: p.value })),
    ),
  };
  if (protocol22) {
    props['MergeError'] = toOut(c.mergeErrorToOutput);
    props['MergeWarning'] = toOut(c.mergeWarningToOutput);
    props['MergeVerbose'] = toOut(c.mergeVerboseToOutput);
    props['MergeDebug'] = toOut(c.mergeDebugToOutput);
    props['MergeInformation'] = toOut(c.mergeInformationToOutput);
  }
  return psObjectOf(props);
}

export function createPipelineData(spec: CreatePipelineSpec, options: SerializeOptions = {}): string {
  return serializeObject(
    psObjectOf({
      NoInput: spec.noInput,
      ApartmentState: psEnum('System.Management.Automation.Runspaces.ApartmentState', 'UNKNOWN', 2),
      RemoteStreamOptions: psEnum('System.Management.Automation.RemoteStreamOptions', 'None', 0),
      AddToHistory: spec.addToHistory,
      HostInfo: hostInfo(spec.hasHost),
      PowerShell: psObjectOf({
        // Several statements: ExtraCmds lists every statement as an object with its own Cmds, and
        // Cmds repeats the first, as Windows clients send it (a server without batching runs Cmds).
        ...(spec.statements !== undefined && spec.statements.length > 1
          ? {
              ExtraCmds: psList(
                [PSOBJECT_LIST, 'System.Object'],
                spec.statements.map((st) => psObjectOf({ Cmds: psList([PSOBJECT_LIST, 'System.Object'], st.map((c) => command(c, spec.protocol22))) })),
              ),
            }
          : {}),
        Cmds: psList([PSOBJECT_LIST, 'System.Object'], (spec.statements?.[0] ?? spec.commands).map((c) => command(c, spec.protocol22))),
        IsNested: spec.isNested,
        History: null,
        RedirectShellErrorOutputPipe: true,
      }),
      IsNested: spec.isNested,
    }),
    options,
  );
}

export function hostResponseData(
  callId: bigint,
  method: HostMethodName,
  result: { readonly value: unknown } | { readonly error: unknown },
  options: SerializeOptions = {},
): string {
  const props: Record<string, unknown> = {
    ci: callId,
    mi: psEnum('System.Management.Automation.Remoting.RemoteHostMethodId', method, HostMethod[method]),
  };
  if ('value' in result) props['mr'] = result.value;
  else props['me'] = result.error;
  return serializeObject(psObjectOf(props), options);
}

export const publicKeyData = (publicKeyBase64: string): string => serializeObject(psObjectOf({ PublicKey: publicKeyBase64 }));
export const setMaxRunspacesData = (max: number, callId: bigint): string => serializeObject(psObjectOf({ MaxRunspaces: max, ci: callId }));
export const setMinRunspacesData = (min: number, callId: bigint): string => serializeObject(psObjectOf({ MinRunspaces: min, ci: callId }));
export const callIdData = (callId: bigint): string => serializeObject(psObjectOf({ ci: callId }));
export const connectRunspacePoolData = (min: number, max: number): string =>
  serializeObject(psObjectOf({ MinRunspaces: min, MaxRunspaces: max }));

/** System.Management.Automation.CommandTypes flags (MS-PSRP 2.2.3.19), `All` being every one. */
export const COMMAND_TYPES = {
  Alias: 0x1,
  Function: 0x2,
  Filter: 0x4,
  Cmdlet: 0x8,
  ExternalScript: 0x10,
  Application: 0x20,
  Script: 0x40,
  Workflow: 0x80,
  Configuration: 0x100,
  All: 0x1ff,
} as const;
export type CommandTypeName = keyof typeof COMMAND_TYPES;

/** What GET_COMMAND_METADATA asks for besides names (MS-PSRP 2.2.2.14). */
export interface CommandMetadataFilter {
  /** Command types to describe. Default Alias, Function, Filter, Cmdlet (what Import-PSSession asks). */
  readonly commandTypes?: readonly CommandTypeName[] | undefined;
  /** Module names (the message's `Namespace`): only commands from these modules. Default: any. */
  readonly modules?: readonly string[] | undefined;
  /** Arguments for resolving dynamic parameters (Get-Command -ArgumentList), e.g. a provider path. */
  readonly argumentList?: readonly unknown[] | undefined;
}

const STRING_ARRAY = ['System.String[]', 'System.Array', 'System.Object'];

/** GET_COMMAND_METADATA (MS-PSRP 2.2.2.14): which commands to describe. */
export function getCommandMetadataData(names: readonly string[], filter: CommandMetadataFilter = {}): string {
  const types = filter.commandTypes ?? ['Alias', 'Function', 'Filter', 'Cmdlet'];
  if (types.length === 0) throw new InvalidArgumentError('commandTypes needs at least one command type');
  let value = 0;
  for (const t of types) {
    if (!Object.hasOwn(COMMAND_TYPES, t)) throw new InvalidArgumentError(`Unknown command type ${String(t)}; expected one of ${Object.keys(COMMAND_TYPES).join(', ')}`);
    value |= COMMAND_TYPES[t];
  }
  // A [Flags] enum's text, as .NET writes it: `All`, or the set flags in ascending order.
  const text =
    value === COMMAND_TYPES.All
      ? 'All'
      : (Object.entries(COMMAND_TYPES) as [CommandTypeName, number][])
          .filter(([k, v]) => k !== 'All' && (value & v) !== 0)
          .map(([k]) => k)
          .join(', ');
  return serializeObject(
    psObjectOf({
      Name: psList(STRING_ARRAY, names),
      CommandType: psEnum('System.Management.Automation.CommandTypes', text, value),
      Namespace: psList(STRING_ARRAY, filter.modules && filter.modules.length > 0 ? filter.modules : ['']),
      ArgumentList: filter.argumentList === undefined ? null : psList(['System.Object[]', 'System.Array', 'System.Object'], filter.argumentList),
    }),
  );
}
