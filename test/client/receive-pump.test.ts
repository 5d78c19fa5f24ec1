/**
 * ReceivePump: one Receive, fed to the core, its events routed — a pipeline's to that pipeline's
 * queue, the pool's to the caller — and the pool's end (ShellNotFound, CommandState Done) as a
 * RunspacePoolBrokenError. The wire here is a scripted PsrpConnection handing out server fragments
 * built with the real codec (MS-PSRP 2.2.1 messages, 2.2.4 fragments), one chunk per Receive.
 */
import { describe, expect, it } from 'vitest';
import { RunspacePoolBrokenError, WSManFaultError, type PsrpError } from '../../src/errors.js';
import { encodeFragment, fragmentMessage } from '../../src/psrp/fragment.js';
import { encodeMessage } from '../../src/psrp/message.js';
import { MessageType, type MessageTypeName } from '../../src/psrp/message-type.js';
import { RunspacePoolCore, type PsrpEvent } from '../../src/psrp/runspace-pool-core.js';
import type { PsrpConnection, ReceivedChunk } from '../../src/client/psrp-connection.js';
import { ReceivePump } from '../../src/client/receive-pump.js';

const POOL = '846a0576-dc51-244f-9262-ca2a55464b2b';
const A = '11111111-2222-3333-4444-555555555555';
const B = '66666666-7777-8888-9999-aaaaaaaaaaaa';
const NO_PIPELINE = '00000000-0000-0000-0000-000000000000';

let objectId = 100n;
/** A server message (MS-PSRP 2.2.1) as fragments (2.2.4). */
function server(type: MessageTypeName, data: string, pid = NO_PIPELINE): Uint8Array {
  const msg = encodeMessage({
    destination: 1,
    messageType: MessageType[type],
    runspacePoolId: POOL,
    pipelineId: pid,
    data,
  });
  return Buffer.concat(fragmentMessage(objectId++, msg, 1_000_000).map(encodeFragment));
}
const output = (pid: string, text: string): Uint8Array => server('PipelineOutput', `<S>${text}</S>`, pid);
const completed = (pid: string): Uint8Array =>
  server('PipelineState', '<Obj RefId="0"><MS><I32 N="PipelineState">4</I32></MS></Obj>', pid);
const poolState = (state: number): Uint8Array =>
  server('RunspacePoolState', `<Obj RefId="0"><MS><I32 N="RunspaceState">${state}</I32></MS></Obj>`);

function openedCore(): RunspacePoolCore {
  const core = new RunspacePoolCore({ id: POOL });
  core.open();
  core.dataToSend(100_000);
  core.receiveData(
    server(
      'SessionCapability',
      '<Obj RefId="0"><MS><Version N="protocolversion">2.3</Version><Version N="PSVersion">2.0</Version><Version N="SerializationVersion">1.1.0.1</Version></MS></Obj>',
    ),
  );
  core.receiveData(poolState(2));
  while (core.nextEvent());
  return core;
}

/** Hands out, per Receive, the next scripted answer (a chunk, or an error) and logs each Receive's target. */
class ScriptedConnection implements PsrpConnection {
  readonly maxPayloadBytes = 100_000;
  readonly receives: (string | null)[] = [];
  constructor(private readonly answers: (ReceivedChunk | Error)[]) {}
  receive(target: string | null): Promise<ReceivedChunk> {
    this.receives.push(target);
    const next = this.answers.shift();
    if (next === undefined) return Promise.reject(new Error('no more scripted answers'));
    return next instanceof Error ? Promise.reject(next) : Promise.resolve(next);
  }
  async openPool(): Promise<void> {}
  async createPipeline(): Promise<void> {}
  async send(): Promise<void> {}
  async stopPipeline(): Promise<void> {}
  async closePipeline(): Promise<void> {}
  async closePool(): Promise<void> {}
}

/** A pipeline the core knows (as after PowerShell created it). */
function addPipeline(core: RunspacePoolCore, id: string): void {
  const command = {
    name: 'Get-Date',
    isScript: false,
    useLocalScope: undefined,
    parameters: [],
    mergeErrorToOutput: false,
  };
  core.createPipeline(id, { commands: [command], noInput: true, addToHistory: false, isNested: false });
}

function owner(closing = false): {
  closing: () => boolean;
  broke: (e: RunspacePoolBrokenError) => PsrpError;
  broken: RunspacePoolBrokenError[];
} {
  const broken: RunspacePoolBrokenError[] = [];
  return { closing: () => closing, broke: (e) => (broken.push(e), broken[0]!), broken };
}

const values = (events: readonly PsrpEvent[]): unknown[] =>
  events.map((e) => (e.type === 'PipelineOutput' ? e.value : e.type === 'PipelineState' ? e.state : e.type));

describe('ReceivePump', () => {
  it("routes another pipeline's events to its queue, hands them out without a Receive, and returns pool events apart", async () => {
    const core = openedCore();
    addPipeline(core, A);
    addPipeline(core, B);
    // One chunk carrying both pipelines and the pool, as a shared stream (out-of-process, SSH) may.
    const connection = new ScriptedConnection([
      { data: [output(A, 'a1'), output(B, 'b1'), poolState(2), output(A, 'a2'), completed(B)], done: false },
      { data: [completed(A)], done: true },
    ]);
    const pump = new ReceivePump(core, connection, owner());
    const first = await pump.receivePipeline(A, {});
    expect(values(first.events)).toEqual(['a1', 'a2']);
    expect(values(first.pool)).toEqual(['RunspacePoolState']);
    expect(first.done).toBe(false);
    // B's events waited in its queue: handed out with no Receive.
    const b = await pump.receivePipeline(B, {});
    expect(values(b.events)).toEqual(['b1', 'Completed']);
    expect(connection.receives).toEqual([A]);
    const last = await pump.receivePipeline(A, {});
    expect(values(last.events)).toEqual(['Completed']);
    expect(last.done).toBe(true);
    expect(connection.receives).toEqual([A, A]);
  });

  it("drops the events of a pipeline the core no longer knows, and a removed pipeline's queued events", async () => {
    const core = openedCore();
    addPipeline(core, B);
    const connection = new ScriptedConnection([
      { data: [output(A, 'stale'), output(B, 'b1')], done: false },
      { data: [output(B, 'b2')], done: false },
    ]);
    const pump = new ReceivePump(core, connection, owner());
    // The pool's Receive carries pipeline data: A is unknown (dropped), B's is queued.
    expect(await pump.receivePool(undefined)).toEqual([]);
    pump.removePipeline(B);
    expect(core.pipeline(B)).toBeUndefined();
    // B's queue went with it: the next read is a Receive.
    const b = await pump.receivePipeline(B, {});
    expect(values(b.events)).toEqual(['b2']);
    expect(connection.receives).toEqual([null, B]);
  });

  it('feeds a Connect answer like a Receive: pool events back, in order', () => {
    const core = openedCore();
    const pump = new ReceivePump(core, new ScriptedConnection([]), owner());
    expect(values(pump.feed([poolState(2), server('UserEvent', '<S>x</S>')]))).toEqual([
      'RunspacePoolState',
      'UserEvent',
    ]);
    expect(pump.feed([])).toEqual([]);
  });

  it('breaks the pool when its shell is gone (ShellNotFound): the first reason is the one thrown', async () => {
    const core = openedCore();
    const fault = new WSManFaultError(
      'The request for the Windows Remote Shell with ShellId X failed because the shell was not found',
      { code: 'PSRP_WSMAN_SHELL_NOT_FOUND' },
    );
    const o = owner();
    const pump = new ReceivePump(core, new ScriptedConnection([fault, fault]), o);
    const first = await pump.receivePool(undefined).catch((e: unknown) => e);
    expect(first).toBeInstanceOf(RunspacePoolBrokenError);
    expect((first as RunspacePoolBrokenError).cause).toBe(fault);
    expect((first as Error).message).toMatch(/shell is gone on the server/);
    expect(await pump.receivePool(undefined).catch((e: unknown) => e)).toBe(first);
  });

  it('passes other errors through unchanged, and never breaks the pool on a pipeline Receive', async () => {
    const core = openedCore();
    const other = new WSManFaultError('Access is denied', { code: 'PSRP_WSMAN_ACCESS_DENIED' });
    const o = owner();
    const pump = new ReceivePump(
      core,
      new ScriptedConnection([other, new WSManFaultError('gone', { code: 'PSRP_WSMAN_SHELL_NOT_FOUND' })]),
      o,
    );
    await expect(pump.receivePool(undefined)).rejects.toBe(other);
    await expect(pump.receivePipeline(A, {})).rejects.toThrow('gone');
    expect(o.broken).toEqual([]);
  });

  it('breaks the pool when the server ends its Receive (CommandState Done), unless it is closing', async () => {
    const core = openedCore();
    const open = owner(false);
    const events = await new ReceivePump(
      core,
      new ScriptedConnection([{ data: [poolState(2)], done: true }]),
      open,
    ).receivePool(undefined);
    expect(values(events)).toEqual(['RunspacePoolState']);
    expect(open.broken).toHaveLength(1);
    expect(open.broken[0]!.message).toMatch(/CommandState Done/);
    const closing = owner(true);
    await new ReceivePump(core, new ScriptedConnection([{ data: [], done: true }]), closing).receivePool(
      undefined,
    );
    expect(closing.broken).toEqual([]);
  });
});
