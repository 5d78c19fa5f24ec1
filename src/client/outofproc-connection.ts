/**
 * PSRP over a child `pwsh -s` process (PowerShell's out-of-process transport): run PowerShell from
 * Node without WinRM, and the interop harness that proves what we send against real PowerShell.
 * Every Data, Command, Signal and Close waits for its Ack, as PowerShell's own client does.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
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

interface Waiter {
  resolve(): void;
  reject(e: Error): void;
}

export class OutOfProcConnection implements PsrpConnection {
  /** pwsh accepts large packets; keep fragments moderate so Acks flow. */
  readonly maxPayloadBytes = 32 * 1024;
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly decoder = new PacketDecoder();
  private readonly inbox = new Map<string, Uint8Array[]>();
  private readonly readers = new Map<string, Waiter>();
  private readonly acks = new Map<string, Waiter[]>();
  private failure: TransportError | undefined;
  private stderrTail = '';
  private closed = false;
  private readonly exited: Promise<void>;
  private readonly ackTimeoutMs: number;

  constructor(options: OutOfProcOptions = {}) {
    const exe = findPwsh(options.executable);
    this.ackTimeoutMs = options.ackTimeoutMs ?? 60_000;
    this.child = spawn(exe, ['-NoLogo', '-NoProfile', '-s', ...(options.args ?? [])], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, ...options.env },
      ...(options.cwd !== undefined ? { cwd: options.cwd } : {}),
    });
    this.child.stdout.setEncoding('utf8');
    this.child.stdout.on('data', (text: string) => this.onStdout(text));
    this.child.stderr.setEncoding('utf8');
    this.child.stderr.on('data', (t: string) => {
      this.stderrTail = (this.stderrTail + t).slice(-2000);
    });
    this.child.stdin.on('error', () => undefined);
    this.exited = new Promise((resolve) => {
      this.child.on('exit', (code, sig) => {
        this.fail(
          new TransportError(
            `pwsh exited (${sig ?? `code ${code}`})${this.stderrTail.trim() ? `: ${this.stderrTail.trim().slice(-500)}` : ''}`,
            { code: 'PSRP_PROCESS_EXITED' },
          ),
        );
        resolve();
      });
      this.child.on('error', (err) => {
        this.fail(new TransportError(`pwsh could not be started: ${err.message}`, { code: 'PSRP_PROCESS_EXITED', cause: err }));
        resolve();
      });
    });
  }

  /** The child's process id (for diagnostics and tests). */
  get pid(): number | undefined {
    return this.child.pid;
  }

  private onStdout(text: string): void {
    let packets: Packet[];
    try {
      packets = this.decoder.push(text);
    } catch (e) {
      this.fail(e as TransportError);
      this.child.kill();
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
    this.child.stdin.write(encodePacket(p));
  }

  private waitAck(type: PacketType, guid: string, signal?: AbortSignal): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise<void>((resolve, reject) => {
      const key = `${type}:${guid}`;
      const timer = setTimeout(() => done(new TransportError(`No ${type} from pwsh within ${this.ackTimeoutMs} ms`, { code: 'PSRP_TIMEOUT' })), this.ackTimeoutMs);
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
    if (this.closed) return this.exited;
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
    this.child.stdin.end();
    const killer = setTimeout(() => this.child.kill('SIGKILL'), 3000);
    await this.exited;
    clearTimeout(killer);
  }
}
