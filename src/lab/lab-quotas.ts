/**
 * WinRM's quotas as the lab enforces them, with Windows' defaults and fault codes/texts: the service
 * settings of MS-WSMV 2.2.4.10 (ConfigType MaxEnvelopeSizekb, MaxTimeoutms; ServiceType
 * MaxConcurrentOperationsPerUser), the WinRS ones (MaxShellsPerUser, MaxConcurrentUsers,
 * MaxProcessesPerShell, IdleTimeout) and the PowerShell plugin's MaxConcurrentCommandsPerShell.
 * Each limit is switchable: `undefined` turns it off. Codes are wsmerror.h values (ERROR_WSMAN_*).
 */
import { faultResponse, type LabRequest } from './wsman-server-codec.js';

/** WinRM's limits (`lab.limits`); `undefined` switches one off. See docs/lab.md. */
export interface LabLimits {
  /** Plugin quota: commands of one shell not yet terminated (Signal terminate) or deleted with it. Windows 1000. */
  maxConcurrentCommandsPerShell: number | undefined;
  /** Service: a user's live operations (each open shell and each command not terminated). Windows 1500. */
  maxConcurrentOperationsPerUser: number | undefined;
  /** WinRS: shells one user may have open (both endpoints). Windows 30. */
  maxShellsPerUser: number | undefined;
  /** WinRS: distinct users with open shells. Windows 10. */
  maxConcurrentUsers: number | undefined;
  /** WinRS: processes per shell. Windows 25. A PowerShell shell is one process, so only a limit below 1 refuses Create. */
  maxProcessesPerShell: number | undefined;
  /** Service: largest request accepted, and the ceiling of a client's MaxEnvelopeSize (KiB). Windows 500. */
  maxEnvelopeSizeKb: number | undefined;
  /** Service: ceiling of a request's OperationTimeout (a larger one is lowered to it, MS-WSMV 3.1.4.1.6). Windows 60000. */
  maxTimeoutMs: number | undefined;
  /** WinRS/plugin IdleTimeout: a shell without requests for this long is deleted. Windows 7200000 (2 h). */
  idleTimeoutMs: number | undefined;
}

/** Windows' defaults (Windows Server 2012 and later). */
export function windowsLimits(): LabLimits {
  return {
    maxConcurrentCommandsPerShell: 1000,
    maxConcurrentOperationsPerUser: 1500,
    maxShellsPerUser: 30,
    maxConcurrentUsers: 10,
    maxProcessesPerShell: 25,
    maxEnvelopeSizeKb: 500,
    maxTimeoutMs: 60_000,
    idleTimeoutMs: 7_200_000,
  };
}

/** Every limit off (the lab before it enforced them). */
export function noLimits(): LabLimits {
  return {
    maxConcurrentCommandsPerShell: undefined,
    maxConcurrentOperationsPerUser: undefined,
    maxShellsPerUser: undefined,
    maxConcurrentUsers: undefined,
    maxProcessesPerShell: undefined,
    maxEnvelopeSizeKb: undefined,
    maxTimeoutMs: undefined,
    idleTimeoutMs: undefined,
  };
}

/** A WS-Man fault to answer (MS-WSMV 2.2.4.43 shape; see faultResponse). */
export interface QuotaFault {
  readonly subcode: string;
  readonly code: number;
  readonly message: string;
  /** SOAP Code: s:Sender (the client's request or quota) or s:Receiver. */
  readonly sender: boolean;
  /** A wsman:FaultDetail URI, when Windows sends one. */
  readonly detail?: string;
}

// wsmerror.h
const ERROR_WSMAN_QUOTA_MAX_SHELLS = 2150859173; // 0x803381A5
const ERROR_WSMAN_QUOTA_MAX_OPERATIONS = 2150859174; // 0x803381A6
const ERROR_WSMAN_QUOTA_MAX_SHELLUSERS = 2150859179; // 0x803381AB
const ERROR_WSMAN_QUOTA_MAX_COMMANDS_PER_SHELL_PPQ = 2150859241; // 0x803381E9
const ERROR_WSMAN_SERVER_ENVELOPE_LIMIT = 2150858825; // 0x80338049
const ERROR_WSMAN_MAXENVELOPE_SIZE_NOT_SUPPORTED = 2150858862; // 0x8033806E
const FAULT_DETAIL = 'http://schemas.dmtf.org/wbem/wsman/1/wsman/faultDetail';

/** Windows' message texts end with a space; kept, as clients compare them. */
export const quotaFaults = {
  shellsPerUser: (limit: number): QuotaFault => ({
    subcode: 'QuotaLimit',
    code: ERROR_WSMAN_QUOTA_MAX_SHELLS,
    sender: true,
    message: `The WS-Management service cannot process the request. This user is allowed a maximum number of ${limit} concurrent shells, which has been exceeded. Close existing shells or raise the quota for this user. `,
  }),
  // MS-WSMV 3.1.4.5.2.1
  concurrentUsers: (): QuotaFault => ({
    subcode: 'QuotaLimit',
    code: ERROR_WSMAN_QUOTA_MAX_SHELLUSERS,
    sender: true,
    message:
      'The Windows Remote Shell cannot process the request. The server exceeded the maximum number of users concurrently performing remote operations on the same system. Retry later. ',
  }),
  operationsPerUser: (limit: number): QuotaFault => ({
    subcode: 'QuotaLimit',
    code: ERROR_WSMAN_QUOTA_MAX_OPERATIONS,
    sender: true,
    message: `The WS-Management service cannot process the request. This user is allowed a maximum number of ${limit} concurrent operations, which has been exceeded. Close existing operations for this user, or raise the quota for this user. `,
  }),
  // As Windows Server 2012 R2 answers the 1001st unterminated command (w:InternalError).
  commandsPerShell: (): QuotaFault => ({
    subcode: 'InternalError',
    code: ERROR_WSMAN_QUOTA_MAX_COMMANDS_PER_SHELL_PPQ,
    sender: false,
    message:
      'The WS-Management service cannot process the request. The maximum number of concurrent commands per shell has been exceeded. Retry the request later or raise the Maximum Commands per Shell quota. ',
  }),
  processesPerShell: (limit: number): QuotaFault => ({
    subcode: 'QuotaLimit',
    code: ERROR_WSMAN_QUOTA_MAX_SHELLS,
    sender: true,
    message: `The WS-Management service cannot process the request. The maximum number of processes per shell (${limit}) has been exceeded. `,
  }),
  // DSP0226 6.2 / MS-WSMV 2.2.4.10: a request larger than MaxEnvelopeSizekb.
  requestTooLarge: (limitBytes: number): QuotaFault => ({
    subcode: 'EncodingLimit',
    code: ERROR_WSMAN_SERVER_ENVELOPE_LIMIT,
    sender: true,
    detail: `${FAULT_DETAIL}/ServiceEnvelopeLimit`,
    message: `The WS-Management service cannot process the request because the request packet size exceeds the maximum envelope size of ${limitBytes} bytes (MaxEnvelopeSizekb). `,
  }),
  // MS-WSMV 3.1.4.1.7: MaxEnvelopeSize below 8192 octets.
  envelopeTooSmall: (): QuotaFault => ({
    subcode: 'EncodingLimit',
    code: ERROR_WSMAN_MAXENVELOPE_SIZE_NOT_SUPPORTED,
    sender: true,
    detail: `${FAULT_DETAIL}/MinimumEnvelopeLimit`,
    message:
      'The WS-Management service cannot process the request. The MaxEnvelopeSize in the request is less than the minimum supported value of 8192 octets. ',
  }),
  /** Exchange's throttling (PowerShellMaxConcurrency), on /PowerShell/ only. */
  exchangeConcurrency: (limit: number): QuotaFault => ({
    subcode: 'QuotaLimit',
    code: ERROR_WSMAN_QUOTA_MAX_SHELLS,
    sender: false,
    message: `Fail to create a runspace because you have exceeded the maximum number of connections allowed : ${limit} for the policy party : MaxConcurrency. Please close existing runspace and try again.`,
  }),
};

/** What the lab has open, as the quota checks need it. */
export interface QuotaUsage {
  /** Open shells: owner and commands not terminated. */
  readonly shells: readonly { readonly user: string; readonly commands: { readonly size: number } }[];
}

/** A user's live operations: each open shell and each command not terminated. */
export function operationsOf(usage: QuotaUsage, user: string): number {
  let n = 0;
  for (const s of usage.shells) if (s.user === user) n += 1 + s.commands.size;
  return n;
}

/** Create (MS-WSMV 3.1.4.5): the WinRS shell quotas, then the user's operations. */
export function checkCreate(limits: LabLimits, usage: QuotaUsage, user: string): QuotaFault | undefined {
  const all = usage.shells;
  const mine = all.filter((s) => s.user === user).length;
  if (limits.maxShellsPerUser !== undefined && mine >= limits.maxShellsPerUser)
    return quotaFaults.shellsPerUser(limits.maxShellsPerUser);
  const others = new Set(all.map((s) => s.user).filter((u) => u !== user));
  if (limits.maxConcurrentUsers !== undefined && mine === 0 && others.size >= limits.maxConcurrentUsers)
    return quotaFaults.concurrentUsers();
  if (limits.maxProcessesPerShell !== undefined && limits.maxProcessesPerShell < 1)
    return quotaFaults.processesPerShell(limits.maxProcessesPerShell);
  if (
    limits.maxConcurrentOperationsPerUser !== undefined &&
    operationsOf(usage, user) >= limits.maxConcurrentOperationsPerUser
  )
    return quotaFaults.operationsPerUser(limits.maxConcurrentOperationsPerUser);
  return undefined;
}

/** Command (MS-WSMV 3.1.4.11): the shell's unterminated commands, then the user's operations. */
export function checkCommand(
  limits: LabLimits,
  usage: QuotaUsage,
  shell: { readonly user: string; readonly commands: { readonly size: number } },
): QuotaFault | undefined {
  if (
    limits.maxConcurrentCommandsPerShell !== undefined &&
    shell.commands.size >= limits.maxConcurrentCommandsPerShell
  )
    return quotaFaults.commandsPerShell();
  if (
    limits.maxConcurrentOperationsPerUser !== undefined &&
    operationsOf(usage, shell.user) >= limits.maxConcurrentOperationsPerUser
  )
    return quotaFaults.operationsPerUser(limits.maxConcurrentOperationsPerUser);
  return undefined;
}

/** The request's size against MaxEnvelopeSizekb. */
export function checkRequestSize(limits: LabLimits, bytes: number): QuotaFault | undefined {
  if (limits.maxEnvelopeSizeKb === undefined) return undefined;
  const max = limits.maxEnvelopeSizeKb * 1024;
  return bytes > max ? quotaFaults.requestTooLarge(max) : undefined;
}

/**
 * The envelope size a response may have (MS-WSMV 3.1.4.1.7): the request's MaxEnvelopeSize, lowered
 * to MaxEnvelopeSizekb × 1024, which is also the default when the request has none; a value below
 * 8192 is refused.
 */
export function responseEnvelopeLimit(limits: LabLimits, requested: number | undefined): number | QuotaFault {
  if (requested !== undefined && requested < 8192) return quotaFaults.envelopeTooSmall();
  const ceiling = limits.maxEnvelopeSizeKb !== undefined ? limits.maxEnvelopeSizeKb * 1024 : undefined;
  if (requested === undefined) return ceiling ?? 512_000;
  return ceiling !== undefined ? Math.min(requested, ceiling) : requested;
}

/** The OperationTimeout used (MS-WSMV 3.1.4.1.6): lowered to MaxTimeoutms. */
export function effectiveTimeoutMs(limits: LabLimits, requestedMs: number): number {
  return limits.maxTimeoutMs !== undefined ? Math.min(requestedMs, limits.maxTimeoutMs) : requestedMs;
}

/** A quota fault for this request (lab-quotas.ts). */
export const quota = (r: LabRequest, f: QuotaFault): string =>
  faultResponse(r.messageId, f.subcode, f.code, f.message, { sender: f.sender, detail: f.detail });
