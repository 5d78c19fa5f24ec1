import { describe, expect, it } from 'vitest';
import { deserializeObject } from '../../src/clixml/index.js';
import { Defragmenter, encodeFragment, fragmentMessage, readFragment } from '../../src/psrp/fragment.js';
import { decodeMessage, encodeMessage } from '../../src/psrp/message.js';
import { MessageType, messageTypeName, type MessageTypeName } from '../../src/psrp/message-type.js';
import { hostMethodName, HostMethod } from '../../src/psrp/host-method.js';
import { RunspacePoolCore, type PsrpEvent } from '../../src/psrp/runspace-pool-core.js';
import { aesSecureStringCipher, SessionKeyExchange } from '../../src/psrp/session-key.js';
import { ErrorRecord, informationalRecord, progressRecord } from '../../src/psrp/records.js';

const POOL = '76056a84-51dc-4f24-9262-ca2a55464b2b';
let oid = 500n;
const server = (type: MessageTypeName, data: string, pid = '00000000-0000-0000-0000-000000000000'): Uint8Array =>
  Buffer.concat(fragmentMessage(oid++, encodeMessage({ destination: 1, messageType: MessageType[type], runspacePoolId: POOL, pipelineId: pid, data }), 4096).map(encodeFragment));
const sent = (core: RunspacePoolCore): { type: string; value: unknown }[] => {
  const d = new Defragmenter();
  const out: { type: string; value: unknown }[] = [];
  for (let p = core.dataToSend(100_000); p; p = core.dataToSend(100_000)) {
    for (const m of d.push(p.data)) {
      const msg = decodeMessage(m);
      out.push({ type: msg.typeName, value: msg.data ? deserializeObject(msg.data) : undefined });
    }
  }
  return out;
};
const events = (core: RunspacePoolCore): PsrpEvent[] => {
  const out: PsrpEvent[] = [];
  for (let e = core.nextEvent(); e; e = core.nextEvent()) out.push(e);
  return out;
};
function opened(): RunspacePoolCore {
  const core = new RunspacePoolCore({ id: POOL, minRunspaces: 1, maxRunspaces: 2, applicationArguments: { app: 'psrp' } });
  core.open();
  const init = sent(core)[1]!.value as Record<string, unknown>;
  expect(init['ApplicationArguments']).toEqual({ app: 'psrp' });
  core.receiveData(server('SessionCapability', '<Obj RefId="0"><MS><Version N="protocolversion">2.1</Version><Version N="PSVersion">2.0</Version><Version N="SerializationVersion">1.1.0.1</Version></MS></Obj>'));
  core.receiveData(server('ApplicationPrivateData', '<Obj RefId="0"><MS><Obj N="ApplicationPrivateData" RefId="1"><DCT /></Obj></MS></Obj>'));
  core.receiveData(server('RunspacePoolInitData', '<Obj RefId="0"><MS><I32 N="MinRunspaces">1</I32><I32 N="MaxRunspaces">2</I32></MS></Obj>'));
  core.receiveData(server('RunspacePoolState', '<Obj RefId="0"><MS><I32 N="RunspaceState">2</I32></MS></Obj>'));
  expect(events(core).map((e) => e.type)).toEqual(['SessionCapability', 'ApplicationPrivateData', 'RunspacePoolInitData', 'RunspacePoolState']);
  return core;
}

describe('RunspacePoolCore pool operations (MS-PSRP 3.1.4.3-3.1.4.11)', () => {
  it('speaks to a protocol 2.1 server (PowerShell 2, Exchange 2010) without 2.2 merges', () => {
    const core = opened();
    expect(core.isProtocol22).toBe(false);
    core.createPipeline('11111111-2222-3333-4444-555555555555', { commands: [{ name: 'Get-Date', isScript: false, parameters: [] }], noInput: true, addToHistory: false, isNested: false }).start();
    const [create] = sent(core);
    const cmd = (((create!.value as Record<string, Record<string, unknown>>)['PowerShell']!['Cmds']) as Record<string, unknown>[])[0]!;
    expect('MergeError' in cmd).toBe(false);
    expect('MergeMyResult' in cmd).toBe(true);
  });

  it('sends SET_MAX/SET_MIN/GET_AVAILABLE/RESET with call ids and reads the answers', () => {
    const core = opened();
    const a = core.setMaxRunspaces(5);
    const b = core.setMinRunspaces(2);
    const c = core.getAvailableRunspaces();
    const d = core.resetRunspaceState();
    expect([a, b, c, d]).toEqual([0n, 1n, 2n, 3n]); // call ids start at 0, as the recorded Windows traffic shows
    const out = sent(core);
    expect(out.map((m) => m.type)).toEqual(['SetMaxRunspaces', 'SetMinRunspaces', 'GetAvailableRunspaces', 'ResetRunspaceState']);
    expect(out[0]!.value).toEqual({ MaxRunspaces: 5, ci: 0 });
    core.receiveData(server('RunspaceAvailability', '<Obj RefId="0"><MS><B N="SetMinMaxRunspacesResponse">true</B><I64 N="ci">0</I64></MS></Obj>'));
    core.receiveData(server('RunspaceAvailability', '<Obj RefId="0"><MS><I64 N="SetMinMaxRunspacesResponse">4</I64><I64 N="ci">2</I64></MS></Obj>'));
    expect(events(core)).toEqual([
      { type: 'RunspaceAvailability', callId: 0n, value: true },
      { type: 'RunspaceAvailability', callId: 2n, value: 4 },
    ]);
  });

  it('connects to a disconnected pool and asks for command metadata', () => {
    const c = new RunspacePoolCore({ id: POOL });
    c.connect();
    expect(c.state).toBe('Connecting');
    expect(sent(c).map((m) => m.type)).toEqual(['SessionCapability', 'ConnectRunspacePool']);
    const core = opened();
    const meta = core.getCommandMetadata('22222222-2222-3333-4444-555555555555', ['Get-Mailbox', 'Set-*']);
    meta.start();
    const [m] = sent(core);
    expect(m!.type).toBe('GetCommandMetadata');
    expect((m!.value as Record<string, unknown>)['Name']).toEqual(['Get-Mailbox', 'Set-*']);
  });

  it('handles PublicKeyRequest, user events, pool host calls and unexpected messages', () => {
    const core = opened();
    core.receiveData(server('PublicKeyRequest', ''));
    expect(events(core).map((e) => e.type)).toEqual(['PublicKeyRequest']);
    expect(sent(core).map((m) => m.type)).toEqual(['PublicKey']);
    core.receiveData(server('UserEvent', '<Obj RefId="0"><MS><S N="PSEventArgs.SourceIdentifier">x</S></MS></Obj>'));
    core.receiveData(server('RunspacePoolHostCall', '<Obj RefId="0"><MS><I64 N="ci">-100</I64><Obj N="mi" RefId="1"><TN RefId="0"><T>System.Management.Automation.Remoting.RemoteHostMethodId</T><T>System.Enum</T></TN><ToString>WriteLine2</ToString><I32>16</I32></Obj><Obj N="mp" RefId="2"><TN RefId="1"><T>System.Collections.ArrayList</T></TN><LST><S>hi</S></LST></Obj></MS></Obj>'));
    const [ev, call] = events(core);
    expect(ev!.type).toBe('UserEvent');
    expect(call).toMatchObject({ type: 'HostCall', pipelineId: null, method: 'WriteLine2', isVoid: true, args: ['hi'] });
    expect(() => core.receiveData(server('CreatePipeline', '<Obj RefId="0" />'))).toThrow(expect.objectContaining({ code: 'PSRP_MESSAGE_UNEXPECTED' }));
    expect(() => core.receiveData(server('PipelineOutput', '<S>x</S>'))).toThrow(expect.objectContaining({ code: 'PSRP_MESSAGE_INVALID' }));
    core.close();
    core.closed();
    expect(core.state).toBe('Closed');
  });

  it('refuses bad session keys and bad arguments', () => {
    const kx = new SessionKeyExchange();
    expect(() => kx.accept('AAAA')).toThrow(expect.objectContaining({ code: 'PSRP_SESSION_KEY_INVALID' }));
    expect(() => kx.accept(Buffer.concat([Buffer.from([1, 2, 0, 0, 0x10, 0x66, 0, 0, 0, 0xa4, 0, 0]), Buffer.alloc(256, 7)]).toString('base64'))).toThrow();
    expect(() => aesSecureStringCipher(Buffer.alloc(32)).decrypt(new Uint8Array(5))).toThrow(expect.objectContaining({ code: 'PSRP_SESSION_KEY_INVALID' }));
    expect(() => new RunspacePoolCore({ id: POOL, minRunspaces: 3, maxRunspaces: 2 })).toThrow(expect.objectContaining({ code: 'PSRP_INVALID_ARGUMENT' }));
    const core = opened();
    expect(() => core.dataToSend(10)).toThrow();
    expect(() => core.createPipeline('x', { commands: [], noInput: true, addToHistory: false, isNested: false })).toThrow();
  });

  it('has the complete message-type and host-method tables', () => {
    expect(Object.keys(MessageType)).toHaveLength(31);
    expect(messageTypeName(0x00041010)).toBe('ProgressRecord');
    expect(messageTypeName(0x12345678)).toBeUndefined();
    expect(Object.keys(HostMethod)).toHaveLength(56);
    expect(hostMethodName(26)).toBe('PromptForChoice');
  });

  it('rejects malformed fragments and messages', () => {
    const d = new Defragmenter({ maxMessageBytes: 1000 });
    const f = (o: bigint, id: bigint, start: boolean, end: boolean, n = 4): Uint8Array => encodeFragment({ objectId: o, fragmentId: id, start, end, blob: new Uint8Array(n) });
    expect(() => d.push(f(1n, 1n, false, false))).toThrow(expect.objectContaining({ code: 'PSRP_FRAGMENT_INVALID', objectId: 1n }));
    d.push(f(2n, 0n, true, false));
    expect(() => d.push(f(2n, 2n, false, true))).toThrow(expect.objectContaining({ code: 'PSRP_FRAGMENT_INVALID' }));
    expect(() => new Defragmenter().push(f(3n, 1n, true, true))).toThrow(expect.objectContaining({ code: 'PSRP_FRAGMENT_INVALID' }));
    const e = new Defragmenter();
    e.push(f(4n, 0n, true, false));
    expect(() => e.push(f(4n, 0n, true, false))).toThrow(expect.objectContaining({ code: 'PSRP_FRAGMENT_INVALID' }));
    expect(() => new Defragmenter({ maxMessageBytes: 10 }).push(f(5n, 0n, true, true, 20))).toThrow(expect.objectContaining({ code: 'PSRP_MESSAGE_TOO_LARGE' }));
    const big = new Defragmenter({ maxMessageBytes: 10 });
    big.push(f(6n, 0n, true, false, 8));
    expect(() => big.push(f(6n, 1n, false, true, 8))).toThrow(expect.objectContaining({ code: 'PSRP_MESSAGE_TOO_LARGE' }));
    const many = new Defragmenter({ maxPartialMessages: 2 });
    many.push(f(7n, 0n, true, false));
    many.push(f(8n, 0n, true, false));
    expect(() => many.push(f(9n, 0n, true, false))).toThrow(expect.objectContaining({ code: 'PSRP_MESSAGE_TOO_LARGE' }));
    const t = new Defragmenter();
    t.push(f(10n, 0n, true, true).subarray(0, 10));
    expect(() => t.finish()).toThrow(expect.objectContaining({ code: 'PSRP_FRAGMENT_TRUNCATED' }));
    expect(readFragment(new Uint8Array(5), 0)).toBeUndefined();
    expect(() => fragmentMessage(1n, new Uint8Array(5), 21)).toThrow(RangeError);
    expect(() => decodeMessage(new Uint8Array(10))).toThrow(expect.objectContaining({ code: 'PSRP_MESSAGE_INVALID' }));
    const m = encodeMessage({ destination: 2, messageType: 0x00010002, runspacePoolId: POOL, pipelineId: POOL, data: 'x' });
    const bad = Buffer.from(m);
    bad.writeUInt32LE(0x99999999, 4);
    expect(() => decodeMessage(bad)).toThrow(expect.objectContaining({ code: 'PSRP_MESSAGE_UNKNOWN_TYPE', messageType: 0x99999999 }));
    bad.writeUInt32LE(7, 0);
    expect(() => decodeMessage(bad)).toThrow(expect.objectContaining({ code: 'PSRP_MESSAGE_INVALID' }));
    const utf = Buffer.concat([Buffer.from(m.subarray(0, 40)), Buffer.from([0xff, 0xfe])]);
    expect(() => decodeMessage(utf)).toThrow(expect.objectContaining({ code: 'PSRP_MESSAGE_INVALID' }));
    expect(() => encodeMessage({ destination: 2, messageType: 1, runspacePoolId: 'nope', pipelineId: POOL, data: '' })).toThrow();
  });

  it('reads records defensively', () => {
    const e = new ErrorRecord('just text');
    expect(e.message).toBe('Unknown error');
    expect(e.categoryInfo.category).toBe('NotSpecified');
    expect(informationalRecord('plain').message).toBe('plain');
    expect(progressRecord({ Activity: 'a', Type: 'Completed' })).toMatchObject({ activity: 'a', type: 'Completed', percentComplete: -1 });
  });
});
