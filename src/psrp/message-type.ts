// MS-PSRP 2.2.1 PowerShell Remoting Protocol Message — the MessageType table.

/** Every PSRP message type (MS-PSRP 2.2.1), with its wire value. */
export const MessageType = {
  SessionCapability: 0x00010002,
  InitRunspacePool: 0x00010004,
  PublicKey: 0x00010005,
  EncryptedSessionKey: 0x00010006,
  PublicKeyRequest: 0x00010007,
  ConnectRunspacePool: 0x00010008,
  SetMaxRunspaces: 0x00021002,
  SetMinRunspaces: 0x00021003,
  RunspaceAvailability: 0x00021004,
  RunspacePoolState: 0x00021005,
  CreatePipeline: 0x00021006,
  GetAvailableRunspaces: 0x00021007,
  UserEvent: 0x00021008,
  ApplicationPrivateData: 0x00021009,
  GetCommandMetadata: 0x0002100a,
  RunspacePoolInitData: 0x0002100b,
  ResetRunspaceState: 0x0002100c,
  RunspacePoolHostCall: 0x00021100,
  RunspacePoolHostResponse: 0x00021101,
  PipelineInput: 0x00041002,
  EndOfPipelineInput: 0x00041003,
  PipelineOutput: 0x00041004,
  ErrorRecord: 0x00041005,
  PipelineState: 0x00041006,
  DebugRecord: 0x00041007,
  VerboseRecord: 0x00041008,
  WarningRecord: 0x00041009,
  ProgressRecord: 0x00041010,
  InformationRecord: 0x00041011,
  PipelineHostCall: 0x00041100,
  PipelineHostResponse: 0x00041101,
} as const;

export type MessageTypeName = keyof typeof MessageType;
export type MessageTypeValue = (typeof MessageType)[MessageTypeName];

const NAMES = new Map<number, MessageTypeName>(
  (Object.entries(MessageType) as [MessageTypeName, number][]).map(([k, v]) => [v, k]),
);

/** The name of a message type value, or undefined for an unknown value. */
export function messageTypeName(value: number): MessageTypeName | undefined {
  return NAMES.get(value);
}

/** MS-PSRP 2.2.1 Destination field. */
export const Destination = { Client: 0x00000001, Server: 0x00000002 } as const;
export type DestinationValue = (typeof Destination)[keyof typeof Destination];
