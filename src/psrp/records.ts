// MS-PSRP 2.2.3.15 ErrorRecord, 2.2.3.16 InformationalRecord (Warning/Verbose/Debug),
// 2.2.2.26 INFORMATION_RECORD, 2.2.2.25 PROGRESS_RECORD: typed views of deserialized records.
import type { ErrorCategoryInfo, ErrorRecordLike, InvocationInfo } from '../errors.js';
import { PSEnumValue, psMeta } from '../clixml/index.js';
import { bag, type Bag } from './property-bag.js';

const str = (v: unknown): string | undefined => (v === null || v === undefined ? undefined : String(v));

/** ErrorCategory names (MS-PSRP 2.2.3.9), by value. */
const ERROR_CATEGORIES = [
  'NotSpecified', 'OpenError', 'CloseError', 'DeviceError', 'DeadlockDetected', 'InvalidArgument', 'InvalidData',
  'InvalidOperation', 'InvalidResult', 'InvalidType', 'MetadataError', 'NotImplemented', 'NotInstalled',
  'ObjectNotFound', 'OperationStopped', 'OperationTimeout', 'SyntaxError', 'ParserError', 'PermissionDenied',
  'ResourceBusy', 'ResourceExists', 'ResourceUnavailable', 'ReadError', 'WriteError', 'FromStdErr', 'SecurityError',
  'ProtocolError', 'ConnectionError', 'AuthenticationError', 'LimitsExceeded', 'QuotaExceeded', 'NotEnabled',
];

export type { ErrorCategoryInfo, InvocationInfo } from '../errors.js';

/** A PowerShell ErrorRecord as data: what failed, why, where. */
export class ErrorRecord implements ErrorRecordLike {
  readonly message: string;
  readonly fullyQualifiedErrorId: string | undefined;
  readonly categoryInfo: ErrorCategoryInfo;
  readonly targetObject: unknown;
  /** The exception: its .NET type names (most specific first) and message. */
  readonly exception: { readonly typeNames: readonly string[]; readonly message: string | undefined } | undefined;
  /** `ErrorDetails.RecommendedAction`. */
  readonly recommendedAction: string | undefined;
  readonly scriptStackTrace: string | undefined;
  /** The InvocationInfo fields (`Line`, `PositionMessage`, `ScriptLineNumber`, ...) when the server sent them. */
  readonly invocationInfo: InvocationInfo | undefined;
  /** The deserialized record as received. */
  readonly raw: unknown;

  constructor(raw: unknown) {
    const r = bag(raw);
    this.raw = raw;
    const ex = r['Exception'];
    const exMessage = str(bag(ex)['Message']) ?? (typeof ex === 'string' ? ex : undefined);
    this.exception = ex === undefined || ex === null ? undefined : { typeNames: psMeta(ex)?.typeNames ?? [], message: exMessage };
    this.message = str(r['ErrorDetails_Message']) ?? exMessage ?? psMeta(raw)?.toStringValue ?? 'Unknown error';
    this.fullyQualifiedErrorId = str(r['FullyQualifiedErrorId']);
    const catValue = Number(r['ErrorCategory_Category'] ?? 0);
    this.categoryInfo = {
      category: ERROR_CATEGORIES[catValue] ?? String(catValue),
      categoryValue: catValue,
      activity: str(r['ErrorCategory_Activity']),
      reason: str(r['ErrorCategory_Reason']),
      targetName: str(r['ErrorCategory_TargetName']),
      targetType: str(r['ErrorCategory_TargetType']),
      message: str(r['ErrorCategory_Message']),
    };
    this.targetObject = r['TargetObject'];
    this.recommendedAction = str(r['ErrorDetails_RecommendedAction']);
    this.scriptStackTrace = str(r['ErrorDetails_ScriptStackTrace']);
    const inv: Bag = {};
    for (const [k, v] of Object.entries(r)) if (k.startsWith('InvocationInfo_')) inv[k.slice(15)] = v;
    this.invocationInfo = Object.keys(inv).length > 0 ? inv : undefined;
  }

  /** The command that failed, when known (`Get-Item`). */
  get commandName(): string | undefined {
    return str(bag(this.invocationInfo)['MyCommand']) ?? this.categoryInfo.activity;
  }

  /** Like PowerShell's concise view: `Get-Item: Cannot find path ... (ObjectNotFound, PathNotFound,...)`. */
  toString(): string {
    const cmd = this.commandName;
    const lines = [`${cmd ? `${cmd}: ` : ''}${this.message}`];
    if (this.categoryInfo.message) lines.push(`    + CategoryInfo          : ${this.categoryInfo.message}`);
    if (this.fullyQualifiedErrorId) lines.push(`    + FullyQualifiedErrorId : ${this.fullyQualifiedErrorId}`);
    return lines.join('\n');
  }
}

/** A warning, verbose or debug record (MS-PSRP 2.2.3.16 InformationalRecord). */
export interface InformationalRecord {
  readonly message: string;
  readonly invocationInfo: Readonly<Record<string, unknown>> | undefined;
}

export function informationalRecord(raw: unknown): InformationalRecord {
  const r = bag(raw);
  const inv: Bag = {};
  for (const [k, v] of Object.entries(r)) if (k.startsWith('InvocationInfo_')) inv[k.slice(15)] = v;
  return {
    message: str(r['InformationalRecord_Message']) ?? (typeof raw === 'string' ? raw : psMeta(raw)?.toStringValue ?? ''),
    invocationInfo: Object.keys(inv).length > 0 ? inv : undefined,
  };
}

/** An information-stream record (Write-Information, Write-Host; MS-PSRP 2.2.2.26). */
export interface InformationRecord {
  readonly messageData: unknown;
  readonly source: string | undefined;
  readonly timeGenerated: Date | undefined;
  readonly tags: readonly string[];
  readonly user: string | undefined;
  readonly computer: string | undefined;
  readonly processId: number | undefined;
}

export function informationRecord(raw: unknown): InformationRecord {
  const r = bag(raw);
  const tags = r['Tags'];
  return {
    messageData: r['MessageData'],
    source: str(r['Source']),
    timeGenerated: r['TimeGenerated'] instanceof Date ? r['TimeGenerated'] : undefined,
    tags: Array.isArray(tags) ? tags.map(String) : [],
    user: str(r['User']),
    computer: str(r['Computer']),
    processId: typeof r['ProcessId'] === 'number' ? r['ProcessId'] : undefined,
  };
}

/** A progress record (Write-Progress; MS-PSRP 2.2.2.25). */
export interface ProgressRecord {
  readonly activity: string;
  readonly activityId: number;
  readonly statusDescription: string | undefined;
  readonly currentOperation: string | undefined;
  readonly parentActivityId: number;
  readonly percentComplete: number;
  readonly secondsRemaining: number;
  /** `Processing` or `Completed`. */
  readonly type: string;
}

export function progressRecord(raw: unknown): ProgressRecord {
  const r = bag(raw);
  const type = r['Type'];
  return {
    activity: str(r['Activity']) ?? '',
    activityId: Number(r['ActivityId'] ?? 0),
    statusDescription: str(r['StatusDescription']),
    currentOperation: str(r['CurrentOperation']),
    parentActivityId: Number(r['ParentActivityId'] ?? -1),
    percentComplete: Number(r['PercentComplete'] ?? -1),
    secondsRemaining: Number(r['SecondsRemaining'] ?? -1),
    type: type instanceof PSEnumValue ? type.name : str(type) ?? 'Processing',
  };
}
