/**
 * RunspacePoolOptions, and the connection they make: a ready PsrpConnection, PowerShell over SSH,
 * or a WSManConnection over a ready WSManTransport or an HttpTransport to `uri`. The WS-Man options
 * are WSManConnectionOptions' own (picked from it), so their defaults and docs are written once.
 */
import { InvalidArgumentError } from '../errors.js';
import { randomIds, type IdSource } from '../internal/ids.js';
import { HttpTransport, type HttpTransportOptions } from '../http/http-transport.js';
import type { WSManTransport } from '../http/wsman-transport.js';
import type { PSHost } from './host.js';
import type { PsrpConnection } from './psrp-connection.js';
import { SshConnection, type SshOptions } from './ssh-connection.js';
import { WSManConnection, type WSManConnectionOptions } from './wsman-connection.js';

/** The WSManConnection options a pool passes on as they are. */
type PoolWSManOptions = Pick<
  WSManConnectionOptions,
  'configurationName' | 'ids' | 'operationTimeoutSeconds' | 'idleTimeoutSeconds'
>;

export interface RunspacePoolOptions extends Omit<HttpTransportOptions, 'url'>, PoolWSManOptions {
  /** WinRM endpoint, e.g. `https://server:5986/wsman` or `https://cas.contoso.com/PowerShell/`. */
  readonly uri?: string | URL | undefined;
  /** A ready WS-Man transport instead of `uri` (the replay seam). */
  readonly transport?: WSManTransport | undefined;
  /** A ready PSRP connection instead of WS-Man (for example `OutOfProcConnection` to a local pwsh). */
  readonly connection?: PsrpConnection | undefined;
  /**
   * PowerShell over SSH instead of WinRM: the server's sshd runs `pwsh -sshs` as the `powershell`
   * subsystem (PowerShell 7's SSH remoting). The host key is checked against ~/.ssh/known_hosts.
   */
  readonly ssh?: SshOptions | undefined;
  readonly minRunspaces?: number | undefined;
  /** How many pipelines may run at once. Default 1. */
  readonly maxRunspaces?: number | undefined;
  /** Values for `$PSSenderInfo.ApplicationArguments` on the server. */
  readonly applicationArguments?: Readonly<Record<string, unknown>> | undefined;
  /** Answers host calls (Read-Host, prompts, Write-Host). */
  readonly host?: PSHost | undefined;
  /** Cancels opening. */
  readonly signal?: AbortSignal | undefined;
  /**
   * Milliseconds `open()` may take end to end, the Delete after a failed open included. Default
   * `CONNECTION_DEFAULTS.openTimeoutMs` (60000).
   */
  readonly openTimeoutMs?: number | undefined;
  /**
   * Most bytes of unfinished PSRP messages the client holds at once (all messages together);
   * beyond it the pool fails with `PSRP_MESSAGE_TOO_LARGE`. Default 256 MiB.
   */
  readonly maxBufferedMessageBytes?: number | undefined;
  /**
   * Milliseconds each cleanup request may take: the Signal that stops an aborted pipeline, the
   * Delete after a failed open. Default `CONNECTION_DEFAULTS.cleanupTimeoutMs` (5000).
   */
  readonly cleanupTimeoutMs?: number | undefined;
  /**
   * WSManConnection's `maxEnvelopeSize` (MS-WSMV 2.2.4.10: no request is larger; a number is used
   * as given and never raised; default 153600, raised to 512000 once a protocol 2.2+ server opened
   * the pool), or `'server'`: read the server's MaxEnvelopeSizekb from winrm/config before opening
   * (administrators only; otherwise the default stays, unraised).
   */
  readonly maxEnvelopeSize?: WSManConnectionOptions['maxEnvelopeSize'] | 'server';
}

/** What `RunspacePool.open`/`connect` work with: the connection, and the transport they own (closed with the pool). */
export interface PreparedConnection {
  readonly connection: PsrpConnection;
  readonly own: WSManTransport | undefined;
  readonly ids: IdSource;
  readonly transport: WSManTransport | undefined;
}

/** The connection (and the transport it owns) that `open`/`connect` use for `options`. */
export async function prepareConnection(options: RunspacePoolOptions): Promise<PreparedConnection> {
  const ids = options.ids ?? randomIds;
  let transport: WSManTransport | undefined;
  let own: WSManTransport | undefined;
  let connection = options.connection;
  if (!connection && options.ssh) {
    connection = await SshConnection.connect({
      ...options.ssh,
      signal: options.ssh.signal ?? options.signal,
    });
  }
  if (!connection) {
    transport = options.transport;
    if (!transport) {
      if (options.uri === undefined)
        throw new InvalidArgumentError('RunspacePool.open needs `uri`, `ssh`, `transport` or `connection`');
      own = transport = new HttpTransport({ ...options, url: options.uri });
    }
    const wsman: Required<{ [K in keyof WSManConnectionOptions]: WSManConnectionOptions[K] | undefined }> = {
      configurationName: options.configurationName,
      ids,
      operationTimeoutSeconds: options.operationTimeoutSeconds,
      idleTimeoutSeconds: options.idleTimeoutSeconds,
      maxEnvelopeSize: typeof options.maxEnvelopeSize === 'number' ? options.maxEnvelopeSize : undefined,
      locale: undefined,
      dataLocale: undefined,
    };
    connection = new WSManConnection(transport, wsman);
  }
  return { connection, own, ids, transport };
}
