/**
 * PSRP over PowerShell's out-of-process transport: a child `pwsh -s` process (run PowerShell from
 * Node without WinRM, and the interop harness that proves what we send against real PowerShell), or
 * any duplex byte stream that speaks the same packets, such as the `powershell` SSH subsystem
 * (`pwsh -sshs`, see SshConnection). Every Data, Command, Signal and Close waits for its Ack, as
 * PowerShell's own client does.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import type { Duplex, Readable } from 'node:stream';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { InvalidArgumentError, TransportError } from '../errors.js';
import { EMPTY_GUID } from '../internal/guid.js';
import { encodePacket, PacketDecoder, type Packet, type PacketType } from '../outofproc/packet.js';
import type { ConnectionOperationOptions, PsrpConnection, PsrpStream, ReceivedChunk } from './psrp-connection.js';

/** Finds pwsh: explicit path, `PSRP_PWSH`, PATH, then `~/.dotnet/tools/pwsh`. */
export function findPwsh(explicit?: string): string {
  const candidates = [
    explicit,
    process.env['PSRP_PWSH'],
    ...(process.env['PATH'] ?? '').split(delimiter).map((d) => join(d, 'pwsh')),
    join(homedir(), '.dotnet', 'tools', 'pwsh'),
  ].filter((c): c is string => !!c);
  const found = candidates.find((c) => existsSync(c));
  if (!found) {
    throw new InvalidArgumentError(
      'PowerShell 7 (pwsh) was not found on PATH, in PSRP_PWSH or in ~/.dotnet/tools. Install it with: dotnet tool install --global PowerShell --version 7.6.9',
      { code: 'PSRP_PWSH_NOT_FOUND' },
    );
  }
  return found;
}

export interface OutOfProcOptions {
  /** Path to pwsh. Default: found with `findPwsh()`. */
  readonly executable?: string | undefined;
  /** Extra arguments after `-NoLogo -NoProfile -s` (e.g. `-ConfigurationFile x.pssc`). */
  readonly args?: readonly string[] | undefined;
  readonly env?: Readonly<Record<string, string>> | undefined;
  readonly cwd?: string | undefined;
  /** Milliseconds to wait for an Ack. Default 60000. */
  readonly ackTimeoutMs?: number | undefined;
}

/**
 * An out-of-process connection over a ready duplex byte stream instead of a child pwsh: the stream
 * carries the packets both ways (UTF-8 lines); `stderr`, when given, carries the server's
 * diagnostics (`pwsh -sshs` reports fatal errors there as `__NamedPipeError__:<message>` lines).
 */
export interface OutOfProcStreamOptions {
  readonly stream: Duplex;
  readonly stderr?: Readable | undefined;
  /** Names the peer in errors (e.g. `ssh://user@host:22 (subsystem powershell)`). Default `the out-of-process peer`. */
  readonly peer?: string | undefined;
  /** The error code when the stream ends before the pool was closed. Default `PSRP_TRANSPORT_CLOSED`. */
  readonly closedCode?: string | undefined;
  /** Releases what carries the stream once the pool is closed (e.g. ends the SSH session). */
  readonly dispose?: (() => Promise<void>) | undefined;
  /** Milliseconds to wait for an Ack. Default 60000. */
  readonly ackTimeoutMs?: number | undefined;
}

/** What the connection drives: writes packets, ends politely, kills, and says when it is gone. */
interface Wire {
  write(text: string): void;
  end(): void;
  kill(): void;
  readonly exited: Promise<void>;
}

/** pwsh's prefix of a fatal transport error on stderr (OutOfProcessUtils, SSH and named pipes). */
const NAMED_PIPE_ERROR = '__NamedPipeError__:';

interface Waiter {
  resolve(): void;
  reject(e: Error): void;
}

export class OutOfProcConnection implements PsrpConnection {
  /** pwsh accepts large packets; keep fragments moderate so Acks flow. */
  readonly maxPayloadBytes = 32 * 1024;
  private readonly child: ChildProcessWithoutNullStreams | undefined;
  private readonly wire: Wire;
  private readonly decoder = new PacketDecoder();
  private readonly inbox = new Map<string, Uint8Array[]>();
  private readonly readers = new Map<string, Waiter>();
  private readonly acks = new Map<string, Waiter[]>();
  private failure: TransportError | undefined;
  private stderrTail = '';
  private stderrLine = '';
  private closed = false;
  private readonly ackTimeoutMs: number;
  private readonly peer: string;

  constructor(options: OutOfProcOptions | OutOfProcStreamOptions = {}) {
    this.ackTimeoutMs = options.ackTimeoutMs ?? 60_000;
    if ('stream' in options) {
      this.child = undefined;
      this.peer = options.peer ?? 'the out-of-process peer';
      this.wire = this.streamWire(options);
    } else {
      this.peer = 'pwsh';
      const exe = findPwsh(options.executable);
      const child = spawn(exe, ['-NoLogo', '-NoProfile', '-s', ...(options.args ?? [])], {
        stdio: ['pipe', 'pipe', 'pipe'],
        env: { ...process.env, ...options.env },
        ...(options.cwd !== undefined ? { cwd: options.cwd } : {}),
      });
      this.child = child;
      child.stdout.setEncoding('utf8');
      child.stdout.on('data', (text: string) => this.onStdout(text));
      child.stderr.setEncoding('utf8');
      child.stderr.on('data', (t: string) => this.onStderr(t));
      child.stdin.on('error', () => undefined);
      const exited = new Promise<void>((resolve) => {
        child.on('exit', (code, sig) => {
          this.fail(new TransportError(`pwsh exited (${sig ?? `code ${code}`})${this.stderrSuffix()}`, { code: 'PSRP_PROCESS_EXITED' }));
          resolve();
        });
        child.on('error', (err) => {
          this.fail(new TransportError(`pwsh could not be started: ${err.message}`, { code: 'PSRP_PROCESS_EXITED', cause: err }));
          resolve();
        });
      });
      this.wire = {
        write: (text) => child.stdin.write(text),
        end: () => child.stdin.end(),
        kill: () => child.kill('SIGKILL'),
        exited,
      };
    }
  }

  private streamWire(options: OutOfProcStreamOptions): Wire {
    const { stream, stderr } = options;
    stream.setEncoding('utf8');
    stream.on('data', (text: string) => this.onStdout(text));
    stderr?.setEncoding('utf8');
    stderr?.on('data', (t: string) => this.onStderr(t));
    let disposed: Promise<void> | undefined;
    const dispose = (): Promise<void> => (disposed ??= (options.dispose?.() ?? Promise.resolve()).catch(() => undefined));
    const exited = new Promise<void>((resolve) => {
      const gone = (err?: Error): void => {
        this.fail(
          new TransportError(`${this.peer} closed the connection${err ? `: ${err.message}` : ''}${this.stderrSuffix()}`, {
            code: options.closedCode ?? 'PSRP_TRANSPORT_CLOSED',
            ...(err ? { cause: err } : {}),
          }),
        );
        void dispose().then(() => resolve());
      };
      stream.once('close', () => gone());
      stream.once('end', () => gone());
      stream.once('error', (err: Error) => gone(err));
    });
    return {
      write: (text) => stream.write(text),
      end: () => {
        stream.end();
        void dispose();
      },
      kill: () => {
        stream.destroy();
        void dispose();
      },
      exited,
    };
  }

  private onStderr(text: string): void {
    this.stderrTail = (this.stderrTail + text).slice(-2000);
    this.stderrLine += text;
    let nl: number;
    while ((nl = this.stderrLine.indexOf('\n')) >= 0) {
      const line = this.stderrLine.slice(0, nl).trim();
      this.stderrLine = this.stderrLine.slice(nl + 1);
      if (line.startsWith(NAMED_PIPE_ERROR)) {
        this.fail(new TransportError(`${this.peer} reported: ${line.slice(NAMED_PIPE_ERROR.length).trim().slice(0, 500)}`, { code: 'PSRP_TRANSPORT_ERROR' }));
      }
    }
    if (this.stderrLine.length > 4096) this.stderrLine = this.stderrLine.slice(-4096);
  }

  private stderrSuffix(): string {
    const t = this.stderrTail.trim();
    return t ? `: ${t.slice(-500)}` : '';
  }

  /** The child's process id (for diagnostics and tests). */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  private onStdout(text: string): void {
    let packets: Packet[];
    try {
      packets = this.decoder.push(text);
    } catch (e) {
      this.fail(e as TransportError);
      this.wire.kill();
      return;
    }
    for (const p of packets) {
      if (p.type === 'Data') {
        const q = this.inbox.get(p.psGuid) ?? [];
        q.push(p.data!);
        this.inbox.set(p.psGuid, q);
        const r = this.readers.get(p.psGuid);
        if (r) {
          this.readers.delete(p.psGuid);
          r.resolve();
        }
      } else {
        const key = `${p.type}:${p.psGuid}`;
        // Drop emptied lists: a long-lived connection sees a new key per pipeline.
        const list = this.acks.get(key);
        const waiter = list?.shift();
        if (list?.length === 0) this.acks.delete(key);
        waiter?.resolve();
      }
    }
  }

  private fail(e: TransportError): void {
    if (this.failure) return;
    this.failure = e;
    for (const r of this.readers.values()) r.reject(e);
    this.readers.clear();
    for (const list of this.acks.values()) for (const w of list) w.reject(e);
    this.acks.clear();
  }

  private write(p: Packet): void {
    if (this.failure) throw this.failure;
    this.wire.write(encodePacket(p));
  }

  private waitAck(type: PacketType, guid: string, signal?: AbortSignal): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise<void>((resolve, reject) => {
      const key = `${type}:${guid}`;
      const timer = setTimeout(() => done(new TransportError(`No ${type} from ${this.peer} within ${this.ackTimeoutMs} ms`, { code: 'PSRP_TIMEOUT' })), this.ackTimeoutMs);
      const onAbort = (): void => done(signal!.reason as Error);
      const waiter: Waiter = { resolve: () => done(), reject: (e) => done(e) };
      const done = (err?: Error): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        const list = this.acks.get(key);
        const i = list?.indexOf(waiter) ?? -1;
        if (i >= 0) list!.splice(i, 1);
        if (list?.length === 0) this.acks.delete(key);
        if (err) reject(err);
        else resolve();
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      const list = this.acks.get(key) ?? [];
      list.push(waiter);
      this.acks.set(key, list);
    });
  }

  private async sendData(guid: string, stream: PsrpStream, data: Uint8Array, signal?: AbortSignal): Promise<void> {
    // Writing is synchronous and stdout events cannot run in between, so the Ack is registered in time.
    this.write({ type: 'Data', psGuid: guid, stream: stream === 'pr' ? 'PromptResponse' : 'Default', data });
    await this.waitAck('DataAck', guid, signal);
  }

  async openPool(_poolId: string, data: Uint8Array, options?: ConnectionOperationOptions): Promise<void> {
    await this.sendData(EMPTY_GUID, 'default', data, options?.signal);
  }

  async createPipeline(pipelineId: string, data: Uint8Array, options?: ConnectionOperationOptions): Promise<void> {
    const guid = pipelineId.toLowerCase();
    this.write({ type: 'Command', psGuid: guid });
    await this.waitAck('CommandAck', guid, options?.signal);
    await this.sendData(guid, 'default', data, options?.signal);
  }

  async send(target: string | null, stream: PsrpStream, data: Uint8Array, options?: ConnectionOperationOptions): Promise<void> {
    await this.sendData(target?.toLowerCase() ?? EMPTY_GUID, stream, data, options?.signal);
  }

  async receive(target: string | null, options?: ConnectionOperationOptions): Promise<ReceivedChunk> {
    const guid = target?.toLowerCase() ?? EMPTY_GUID;
    const signal = options?.signal;
    for (;;) {
      const q = this.inbox.get(guid);
      if (q && q.length > 0) {
        this.inbox.delete(guid);
        return { data: q, done: false };
      }
      if (this.failure) throw this.failure;
      signal?.throwIfAborted();
      await new Promise<void>((resolve, reject) => {
        const onAbort = (): void => {
          this.readers.delete(guid);
          reject(signal!.reason as Error);
        };
        signal?.addEventListener('abort', onAbort, { once: true });
        this.readers.set(guid, {
          resolve: () => {
            signal?.removeEventListener('abort', onAbort);
            resolve();
          },
          reject: (e) => {
            signal?.removeEventListener('abort', onAbort);
            reject(e);
          },
        });
      });
    }
  }

  async stopPipeline(pipelineId: string, options?: ConnectionOperationOptions): Promise<void> {
    const guid = pipelineId.toLowerCase();
    this.write({ type: 'Signal', psGuid: guid });
    await this.waitAck('SignalAck', guid, options?.signal);
  }

  async closePipeline(pipelineId: string, options?: ConnectionOperationOptions): Promise<void> {
    if (this.failure || this.closed) return;
    const guid = pipelineId.toLowerCase();
    this.write({ type: 'Close', psGuid: guid });
    await this.waitAck('CloseAck', guid, options?.signal).catch(() => undefined);
    this.inbox.delete(guid);
  }

  async closePool(options?: ConnectionOperationOptions): Promise<void> {
    if (this.closed) return this.wire.exited;
    this.closed = true;
    if (!this.failure) {
      try {
        this.write({ type: 'Close', psGuid: EMPTY_GUID });
        const ack = this.waitAck('CloseAck', EMPTY_GUID, options?.signal);
        ack.catch(() => undefined);
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([ack, new Promise((r) => (timer = setTimeout(r, 5000)))]);
        clearTimeout(timer);
      } catch {
        // Already gone: fall through to ending the process.
      }
    }
    this.wire.end();
    const killer = setTimeout(() => this.wire.kill(), 3000);
    await this.wire.exited;
    clearTimeout(killer);
  }
}
