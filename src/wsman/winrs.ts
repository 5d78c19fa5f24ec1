// The WinRS cmd shell resource (MS-WSMV 3.1.4.5 Create of a cmd shell with 2.2.4.37 Shell,
// 3.1.4.11 Command with 2.2.4.7 CommandLine, 3.1.4.13 Send with 2.2.4.33 Stream, 3.1.4.14 Receive
// with 2.2.4.30 DesiredStream, 3.1.4.12 Signal with 2.2.4.34, 3.1.4.16 Delete) and the shell options
// of MS-WSMV 2.2.4.x (WINRS_CODEPAGE, WINRS_NOPROFILE, WINRS_SKIP_CMD_SHELL,
// WSMAN_CMDSHELL_OPTION_KEEPALIVE). Sans-IO: envelopes out; responses go through response.ts.
import { InvalidArgumentError } from '../errors.js';
import { buildEnvelope, type BuiltEnvelope, type EnvelopeContext } from './envelope.js';
import { CMD_RESOURCE_URI } from './namespaces.js';

const esc = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

export interface WinRSShellCreateOptions {
  /** Working directory of every process of the shell (rsp:WorkingDirectory). */
  readonly workingDirectory?: string | undefined;
  /** Environment variables added to the shell's (rsp:Environment). */
  readonly environment?: Readonly<Record<string, string>> | undefined;
  /** Console code page for the processes' output (WINRS_CODEPAGE, e.g. 65001 UTF-8, 437 OEM US). */
  readonly codepage?: number | undefined;
  /** Do not load the user profile (WINRS_NOPROFILE, MustComply). */
  readonly noProfile?: boolean | undefined;
  /** Shell idle timeout in seconds (rsp:IdleTimeOut). */
  readonly idleTimeoutSeconds?: number | undefined;
  /** Shell lifetime in seconds (rsp:Lifetime). */
  readonly lifetimeSeconds?: number | undefined;
  /** A display name (rsp:Name). */
  readonly name?: string | undefined;
}

const seconds = (n: number, what: string): string => {
  if (!Number.isFinite(n) || n <= 0)
    throw new InvalidArgumentError(`${what} must be a positive number of seconds, got ${n}`, {
      code: 'PSRP_INVALID_ARGUMENT',
    });
  return `PT${n}S`;
};

/** Create a cmd shell (MS-WSMV 3.1.4.5, body 2.2.4.37): input `stdin`, output `stdout stderr`. */
export function winrsCreateEnvelope(ctx: EnvelopeContext, o: WinRSShellCreateOptions = {}): BuiltEnvelope {
  let body =
    '<rsp:Shell><rsp:InputStreams>stdin</rsp:InputStreams><rsp:OutputStreams>stdout stderr</rsp:OutputStreams>';
  const env = Object.entries(o.environment ?? {});
  if (env.length > 0) {
    body += '<rsp:Environment>';
    for (const [k, v] of env) {
      if (k === '' || k.includes('='))
        throw new InvalidArgumentError(`Environment variable name ${JSON.stringify(k)} is empty or has "="`, {
          code: 'PSRP_INVALID_ARGUMENT',
        });
      body += `<rsp:Variable Name="${esc(k)}">${esc(v)}</rsp:Variable>`;
    }
    body += '</rsp:Environment>';
  }
  if (o.idleTimeoutSeconds !== undefined)
    body += `<rsp:IdleTimeOut>${seconds(o.idleTimeoutSeconds, 'idleTimeoutSeconds')}</rsp:IdleTimeOut>`;
  if (o.lifetimeSeconds !== undefined)
    body += `<rsp:Lifetime>${seconds(o.lifetimeSeconds, 'lifetimeSeconds')}</rsp:Lifetime>`;
  if (o.name !== undefined) body += `<rsp:Name>${esc(o.name)}</rsp:Name>`;
  if (o.workingDirectory !== undefined)
    body += `<rsp:WorkingDirectory>${esc(o.workingDirectory)}</rsp:WorkingDirectory>`;
  body += '</rsp:Shell>';
  const options: Record<string, string> = {};
  if (o.noProfile) options['WINRS_NOPROFILE'] = 'TRUE';
  if (o.codepage !== undefined) {
    if (!Number.isInteger(o.codepage) || o.codepage <= 0 || o.codepage > 65535) {
      throw new InvalidArgumentError(
        `codepage must be a Windows code page number (65001, 437…), got ${o.codepage}`,
        { code: 'PSRP_INVALID_ARGUMENT' },
      );
    }
    options['WINRS_CODEPAGE'] = String(o.codepage);
  }
  return buildEnvelope(
    { ...ctx, resourceUri: CMD_RESOURCE_URI },
    { action: 'Create', options, mustComply: ['WINRS_NOPROFILE'], body },
  );
}

/**
 * Start a process (MS-WSMV 3.1.4.11, body 2.2.4.7): `command` and each of `args` verbatim (the
 * caller quotes them, see windows-command-line.ts). With `skipCmdShell` the server starts the
 * executable directly instead of through `cmd.exe /c` (WINRS_SKIP_CMD_SHELL).
 */
export function winrsCommandEnvelope(
  ctx: EnvelopeContext,
  shellId: string,
  command: string,
  args: readonly string[],
  options: { readonly skipCmdShell?: boolean | undefined } = {},
): BuiltEnvelope {
  const a = args.map((x) => `<rsp:Arguments>${esc(x)}</rsp:Arguments>`).join('');
  return buildEnvelope(
    { ...ctx, resourceUri: CMD_RESOURCE_URI },
    {
      action: 'Command',
      shellId,
      options: { WINRS_SKIP_CMD_SHELL: options.skipCmdShell ? 'True' : 'False' },
      body: `<rsp:CommandLine><rsp:Command>${esc(command)}</rsp:Command>${a}</rsp:CommandLine>`,
    },
  );
}

/** Write to a process's stdin (MS-WSMV 3.1.4.13); `end` closes it (End="True"). */
export function winrsSendEnvelope(
  ctx: EnvelopeContext,
  shellId: string,
  commandId: string,
  data: Uint8Array,
  end: boolean,
): BuiltEnvelope {
  const b64 = Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('base64');
  return buildEnvelope(
    { ...ctx, resourceUri: CMD_RESOURCE_URI },
    {
      action: 'Send',
      shellId,
      body: `<rsp:Send><rsp:Stream CommandId="${esc(commandId.toUpperCase())}" End="${end ? 'True' : 'False'}" Name="stdin">${b64}</rsp:Stream></rsp:Send>`,
    },
  );
}

/** Receive a process's stdout and stderr (MS-WSMV 3.1.4.14); `commandId` null asks for the shell's. */
export function winrsReceiveEnvelope(
  ctx: EnvelopeContext,
  shellId: string,
  commandId: string | null,
): BuiltEnvelope {
  const cmd = commandId === null ? '' : ` CommandId="${esc(commandId.toUpperCase())}"`;
  return buildEnvelope(
    { ...ctx, resourceUri: CMD_RESOURCE_URI },
    {
      action: 'Receive',
      shellId,
      options: { WSMAN_CMDSHELL_OPTION_KEEPALIVE: 'True' },
      body: `<rsp:Receive><rsp:DesiredStream${cmd}>stdout stderr</rsp:DesiredStream></rsp:Receive>`,
    },
  );
}

/** Signal a process (MS-WSMV 3.1.4.12, codes 2.2.5.6: ctrl_c, ctrl_break, terminate). */
export function winrsSignalEnvelope(
  ctx: EnvelopeContext,
  shellId: string,
  commandId: string,
  code: string,
): BuiltEnvelope {
  return buildEnvelope(
    { ...ctx, resourceUri: CMD_RESOURCE_URI },
    {
      action: 'Signal',
      shellId,
      body: `<rsp:Signal CommandId="${esc(commandId.toUpperCase())}"><rsp:Code>${esc(code)}</rsp:Code></rsp:Signal>`,
    },
  );
}

/** Delete the cmd shell (MS-WSMV 3.1.4.16): ends its processes. */
export function winrsDeleteEnvelope(ctx: EnvelopeContext, shellId: string): BuiltEnvelope {
  return buildEnvelope({ ...ctx, resourceUri: CMD_RESOURCE_URI }, { action: 'Delete', shellId, body: '' });
}
