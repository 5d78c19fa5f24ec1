/**
 * WinRS: plain processes in a WinRM cmd shell (MS-WSMV 3.1.4.5 Create, 3.1.4.11 Command,
 * 3.1.4.13 Send, 3.1.4.14 Receive, 3.1.4.12 Signal, 3.1.4.16 Delete on the resource
 * `http://schemas.microsoft.com/wbem/wsman/1/windows/shell/cmd`), what `winrs.exe` does. Same
 * transports as PSRP (HttpTransport with any authenticator, or a replay); the envelopes come from
 * the sans-IO src/wsman/winrs.ts. Every shell is deleted on close, on a failed run and on abort.
 */
import { InvalidArgumentError, InvalidStateError, WSManFaultError } from '../errors.js';
import { codepageDecoder, encodeCodepage } from '../internal/codepage.js';
import { channels } from '../internal/debug.js';
import { randomIds, type IdSource } from '../internal/ids.js';
import { HttpTransport } from '../http/http-transport.js';
import type { HttpTransportOptions } from '../http/transport-options.js';
import type { WSManTransport } from '../http/wsman-transport.js';
import {
  parseCommandResponse,
  parseCreateResponse,
  parseReceiveResponse,
  parseResponse,
  Signal,
  winrsCommandEnvelope,
  winrsCreateEnvelope,
  winrsDeleteEnvelope,
  winrsReceiveEnvelope,
  winrsSendEnvelope,
  winrsSignalEnvelope,
  type BuiltEnvelope,
  type EnvelopeContext,
  type ParsedResponse,
  type WinRSShellCreateOptions,
} from '../wsman/index.js';
import { quoteWindowsArgument } from '../wsman/windows-command-line.js';

// The Windows command-line rules and the shell options are part of this client's public surface.
export { joinWindowsArguments, quoteWindowsArgument, splitWindowsCommandLine } from '../wsman/windows-command-line.js';
export type { WinRSShellCreateOptions };

export interface WinRSShellOptions extends Omit<HttpTransportOptions, 'url'>, WinRSShellCreateOptions {
  /** WinRM endpoint, e.g. `https://server:5986/wsman`. */
  readonly uri?: string | URL | undefined;
  /** A ready WS-Man transport instead of `uri` (the replay seam). The shell does not close it. */
  readonly transport?: WSManTransport | undefined;
  /** Console code page of the shell's processes. Default 65001 (UTF-8); 437 is the OEM US console. */
  readonly codepage?: number | undefined;
  /** WS-Man OperationTimeout in seconds: how long one Receive long-polls. Default 20. */
  readonly operationTimeoutSeconds?: number | undefined;
  /** MaxEnvelopeSize in bytes. Default 153600. */
  readonly maxEnvelopeSize?: number | undefined;
  readonly locale?: string | undefined;
  readonly ids?: IdSource | undefined;
  /** Cancels opening. */
  readonly signal?: AbortSignal | undefined;
}

export interface WinRSStartOptions {
  /**
   * Quote each argument by the Windows command-line rules (see `quoteWindowsArgument`), so the
   * program's argv is exactly `args`. Default true. With false the arguments are sent verbatim
   * (e.g. one `'/c echo out && exit 1'` for cmd.exe).
   */
  readonly quoteArguments?: boolean | undefined;
  /** Start the executable directly instead of through `cmd.exe /c` (WINRS_SKIP_CMD_SHELL). Default false. */
  readonly skipCmdShell?: boolean | undefined;
  readonly signal?: AbortSignal | undefined;
}

export interface WinRSRunOptions extends WinRSStartOptions {
  /** Written to the process's stdin, which is then closed. Text is encoded in the shell's code page. */
  readonly stdin?: string | Uint8Array | undefined;
}

/** What a finished process produced. */
export interface WinRSResult {
  readonly exitCode: number;
  /** stdout decoded in the shell's code page. */
  readonly stdout: string;
  readonly stderr: string;
  readonly stdoutBytes: Uint8Array;
  readonly stderrBytes: Uint8Array;
}

/** One piece of output as it arrived. */
export interface WinRSOutputChunk {
  readonly stream: 'stdout' | 'stderr';
  readonly data: Uint8Array;
}

/** What one Receive returned (the low-level operation). */
export interface WinRSReceived {
  readonly chunks: readonly WinRSOutputChunk[];
  /** True when the server said CommandState Done. */
  readonly done: boolean;
  readonly exitCode: number | undefined;
}

/** Signals of MS-WSMV 2.2.5.6 by short name, or a full signal URI. */
export type WinRSSignal = 'ctrl_c' | 'ctrl_break' | 'terminate' | (string & {});

const SIGNALS: Readonly<Record<string, string>> = {
  ctrl_c: Signal.CtrlC,
  ctrl_break: 'http://schemas.microsoft.com/wbem/wsman/1/windows/shell/signal/ctrl_break',
  terminate: Signal.Terminate,
};

const concat = (parts: readonly Uint8Array[]): Uint8Array =>
  new Uint8Array(Buffer.concat(parts.map((p) => Buffer.from(p.buffer, p.byteOffset, p.byteLength))));

export class WinRSShell implements AsyncDisposable {
  private ctx: EnvelopeContext;
  private shellId: string | undefined;
  private closing: Promise<void> | undefined;
  private readonly processes = new Set<WinRSProcess>();
  /** Console code page of the shell's processes. */
  readonly codepage: number;
  /** Requests sent, by action (diagnostics). */
  readonly requestCounts = new Map<string, number>();

  private constructor(
    private readonly transport: WSManTransport,
    private readonly ownTransport: boolean,
    private readonly createOptions: WinRSShellCreateOptions,
    options: WinRSShellOptions,
  ) {
    const ids = options.ids ?? randomIds;
    this.codepage = options.codepage ?? 65001;
    this.ctx = {
      to: transport.url,
      resourceUri: 'http://schemas.microsoft.com/wbem/wsman/1/windows/shell/cmd',
      ids,
      sessionId: ids.uuid(),
      maxEnvelopeSize: options.maxEnvelopeSize ?? 153600,
      operationTimeoutSeconds: options.operationTimeoutSeconds ?? 20,
      locale: options.locale ?? 'en-US',
      dataLocale: options.locale ?? 'en-US',
    };
  }

  /** Creates a cmd shell on the server (MS-WSMV 3.1.4.5). */
  static async open(options: WinRSShellOptions): Promise<WinRSShell> {
    let transport = options.transport;
    let own = false;
    if (!transport) {
      if (options.uri === undefined)
        throw new InvalidArgumentError('WinRSShell.open needs `uri` or `transport`');
      transport = new HttpTransport({ ...options, url: options.uri });
      own = true;
    }
    const shell = new WinRSShell(
      transport,
      own,
      {
        workingDirectory: options.workingDirectory,
        environment: options.environment,
        codepage: options.codepage ?? 65001,
        noProfile: options.noProfile,
        idleTimeoutSeconds: options.idleTimeoutSeconds,
        lifetimeSeconds: options.lifetimeSeconds,
        name: options.name,
      },
      options,
    );
    try {
      await shell.create(options.signal);
    } catch (e) {
      await shell.close().catch(() => undefined);
      throw e;
    }
    return shell;
  }

  /** The server's ShellId once created. */
  get id(): string | undefined {
    return this.shellId;
  }

  /** True once `close()` was called. */
  get closed(): boolean {
    return this.closing !== undefined;
  }

  private async create(signal?: AbortSignal): Promise<void> {
    if (this.shellId !== undefined) return;
    const r = await this.request(winrsCreateEnvelope(this.ctx, this.createOptions), signal);
    this.shellId = parseCreateResponse(r).shellId;
  }

  private async request(env: BuiltEnvelope, signal: AbortSignal | undefined): Promise<ParsedResponse> {
    this.ctx = { ...this.ctx, to: this.transport.url };
    const name = env.action.slice(env.action.lastIndexOf('/') + 1);
    this.requestCounts.set(name, (this.requestCounts.get(name) ?? 0) + 1);
    const started = Date.now();
    if (channels.wsmanRequest.hasSubscribers)
      channels.wsmanRequest.publish({
        id: env.messageId,
        action: name,
        uri: this.ctx.to,
        bytes: env.xml.length,
      });
    let status = 'ok';
    try {
      return parseResponse(await this.transport.send(env.xml, { signal }), env);
    } catch (e) {
      status = e instanceof WSManFaultError ? e.code : 'error';
      throw e;
    } finally {
      if (channels.wsmanResponse.hasSubscribers)
        channels.wsmanResponse.publish({
          id: env.messageId,
          action: name,
          status,
          durationMs: Date.now() - started,
        });
    }
  }

  private requireShell(action: string): string {
    if (this.closing !== undefined) throw new InvalidStateError(action, 'Closed', ['Opened']);
    if (this.shellId === undefined) throw new InvalidStateError(action, 'NotOpened', ['Opened']);
    return this.shellId;
  }

  // ---- low-level MS-WSMV operations -------------------------------------------------------------

  /** Command (MS-WSMV 3.1.4.11): starts `command` with `args` verbatim; returns the CommandId. */
  async command(
    command: string,
    args: readonly string[] = [],
    options: { readonly skipCmdShell?: boolean | undefined; readonly signal?: AbortSignal | undefined } = {},
  ): Promise<string> {
    const env = winrsCommandEnvelope(this.ctx, this.requireShell('start a process'), command, args, {
      skipCmdShell: options.skipCmdShell,
    });
    return parseCommandResponse(await this.request(env, options.signal));
  }

  /** Send (MS-WSMV 3.1.4.13): bytes to a process's stdin; `end` closes it. */
  async send(
    commandId: string,
    data: Uint8Array,
    end: boolean,
    options: { readonly signal?: AbortSignal | undefined } = {},
  ): Promise<void> {
    await this.request(
      winrsSendEnvelope(this.ctx, this.requireShell('send input'), commandId, data, end),
      options.signal,
    );
  }

  /**
   * Receive (MS-WSMV 3.1.4.14): output of a process (`commandId`), waiting up to the
   * OperationTimeout. The operation-timeout fault (no output yet) comes back as an empty result.
   */
  async receive(
    commandId: string | null,
    options: { readonly signal?: AbortSignal | undefined } = {},
  ): Promise<WinRSReceived> {
    try {
      const r = parseReceiveResponse(
        await this.request(
          winrsReceiveEnvelope(this.ctx, this.requireShell('receive output'), commandId),
          options.signal,
        ),
      );
      const chunks: WinRSOutputChunk[] = [];
      for (const s of r.streams) {
        if (s.data.byteLength === 0) continue;
        chunks.push({ stream: s.name === 'stderr' ? 'stderr' : 'stdout', data: s.data });
      }
      return { chunks, done: r.commandState === 'Done', exitCode: r.exitCode };
    } catch (e) {
      if (e instanceof WSManFaultError && e.code === 'PSRP_WSMAN_OPERATION_TIMEOUT')
        return { chunks: [], done: false, exitCode: undefined };
      throw e;
    }
  }

  /** Signal (MS-WSMV 3.1.4.12): `ctrl_c`, `ctrl_break`, `terminate` or a signal URI. */
  async signal(
    commandId: string,
    code: WinRSSignal,
    options: { readonly signal?: AbortSignal | undefined } = {},
  ): Promise<void> {
    await this.request(
      winrsSignalEnvelope(this.ctx, this.requireShell('signal a process'), commandId, SIGNALS[code] ?? code),
      options.signal,
    );
  }

  // ---- processes -------------------------------------------------------------------------------

  /** Starts a process; read its output with `output()` or `wait()`. */
  async start(
    executable: string,
    args: readonly string[] = [],
    options: WinRSStartOptions = {},
  ): Promise<WinRSProcess> {
    if (executable === '') throw new InvalidArgumentError('The executable is empty');
    const quote = options.quoteArguments ?? true;
    const sent = quote ? args.map(quoteWindowsArgument) : args;
    const command = quote ? quoteWindowsArgument(executable) : executable;
    const id = await this.command(command, sent, {
      skipCmdShell: options.skipCmdShell,
      signal: options.signal,
    });
    const p = new WinRSProcess(this, id, (proc) => this.processes.delete(proc));
    this.processes.add(p);
    return p;
  }

  /** Runs a process to its end and collects its output and exit code. */
  async run(
    executable: string,
    args: readonly string[] = [],
    options: WinRSRunOptions = {},
  ): Promise<WinRSResult> {
    const p = await this.start(executable, args, options);
    try {
      if (options.stdin !== undefined) await p.write(options.stdin, { end: true, signal: options.signal });
      return await p.wait({ signal: options.signal });
    } finally {
      await p.close().catch(() => undefined);
    }
  }

  /** Decodes bytes of this shell's processes as text (its code page). */
  decode(bytes: Uint8Array): string {
    return codepageDecoder(this.codepage).decode(bytes);
  }

  /** Encodes text for stdin in this shell's code page. */
  encode(text: string): Uint8Array {
    return encodeCodepage(text, this.codepage);
  }

  /** Deletes the shell (MS-WSMV 3.1.4.16), ending its processes. Idempotent. */
  close(options: { readonly signal?: AbortSignal | undefined } = {}): Promise<void> {
    this.closing ??= (async () => {
      try {
        if (this.shellId !== undefined) {
          try {
            await this.request(winrsDeleteEnvelope(this.ctx, this.shellId), options.signal);
          } catch (e) {
            if (!(e instanceof WSManFaultError && e.code === 'PSRP_WSMAN_SHELL_NOT_FOUND')) throw e;
          }
        }
      } finally {
        this.processes.clear();
        if (this.ownTransport) await this.transport.close().catch(() => undefined);
      }
    })();
    return this.closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/** A process running in a WinRS shell. */
export class WinRSProcess {
  private finished = false;
  private released = false;
  private stdinClosed = false;
  private code: number | undefined;
  private reading = false;

  /** @internal use WinRSShell.start */
  constructor(
    readonly shell: WinRSShell,
    /** The server's CommandId. */
    readonly commandId: string,
    private readonly onClose: (p: WinRSProcess) => void,
  ) {}

  /** The exit code once the process has ended. */
  get exitCode(): number | undefined {
    return this.code;
  }

  get done(): boolean {
    return this.finished;
  }

  /** Writes to stdin (text in the shell's code page); `end` closes stdin after this data. */
  async write(
    data: string | Uint8Array,
    options: { readonly end?: boolean | undefined; readonly signal?: AbortSignal | undefined } = {},
  ): Promise<void> {
    if (this.stdinClosed) throw new InvalidStateError('write to stdin', 'StdinClosed', ['Running']);
    const bytes = typeof data === 'string' ? this.shell.encode(data) : data;
    if (options.end) this.stdinClosed = true;
    await this.shell.send(this.commandId, bytes, options.end === true, options);
  }

  /** Closes stdin (Send with End="True" and no data). */
  async end(options: { readonly signal?: AbortSignal | undefined } = {}): Promise<void> {
    if (this.stdinClosed) return;
    this.stdinClosed = true;
    await this.shell.send(this.commandId, new Uint8Array(0), true, options);
  }

  /** Streams stdout and stderr chunks as they arrive, until the process ends. One reader at a time. */
  async *output(
    options: { readonly signal?: AbortSignal | undefined } = {},
  ): AsyncGenerator<WinRSOutputChunk, void, void> {
    if (this.reading) throw new InvalidStateError('read output', 'Reading', ['NotReading']);
    this.reading = true;
    try {
      while (!this.finished) {
        const r = await this.shell.receive(this.commandId, options);
        if (r.done) {
          this.finished = true;
          this.code = r.exitCode ?? 0;
        }
        for (const c of r.chunks) yield c;
      }
    } finally {
      this.reading = false;
    }
  }

  /** Streams output as text in the shell's code page (multi-byte characters split across chunks are kept whole). */
  async *text(
    options: { readonly signal?: AbortSignal | undefined } = {},
  ): AsyncGenerator<{ readonly stream: 'stdout' | 'stderr'; readonly text: string }, void, void> {
    const decoders = {
      stdout: codepageDecoder(this.shell.codepage),
      stderr: codepageDecoder(this.shell.codepage),
    };
    for await (const c of this.output(options)) {
      const text = decoders[c.stream].decode(c.data, { stream: true });
      if (text !== '') yield { stream: c.stream, text };
    }
    for (const stream of ['stdout', 'stderr'] as const) {
      const rest = decoders[stream].decode(new Uint8Array(0));
      if (rest !== '') yield { stream, text: rest };
    }
  }

  /** Waits for the end and returns everything it wrote and its exit code. */
  async wait(options: { readonly signal?: AbortSignal | undefined } = {}): Promise<WinRSResult> {
    const out: Uint8Array[] = [];
    const err: Uint8Array[] = [];
    for await (const c of this.output(options)) (c.stream === 'stdout' ? out : err).push(c.data);
    const stdoutBytes = concat(out);
    const stderrBytes = concat(err);
    await this.close().catch(() => undefined);
    return {
      exitCode: this.code ?? 0,
      stdout: this.shell.decode(stdoutBytes),
      stderr: this.shell.decode(stderrBytes),
      stdoutBytes,
      stderrBytes,
    };
  }

  /** Sends a signal: `ctrl_c` (interrupt), `ctrl_break`, `terminate`. */
  async signal(
    code: WinRSSignal,
    options: { readonly signal?: AbortSignal | undefined } = {},
  ): Promise<void> {
    await this.shell.signal(this.commandId, code, options);
  }

  /**
   * Releases the command on the server (Signal terminate, which also stops it if still running).
   * Idempotent; a command or shell the server no longer knows is not an error.
   */
  async close(): Promise<void> {
    if (this.released || this.shell.closed) return;
    this.released = true;
    this.onClose(this);
    try {
      await this.shell.signal(this.commandId, 'terminate');
    } catch (e) {
      if (!(e instanceof WSManFaultError && e.code === 'PSRP_WSMAN_SHELL_NOT_FOUND')) throw e;
    }
  }
}
