/**
 * An in-memory WinRM + PowerShell double behind the WSManTransport seam, built from our own sans-IO
 * codecs: it answers Create/Command/Send/Receive/Signal/Delete with real PSRP messages, lets a test
 * script what each pipeline outputs, and counts every request, so client behaviour (backpressure,
 * Delete on every path, concurrency) can be asserted exactly.
 */
import { serializeObject } from '../../src/clixml/index.js';
import type { WSManTransport } from '../../src/http/wsman-transport.js';
import { attr, child, descendants, parseXmlTree, path } from '../../src/internal/xml-tree.js';
import { Defragmenter, encodeFragment, fragmentMessage } from '../../src/psrp/fragment.js';
import { decodeMessage, encodeMessage } from '../../src/psrp/message.js';
import { MessageType, type MessageTypeName } from '../../src/psrp/message-type.js';
import {
  commandResponse,
  createResponse,
  emptyResponse,
  faultResponse,
  receiveResponse,
} from '../../src/lab/wsman-server-codec.js';
import { Action } from '../../src/wsman/namespaces.js';

const EMPTY = '00000000-0000-0000-0000-000000000000';

export interface PipelinePlan {
  /** Output values, one PSRP message each. */
  readonly output?: readonly unknown[];
  /** Final state: 4 Completed (default), 5 Failed. */
  readonly finalState?: number;
  /** Never finish (until stopped). */
  readonly endless?: boolean;
}

interface Pipe {
  readonly id: string;
  readonly queue: Uint8Array[];
  done: boolean;
  produced: number;
  readonly plan: PipelinePlan;
}

export class FakeWSManServer implements WSManTransport {
  readonly url = 'https://fake.test/wsman';
  readonly requests: { action: string; commandId: string | undefined }[] = [];
  shellId: string | undefined;
  deleted = 0;
  /** Messages per Receive response. */
  batch = 1;
  /** Answer the pool's open with Broken instead of Opened. */
  breakOnOpen = false;
  maxConcurrentPipelines = 0;
  private poolId = EMPTY;
  private readonly poolQueue: Uint8Array[] = [];
  private readonly pipes = new Map<string, Pipe>();
  private readonly defrag = new Defragmenter();
  private objectId = 1000n;
  closed = false;

  constructor(private readonly planner: (commands: string[]) => PipelinePlan = () => ({ output: ['ok'] })) {}

  count(action: string): number {
    return this.requests.filter((r) => r.action === action).length;
  }

  private message(type: MessageTypeName, data: string, pid = EMPTY): Uint8Array {
    const msg = encodeMessage({ destination: 1, messageType: MessageType[type], runspacePoolId: this.poolId, pipelineId: pid, data });
    return Buffer.concat(fragmentMessage(this.objectId++, msg, 32_000).map(encodeFragment));
  }

  private produce(p: Pipe): void {
    const out = p.plan.output ?? [];
    if (p.plan.endless) {
      if (!p.done) p.queue.push(this.message('PipelineOutput', serializeObject(p.produced++), p.id));
      return;
    }
    while (p.produced < out.length && p.queue.length < this.batch) p.queue.push(this.message('PipelineOutput', serializeObject(out[p.produced++]), p.id));
    if (p.produced >= out.length && !p.done) {
      p.done = true;
      p.queue.push(this.message('PipelineState', `<Obj RefId="0"><MS><I32 N="PipelineState">${p.plan.finalState ?? 4}</I32></MS></Obj>`, p.id));
    }
  }

  private consume(b64: string): { type: string; pid: string; data: string }[] {
    return this.defrag.push(new Uint8Array(Buffer.from(b64, 'base64'))).map((m) => {
      const d = decodeMessage(m);
      if (d.typeName === 'SessionCapability' || d.typeName === 'InitRunspacePool') this.poolId = d.runspacePoolId;
      return { type: d.typeName, pid: d.pipelineId, data: d.data };
    });
  }

  // The envelopes are the lab's (src/lab/wsman-server-codec.ts), shaped like Windows'.
  private timeoutFault(relatesTo: string): string {
    return faultResponse(relatesTo, 'TimedOut', 2150858793, 'timed out');
  }

  send(envelope: string, options: { readonly signal?: AbortSignal | undefined } = {}): Promise<string> {
    options.signal?.throwIfAborted();
    const root = parseXmlTree(envelope);
    const action = path(root, 'Header', 'Action')!.text.split('/').pop()!;
    const messageId = path(root, 'Header', 'MessageID')!.text;
    const body = child(root, 'Body')!;
    const cmdAttr = descendants(body, 'DesiredStream')[0] ?? descendants(body, 'Stream')[0] ?? descendants(body, 'Signal')[0] ?? child(body, 'CommandLine');
    const commandId = attr(cmdAttr, 'CommandId')?.toLowerCase();
    this.requests.push({ action, commandId });
    const running = [...this.pipes.values()].filter((p) => !p.done).length;
    switch (action) {
      case 'Create': {
        this.shellId = attr(child(body, 'Shell'), 'ShellId');
        this.consume(descendants(body, 'creationXml')[0]!.text);
        this.poolQueue.push(this.message('SessionCapability', '<Obj RefId="0"><MS><Version N="protocolversion">2.3</Version><Version N="PSVersion">2.0</Version><Version N="SerializationVersion">1.1.0.1</Version></MS></Obj>'));
        this.poolQueue.push(
          this.message('RunspacePoolState', this.breakOnOpen
            ? '<Obj RefId="0"><MS><I32 N="RunspaceState">5</I32><Obj N="ExceptionAsErrorRecord" RefId="1"><MS><S N="ErrorDetails_Message">no runspaces for you</S></MS></Obj></MS></Obj>'
            : '<Obj RefId="0"><MS><I32 N="RunspaceState">2</I32></MS></Obj>'),
        );
        return Promise.resolve(createResponse(messageId, this.shellId!, path(root, 'Header', 'ResourceURI')!.text));
      }
      case 'Command': {
        const msgs = this.consume(descendants(body, 'Arguments')[0]!.text);
        const create = msgs.find((m) => m.type === 'CreatePipeline')!;
        const commands = [...create.data.matchAll(/<S N="Cmd">([^<]*)<\/S>/g)].map((m) => m[1]!);
        this.pipes.set(commandId!, { id: commandId!, queue: [], done: false, produced: 0, plan: this.planner(commands) });
        this.maxConcurrentPipelines = Math.max(this.maxConcurrentPipelines, running + 1);
        return Promise.resolve(commandResponse(messageId, commandId!.toUpperCase()));
      }
      case 'Send':
        this.consume(descendants(body, 'Stream')[0]!.text);
        return Promise.resolve(emptyResponse(Action.Send, messageId, '<rsp:SendResponse/>'));
      case 'Receive': {
        let queue: Uint8Array[];
        let done = false;
        if (commandId) {
          const p = this.pipes.get(commandId);
          if (!p) return Promise.resolve(faultResponse(messageId, 'InvalidSelectors', 2150858843, 'gone', { sender: true }));
          this.produce(p);
          queue = p.queue.splice(0, this.batch + 1);
          done = p.done && p.queue.length === 0;
        } else {
          queue = this.poolQueue.splice(0, 1);
        }
        if (queue.length === 0) return Promise.resolve(this.timeoutFault(messageId));
        return Promise.resolve(receiveResponse(messageId, commandId?.toUpperCase(), queue, done));
      }
      case 'Signal': {
        const code = descendants(body, 'Code')[0]!.text;
        const p = commandId ? this.pipes.get(commandId) : undefined;
        if (p && code.endsWith('ctrl_c') && !p.done) {
          p.done = true;
          p.queue.push(this.message('PipelineState', '<Obj RefId="0"><MS><I32 N="PipelineState">3</I32></MS></Obj>', p.id));
        }
        return Promise.resolve(emptyResponse(Action.Signal, messageId, '<rsp:SignalResponse/>'));
      }
      case 'Delete':
        this.deleted++;
        return Promise.resolve(emptyResponse(Action.Delete, messageId));
      default:
        return Promise.reject(new Error(`fake server: unexpected ${action}`));
    }
  }

  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }
}
