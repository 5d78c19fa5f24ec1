/**
 * The lab's WinRS cmd shell resource (`http://schemas.microsoft.com/wbem/wsman/1/windows/shell/cmd`
 * on `/wsman`): MS-WSMV 3.1.4.5 Create, 3.1.4.11 Command, 3.1.4.13 Send, 3.1.4.14 Receive,
 * 3.1.4.12 Signal, 3.1.4.16 Delete, answered in the shapes Windows' cmd plugin uses (compare
 * shared/fixtures/windows-recordings/test_winrs_*).
 *
 * A lab convenience, not Windows: where Windows runs `cmd.exe /c <command line>`, the lab runs
 * `/bin/sh -c <command line>` on the lab machine, as the authenticated lab user's request (the lab
 * listens on loopback only and every request is authenticated first). With WINRS_SKIP_CMD_SHELL the
 * executable is started directly with its arguments split by the Windows rules
 * (CommandLineToArgvW), as Windows' CreateProcess would hand them to a C program.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { encodeCodepage } from '../internal/codepage.js';
import { attr, child, descendants } from '../internal/xml-tree.js';
import { Action, CMD_RESOURCE_URI, CommandState, Signal } from '../wsman/namespaces.js';
import { splitWindowsCommandLine } from '../wsman/windows-command-line.js';
import { faultResponse, labEnvelope, type LabRequest } from './wsman-server-codec.js';

const SHELL_NS = 'http://schemas.microsoft.com/wbem/wsman/1/windows/shell';
/** STATUS_CONTROL_C_EXIT: the exit code Windows reports for a process ended by Ctrl+C. */
const CTRL_C_EXIT = -1073741510;
/** Output bytes one ReceiveResponse carries at most (well inside the default 150 KB envelope). */
const MAX_RECEIVE_BYTES = 64 * 1024;
/** Output held for a client that does not Receive: beyond it the process is paused (backpressure, as Windows blocks the writer). */
const MAX_QUEUED_BYTES = 1024 * 1024;

const esc = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

interface Chunk {
  readonly stream: 'stdout' | 'stderr';
  readonly data: Buffer;
}

interface CmdCommand {
  readonly id: string;
  readonly child: ChildProcess;
  readonly queue: Chunk[];
  queuedBytes: number;
  exitCode: number | undefined;
  interrupted: boolean;
  /** Wakes a pending Receive. */
  notify: (() => void) | undefined;
}

interface CmdShell {
  readonly id: string;
  readonly user: string;
  readonly workingDirectory: string | undefined;
  readonly environment: Readonly<Record<string, string>>;
  readonly codepage: number;
  readonly noProfile: boolean;
  readonly idleTimeout: string;
  readonly name: string | undefined;
  readonly commands: Map<string, CmdCommand>;
}

const invalidSelectors = (r: LabRequest, what: 'shell' | 'command'): string =>
  faultResponse(
    r.messageId,
    'InvalidSelectors',
    2150858843,
    what === 'shell'
      ? 'The WS-Management service cannot process the request because the request contained invalid selectors for the resource.'
      : 'The Windows Remote Shell received a request to perform an operation on a command identifier that does not exist. Either the command has completed execution or the client specified an invalid command identifier.',
  );

/** Ends a process and everything it started (its own process group). */
function killGroup(c: ChildProcess, signal: NodeJS.Signals): void {
  try {
    if (c.pid !== undefined) process.kill(-c.pid, signal);
  } catch {
    try {
      c.kill(signal);
    } catch {
      // already gone
    }
  }
}

export class LabCmdShells {
  private readonly shells = new Map<string, CmdShell>();

  /** True for requests to the cmd shell resource. */
  static handles(r: LabRequest): boolean {
    return r.resourceUri === CMD_RESOURCE_URI;
  }

  /** Open cmd shells. */
  get size(): number {
    return this.shells.size;
  }

  /** Running or unreleased processes over all shells. */
  get processes(): number {
    let n = 0;
    for (const s of this.shells.values()) n += s.commands.size;
    return n;
  }

  async handle(r: LabRequest, user: string): Promise<string> {
    if (r.action === Action.Create) return this.create(r, user);
    const shell = r.shellId ? this.shells.get(r.shellId.toUpperCase()) : undefined;
    if (!shell || shell.user !== user) return invalidSelectors(r, 'shell');
    switch (r.action) {
      case Action.Command:
        return this.command(r, shell);
      case Action.Send:
        return this.send(r, shell);
      case Action.Receive:
        return this.receive(r, shell);
      case Action.Signal:
        return this.signal(r, shell);
      case Action.Delete:
        this.drop(shell);
        return labEnvelope(`${Action.Delete}Response`, r.messageId, '');
      default:
        return faultResponse(
          r.messageId,
          'ActionNotSupported',
          2150858771,
          `The action ${r.action} is not supported by the cmd shell.`,
        );
    }
  }

  /** Ends every process and forgets every shell (lab close, expiry); returns how many shells. */
  closeAll(): number {
    const all = [...this.shells.values()];
    for (const s of all) this.drop(s);
    return all.length;
  }

  private drop(shell: CmdShell): void {
    this.shells.delete(shell.id);
    for (const c of shell.commands.values()) {
      if (c.exitCode === undefined) killGroup(c.child, 'SIGKILL');
    }
    shell.commands.clear();
  }

  private create(r: LabRequest, user: string): string {
    const el = child(r.body, 'Shell');
    const environment: Record<string, string> = {};
    for (const v of descendants(el ?? r.body, 'Variable')) {
      const name = attr(v, 'Name');
      if (name) environment[name] = v.text;
    }
    const codepage = Number(r.options['WINRS_CODEPAGE'] ?? '437');
    const idle = child(el, 'IdleTimeOut')?.text.trim();
    const shell: CmdShell = {
      id: crypto.randomUUID().toUpperCase(),
      user,
      workingDirectory: child(el, 'WorkingDirectory')?.text,
      environment,
      codepage: codepage === 65001 ? 65001 : 437,
      noProfile: /^true$/i.test(r.options['WINRS_NOPROFILE'] ?? ''),
      idleTimeout: idle && /^PT\d+S$/.test(idle) ? `${idle.slice(0, -1)}.000S` : 'PT7200.000S',
      name: child(el, 'Name')?.text,
      commands: new Map(),
    };
    this.shells.set(shell.id, shell);
    const env = Object.entries(environment)
      .map(([k, v]) => `<rsp:Variable Name="${esc(k)}">${esc(v)}</rsp:Variable>`)
      .join('');
    return labEnvelope(
      'http://schemas.xmlsoap.org/ws/2004/09/transfer/CreateResponse',
      r.messageId,
      `<x:ResourceCreated><a:Address>https://lab/wsman</a:Address><a:ReferenceParameters><w:ResourceURI>${CMD_RESOURCE_URI}</w:ResourceURI>` +
        `<w:SelectorSet><w:Selector Name="ShellId">${shell.id}</w:Selector></w:SelectorSet></a:ReferenceParameters></x:ResourceCreated>` +
        `<rsp:Shell xmlns:rsp="${SHELL_NS}"><rsp:ShellId>${shell.id}</rsp:ShellId><rsp:ResourceUri>${CMD_RESOURCE_URI}</rsp:ResourceUri>` +
        `<rsp:Owner>${esc(user)}</rsp:Owner><rsp:ClientIP>127.0.0.1</rsp:ClientIP>` +
        (shell.workingDirectory !== undefined
          ? `<rsp:WorkingDirectory>${esc(shell.workingDirectory)}</rsp:WorkingDirectory>`
          : '') +
        (env ? `<rsp:Environment>${env}</rsp:Environment>` : '') +
        `<rsp:IdleTimeOut>${shell.idleTimeout}</rsp:IdleTimeOut><rsp:InputStreams>stdin</rsp:InputStreams><rsp:OutputStreams>stdout stderr</rsp:OutputStreams>` +
        `<rsp:ShellRunTime>P0DT0H0M0S</rsp:ShellRunTime><rsp:ShellInactivity>P0DT0H0M0S</rsp:ShellInactivity></rsp:Shell>`,
    );
  }

  private async command(r: LabRequest, shell: CmdShell): Promise<string> {
    const line = child(r.body, 'CommandLine');
    const command = child(line, 'Command')?.text.trim() ?? '';
    const args = (line?.children ?? []).filter((e) => e.name === 'Arguments').map((e) => e.text);
    const skipCmdShell = /^true$/i.test(r.options['WINRS_SKIP_CMD_SHELL'] ?? '');
    const cwd = shell.workingDirectory ?? tmpdir();
    if (!existsSync(cwd) || !statSync(cwd).isDirectory()) {
      return faultResponse(r.messageId, 'InternalError', 2147942667, 'The directory name is invalid.');
    }
    const env: Record<string, string> = {
      PATH: process.env['PATH'] ?? '/usr/local/bin:/usr/bin:/bin',
      LANG: 'C.UTF-8',
      USERNAME: shell.user,
      ...(shell.noProfile ? {} : { USERPROFILE: tmpdir(), HOME: tmpdir() }),
      ...shell.environment,
    };
    let argv: [string, string[]];
    if (skipCmdShell) {
      const parts = splitWindowsCommandLine([command, ...args].join(' '));
      argv = [parts[0] ?? '', parts.slice(1)];
    } else {
      argv = ['/bin/sh', ['-c', [command, ...args].join(' ')]];
    }
    const proc = spawn(argv[0], argv[1], { cwd, env, detached: true, stdio: ['pipe', 'pipe', 'pipe'] });
    const started = await new Promise<Error | undefined>((resolve) => {
      proc.once('spawn', () => resolve(undefined));
      proc.once('error', (e) => resolve(e));
    });
    if (started) {
      return faultResponse(
        r.messageId,
        'InternalError',
        2147942402,
        'The system cannot find the file specified.',
      );
    }
    const id = crypto.randomUUID().toUpperCase();
    const cmd: CmdCommand = {
      id,
      child: proc,
      queue: [],
      queuedBytes: 0,
      exitCode: undefined,
      interrupted: false,
      notify: undefined,
    };
    const wake = (): void => {
      const n = cmd.notify;
      cmd.notify = undefined;
      n?.();
    };
    for (const stream of ['stdout', 'stderr'] as const) {
      const decoder = new TextDecoder('utf-8');
      proc[stream].on('data', (b: Buffer) => {
        const data =
          shell.codepage === 65001
            ? b
            : Buffer.from(encodeCodepage(decoder.decode(b, { stream: true }), shell.codepage));
        if (data.length > 0) {
          cmd.queue.push({ stream, data });
          cmd.queuedBytes += data.length;
          if (cmd.queuedBytes > MAX_QUEUED_BYTES) {
            proc.stdout.pause();
            proc.stderr.pause();
          }
        }
        wake();
      });
    }
    proc.stdin.on('error', () => undefined);
    proc.on('close', (code, signal) => {
      cmd.exitCode =
        cmd.interrupted && signal === 'SIGINT'
          ? CTRL_C_EXIT
          : (code ?? (signal ? 128 + signalNumber(signal) : 1));
      wake();
    });
    shell.commands.set(id, cmd);
    return labEnvelope(
      'http://schemas.microsoft.com/wbem/wsman/1/windows/shell/CommandResponse',
      r.messageId,
      `<rsp:CommandResponse><rsp:CommandId>${id}</rsp:CommandId></rsp:CommandResponse>`,
    );
  }

  private send(r: LabRequest, shell: CmdShell): string {
    for (const s of descendants(r.body, 'Stream')) {
      const cmd = shell.commands.get((attr(s, 'CommandId') ?? '').toUpperCase());
      if (!cmd) return invalidSelectors(r, 'command');
      if (attr(s, 'Name') !== 'stdin') {
        return faultResponse(r.messageId, 'InvalidParameter', 87, 'The parameter is incorrect.');
      }
      const data = Buffer.from(s.text, 'base64');
      if (data.length > 0 && cmd.child.stdin?.writable) cmd.child.stdin.write(data);
      if (/^true$/i.test(attr(s, 'End') ?? '')) cmd.child.stdin?.end();
    }
    return labEnvelope(`${Action.Send}Response`, r.messageId, '<rsp:SendResponse/>');
  }

  private async receive(r: LabRequest, shell: CmdShell): Promise<string> {
    const commandId = attr(descendants(r.body, 'DesiredStream')[0], 'CommandId')?.toUpperCase();
    if (commandId === undefined) {
      // As Windows' cmd plugin: a Receive must name the command (recording test_winrs_fail_poll_process).
      return faultResponse(r.messageId, 'InvalidParameter', 87, 'The parameter is incorrect.');
    }
    const cmd = shell.commands.get(commandId);
    if (!cmd) return invalidSelectors(r, 'command');
    if (cmd.queue.length === 0 && cmd.exitCode === undefined) {
      const waited = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(
          () => {
            cmd.notify = undefined;
            resolve(false);
          },
          Math.max(100, r.operationTimeoutMs - 50),
        );
        cmd.notify = () => {
          clearTimeout(timer);
          resolve(true);
        };
      });
      if (!waited) {
        return faultResponse(
          r.messageId,
          'TimedOut',
          2150858793,
          'The WS-Management service cannot complete the operation within the time specified in OperationTimeout.',
        );
      }
    }
    let bytes = 0;
    let streams = '';
    const cid = ` CommandId="${commandId}"`;
    while (cmd.queue.length > 0 && bytes < MAX_RECEIVE_BYTES) {
      const c = cmd.queue[0]!;
      const room = MAX_RECEIVE_BYTES - bytes;
      const part = c.data.length <= room ? c.data : c.data.subarray(0, room);
      if (part === c.data) cmd.queue.shift();
      else cmd.queue[0] = { stream: c.stream, data: c.data.subarray(room) };
      bytes += part.length;
      streams += `<rsp:Stream Name="${c.stream}"${cid}>${part.toString('base64')}</rsp:Stream>`;
    }
    cmd.queuedBytes -= bytes;
    if (cmd.queuedBytes <= MAX_QUEUED_BYTES) {
      cmd.child.stdout?.resume();
      cmd.child.stderr?.resume();
    }
    const done = cmd.exitCode !== undefined && cmd.queue.length === 0;
    const state = done
      ? `<rsp:Stream Name="stdout"${cid} End="true"></rsp:Stream><rsp:Stream Name="stderr"${cid} End="true"></rsp:Stream>` +
        `<rsp:CommandState${cid} State="${CommandState.Done}"><rsp:ExitCode>${cmd.exitCode}</rsp:ExitCode></rsp:CommandState>`
      : `<rsp:CommandState${cid} State="${CommandState.Running}"></rsp:CommandState>`;
    return labEnvelope(
      'http://schemas.microsoft.com/wbem/wsman/1/windows/shell/ReceiveResponse',
      r.messageId,
      `<rsp:ReceiveResponse>${streams}${state}</rsp:ReceiveResponse>`,
    );
  }

  private signal(r: LabRequest, shell: CmdShell): string {
    const sig = child(r.body, 'Signal');
    const cmd = shell.commands.get((attr(sig, 'CommandId') ?? '').toUpperCase());
    if (!cmd) return invalidSelectors(r, 'command');
    const code = child(sig, 'Code')?.text.trim();
    if (code === Signal.CtrlC || code === `${SHELL_NS}/signal/ctrl_break`) {
      if (cmd.exitCode === undefined) {
        cmd.interrupted = true;
        killGroup(cmd.child, 'SIGINT');
      }
    } else if (code === Signal.Terminate) {
      if (cmd.exitCode === undefined) killGroup(cmd.child, 'SIGKILL');
      shell.commands.delete(cmd.id);
    } else {
      return faultResponse(r.messageId, 'InvalidParameter', 87, 'The parameter is incorrect.');
    }
    return labEnvelope(`${Action.Signal}Response`, r.messageId, '<rsp:SignalResponse/>');
  }
}

function signalNumber(signal: NodeJS.Signals): number {
  const n = (
    { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGKILL: 9, SIGTERM: 15, SIGPIPE: 13, SIGABRT: 6 } as Record<
      string,
      number
    >
  )[signal];
  return n ?? 1;
}
