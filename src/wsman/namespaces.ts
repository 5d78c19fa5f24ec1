// MS-WSMV 2.2.1 Namespaces, 3.1.4 Message Processing Events (action URIs), 2.2.5.6 signal codes.

export const NS = {
  s: 'http://www.w3.org/2003/05/soap-envelope',
  wsa: 'http://schemas.xmlsoap.org/ws/2004/08/addressing',
  wsman: 'http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd',
  wsmv: 'http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd',
  rsp: 'http://schemas.microsoft.com/wbem/wsman/1/windows/shell',
  x: 'http://schemas.xmlsoap.org/ws/2004/09/transfer',
  wsmid: 'http://schemas.dmtf.org/wbem/wsman/identity/1/wsmanidentity.xsd',
  psrp: 'http://schemas.microsoft.com/powershell',
} as const;

export const Action = {
  Create: 'http://schemas.xmlsoap.org/ws/2004/09/transfer/Create',
  Get: 'http://schemas.xmlsoap.org/ws/2004/09/transfer/Get',
  Delete: 'http://schemas.xmlsoap.org/ws/2004/09/transfer/Delete',
  Command: 'http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Command',
  Send: 'http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Send',
  Receive: 'http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Receive',
  Signal: 'http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Signal',
  Connect: 'http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Connect',
  Disconnect: 'http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Disconnect',
  Reconnect: 'http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Reconnect',
} as const;
export type ActionName = keyof typeof Action;

export const Signal = {
  /** Stop a PowerShell pipeline (MS-PSRP 3.1.5.3.9; the spec text's `crtl_c` is a typo). */
  PsCtrlC: 'powershell/signal/ctrl_c',
  Terminate: 'http://schemas.microsoft.com/wbem/wsman/1/windows/shell/signal/terminate',
  CtrlC: 'http://schemas.microsoft.com/wbem/wsman/1/windows/shell/signal/ctrl_c',
} as const;

export const CommandState = {
  Done: 'http://schemas.microsoft.com/wbem/wsman/1/windows/shell/CommandState/Done',
  Pending: 'http://schemas.microsoft.com/wbem/wsman/1/windows/shell/CommandState/Pending',
  Running: 'http://schemas.microsoft.com/wbem/wsman/1/windows/shell/CommandState/Running',
} as const;

/** The WS-Man resource URI of a PowerShell session configuration (MS-PSRP 3.1.5.1.1). */
export function powershellResourceUri(configurationName: string): string {
  return `http://schemas.microsoft.com/powershell/${configurationName}`;
}

/** The WinRM service configuration (winrm/config), read with a WS-Transfer Get (MS-WSMV 3.1.4.1). */
export const CONFIG_RESOURCE_URI = 'http://schemas.microsoft.com/wbem/wsman/1/config';

export const CMD_RESOURCE_URI = 'http://schemas.microsoft.com/wbem/wsman/1/windows/shell/cmd';
