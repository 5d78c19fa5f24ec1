import { constants, createPublicKey, publicEncrypt, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { PSEnumValue} from '../../src/clixml/index.js';
import { deserializeObject, PSSecureString, psMeta, serializeObject } from '../../src/clixml/index.js';
import { InvalidStateError } from '../../src/errors.js';
import { Defragmenter, encodeFragment, fragmentMessage } from '../../src/psrp/fragment.js';
import { decodeMessage, encodeMessage } from '../../src/psrp/message.js';
import { MessageType, type MessageTypeName } from '../../src/psrp/message-type.js';
import { RunspacePoolCore, type PsrpEvent } from '../../src/psrp/runspace-pool-core.js';
import { aesSecureStringCipher } from '../../src/psrp/session-key.js';
import { base64Payloads, loadRecording } from '../helpers/recordings.js';

// The pool id of the recordings (test_psrp_open_runspace): server messages name it (MS-PSRP 2.2.1 RPID).
const POOL = '846a0576-dc51-244f-9262-ca2a55464b2b';
const PIPE = '11111111-2222-3333-4444-555555555555';

/** Decodes every message in a payload the core produced. */
function messages(data: Uint8Array): { type: string; pid: string; value: unknown }[] {
  const d = new Defragmenter();
  return d.push(data).map((b) => {
    const m = decodeMessage(b);
    return { type: m.typeName, pid: m.pipelineId, value: m.data ? deserializeObject(m.data) : undefined };
  });
}

/** A server message as fragments. */
let serverObjectId = 100n;
function server(type: MessageTypeName, data: string, pid = '00000000-0000-0000-0000-000000000000', max = 1_000_000): Uint8Array {
  const msg = encodeMessage({ destination: 1, messageType: MessageType[type], runspacePoolId: POOL, pipelineId: pid, data });
  const frags = fragmentMessage(serverObjectId++, msg, max).map(encodeFragment);
  return Buffer.concat(frags);
}

function drain(core: RunspacePoolCore): PsrpEvent[] {
  const out: PsrpEvent[] = [];
  for (let e = core.nextEvent(); e; e = core.nextEvent()) out.push(e);
  return out;
}

function openedCore(): RunspacePoolCore {
  const core = new RunspacePoolCore({ id: POOL });
  core.open();
  core.dataToSend(100_000);
  core.receiveData(server('SessionCapability', '<Obj RefId="0"><MS><Version N="protocolversion">2.3</Version><Version N="PSVersion">2.0</Version><Version N="SerializationVersion">1.1.0.1</Version></MS></Obj>'));
  core.receiveData(server('RunspacePoolState', '<Obj RefId="0"><MS><I32 N="RunspaceState">2</I32></MS></Obj>'));
  drain(core);
  return core;
}

describe('RunspacePoolCore (MS-PSRP 3.1)', () => {
  it('opens with the same messages Windows recorded from a real client', () => {
    const rec = loadRecording('test_psrp_open_runspace');
    const recorded = messages(base64Payloads(rec.messages[0]!.request)[0]!.data);
    const core = new RunspacePoolCore({ id: POOL });
    core.open();
    expect(core.state).toBe('Opening');
    const out = core.dataToSend(153_600)!;
    expect(out.pipelineId).toBeNull();
    expect(out.stream).toBe('default');
    const ours = messages(out.data);
    expect(ours.map((m) => m.type)).toEqual(recorded.map((m) => m.type));
    expect(ours.map((m) => m.value)).toEqual(recorded.map((m) => m.value));
    const enumOf = (m: { value: unknown }, k: string): PSEnumValue => (m.value as Record<string, PSEnumValue>)[k]!;
    for (const k of ['ApartmentState', 'PSThreadOptions']) {
      expect(enumOf(ours[1]!, k).typeNames).toEqual(enumOf(recorded[1]!, k).typeNames);
    }
    expect(psMeta(ours[1]!.value)!.typeNames).toEqual(psMeta(recorded[1]!.value)!.typeNames);
    expect(core.dataToSend(153_600)).toBeUndefined();
  });

  it('reads the recorded server answers: capability, private data, Opened', () => {
    const rec = loadRecording('test_psrp_open_runspace');
    const core = new RunspacePoolCore({ id: POOL });
    core.open();
    core.dataToSend(153_600);
    for (const m of rec.messages.slice(1)) for (const p of base64Payloads(m.response ?? '')) core.receiveData(p.data);
    const events = drain(core);
    expect(events.map((e) => e.type)).toEqual(['SessionCapability', 'ApplicationPrivateData', 'RunspacePoolState']);
    expect(core.state).toBe('Opened');
    expect(core.serverProtocolVersion).toBe('2.3');
    expect(core.isProtocol22).toBe(true);
  });

  it('fragments to any budget and the pieces reassemble (one message may span payloads)', () => {
    for (const budget of [22, 23, 50, 100, 333, 1000]) {
      const core = new RunspacePoolCore({ id: POOL });
      core.open();
      const d = new Defragmenter();
      const got: string[] = [];
      for (let p = core.dataToSend(budget); p; p = core.dataToSend(budget)) {
        expect(p.data.length).toBeLessThanOrEqual(budget);
        for (const m of d.push(p.data)) got.push(decodeMessage(m).typeName);
      }
      expect(got).toEqual(['SessionCapability', 'InitRunspacePool']);
    }
  });

  it('runs a pipeline: create, input, output, streams, state', () => {
    const core = openedCore();
    const p = core.createPipeline(PIPE, {
      commands: [{ name: 'Get-Item', isScript: false, parameters: [{ name: 'Path', value: 'C:\\x' }, { name: null, value: 5 }], mergeErrorToOutput: true }],
      noInput: false,
      addToHistory: false,
      isNested: false,
    });
    p.start();
    p.sendInput([1, 'two']);
    p.endInput();
    expect(core.hasDataToSend(PIPE)).toBe(true);
    const sent = messages(core.dataToSend(1_000_000, PIPE)!.data);
    expect(sent.map((m) => m.type)).toEqual(['CreatePipeline', 'PipelineInput', 'PipelineInput', 'EndOfPipelineInput']);
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- navigating decoded CLIXML
    const create = sent[0]!.value as Record<string, any>;
    const cmd = create['PowerShell']['Cmds'][0];
    expect(cmd).toMatchObject({ Cmd: 'Get-Item', IsScript: false });
    expect(cmd['Args']).toEqual([{ N: 'Path', V: 'C:\\x' }, { N: null, V: 5 }]);
    expect(String(cmd['MergeMyResult'])).toBe('Error');
    expect(String(cmd['MergeError'])).toBe('Output');
    expect(sent[2]!.value).toBe('two');

    core.receiveData(server('PipelineOutput', '<S>hello</S>', PIPE));
    core.receiveData(server('ErrorRecord', '<Obj RefId="0"><TN RefId="0"><T>System.Management.Automation.ErrorRecord</T></TN><ToString>boom</ToString><MS><Obj N="Exception" RefId="1"><TN RefId="1"><T>System.IO.IOException</T></TN><Props><S N="Message">boom</S></Props></Obj><S N="FullyQualifiedErrorId">Boom,Get-Item</S><I32 N="ErrorCategory_Category">13</I32><S N="ErrorCategory_Message">ObjectNotFound: (x) [Get-Item], IOException</S></MS></Obj>', PIPE));
    core.receiveData(server('WarningRecord', '<Obj RefId="0"><MS><S N="InformationalRecord_Message">careful</S></MS></Obj>', PIPE));
    core.receiveData(server('PipelineState', '<Obj RefId="0"><MS><I32 N="PipelineState">4</I32></MS></Obj>', PIPE));
    const events = drain(core);
    expect(events.map((e) => e.type)).toEqual(['PipelineOutput', 'ErrorRecord', 'WarningRecord', 'PipelineState']);
    const err = events[1] as Extract<PsrpEvent, { type: 'ErrorRecord' }>;
    expect(err.record.message).toBe('boom');
    expect(err.record.fullyQualifiedErrorId).toBe('Boom,Get-Item');
    expect(err.record.categoryInfo.category).toBe('ObjectNotFound');
    expect(err.record.exception!.typeNames).toEqual(['System.IO.IOException']);
    expect(err.record.toString()).toContain('FullyQualifiedErrorId : Boom,Get-Item');
    const warn = events[2]!;
    expect(warn.type === 'WarningRecord' ? warn.record.message : undefined).toBe('careful');
    expect(p.state).toBe('Completed');
  });

  it('reassembles interleaved server messages split at every byte boundary', () => {
    const core = openedCore();
    const a = server('PipelineOutput', '<S>' + 'a'.repeat(300) + '</S>', PIPE, 64);
    const b = server('PipelineOutput', '<S>b</S>', PIPE, 64);
    // Interleave: first fragment of a, then b whole, then the rest of a.
    const firstLen = 64;
    const stream = Buffer.concat([a.subarray(0, firstLen), b, a.subarray(firstLen)]);
    for (let i = 0; i < stream.length; i++) core.receiveData(stream.subarray(i, i + 1));
    const values = drain(core).map((e) => (e.type === 'PipelineOutput' ? e.value : e.type));
    expect(values).toEqual(['b', 'a'.repeat(300)]);
  });

  it('guards state transitions', () => {
    const core = new RunspacePoolCore({ id: POOL });
    expect(() => core.createPipeline(PIPE, { commands: [{ name: 'x', isScript: false, parameters: [] }], noInput: true, addToHistory: false, isNested: false })).toThrow(InvalidStateError);
    core.open();
    expect(() => core.open()).toThrow(/state is Opening, expected BeforeOpen/);
    const opened = openedCore();
    const p = opened.createPipeline(PIPE, { commands: [{ name: 'x', isScript: false, parameters: [] }], noInput: true, addToHistory: false, isNested: false });
    expect(() => p.sendInput([1])).toThrow(InvalidStateError);
    p.start();
    expect(() => p.start()).toThrow(InvalidStateError);
    expect(() => p.sendInput([1])).toThrow(InvalidStateError); // NoInput pipeline
  });

  it('handles a broken pool and host calls', () => {
    const core = openedCore();
    core.receiveData(server('PipelineHostCall', '<Obj RefId="0"><MS><I64 N="ci">7</I64><Obj N="mi" RefId="1"><TN RefId="0"><T>System.Management.Automation.Remoting.RemoteHostMethodId</T><T>System.Enum</T></TN><ToString>ReadLine</ToString><I32>11</I32></Obj><Obj N="mp" RefId="2"><TN RefId="1"><T>System.Collections.ArrayList</T></TN><LST /></Obj></MS></Obj>', PIPE));
    const [call] = drain(core);
    expect(call).toMatchObject({ type: 'HostCall', pipelineId: PIPE, callId: 7n, method: 'ReadLine', isVoid: false, args: [] });
    core.hostResponse(call as Extract<PsrpEvent, { type: 'HostCall' }>, { value: 'typed' });
    const out = core.dataToSend(10_000)!;
    expect(out.stream).toBe('pr');
    expect(out.pipelineId).toBe(PIPE);
    const [resp] = messages(out.data);
    expect(resp!.type).toBe('PipelineHostResponse');
    expect(resp!.value).toMatchObject({ ci: 7, mr: 'typed' });
    core.receiveData(server('RunspacePoolState', '<Obj RefId="0"><MS><I32 N="RunspaceState">5</I32><Obj N="ExceptionAsErrorRecord" RefId="1"><MS><S N="FullyQualifiedErrorId">Gone</S><S N="ErrorDetails_Message">server went away</S></MS></Obj></MS></Obj>'));
    const [st] = drain(core);
    expect(st).toMatchObject({ type: 'RunspacePoolState', state: 'Broken' });
    expect((st as Extract<PsrpEvent, { type: 'RunspacePoolState' }>).error!.message).toBe('server went away');
  });

  it('exchanges a session key and encrypts SecureStrings with it', () => {
    const core = openedCore();
    core.exchangeKey();
    const [pk] = messages(core.dataToSend(10_000)!.data);
    expect(pk!.type).toBe('PublicKey');
    const blob = Buffer.from(String((pk!.value as Record<string, unknown>)['PublicKey']), 'base64');
    expect([...blob.subarray(0, 16)]).toEqual([6, 2, 0, 0, 0, 0xa4, 0, 0, 0x52, 0x53, 0x41, 0x31, 0, 8, 0, 0]);
    // Play the server: rebuild the RSA key from the blob, encrypt a session key PKCS#1 v1.5.
    const e = blob.readUInt32LE(16);
    const n = Buffer.from(blob.subarray(20)).reverse();
    const key = createPublicKey({ key: { kty: 'RSA', n: n.toString('base64url'), e: Buffer.from([(e >> 16) & 255, (e >> 8) & 255, e & 255]).toString('base64url') }, format: 'jwk' });
    const sessionKey = randomBytes(32);
    const enc = Buffer.from(publicEncrypt({ key, padding: constants.RSA_PKCS1_PADDING }, sessionKey)).reverse();
    const simple = Buffer.concat([Buffer.from([1, 2, 0, 0, 0x10, 0x66, 0, 0, 0, 0xa4, 0, 0]), enc]).toString('base64');
    core.receiveData(server('EncryptedSessionKey', `<Obj RefId="0"><MS><S N="EncryptedSessionKey">${simple}</S></MS></Obj>`));
    expect(drain(core).map((x) => x.type)).toEqual(['EncryptedSessionKey']);
    const serverCipher = aesSecureStringCipher(sessionKey);
    const xml = serializeObject(PSSecureString.fromPlainText('s3cret'), { secureStringCipher: core.cipher! });
    const back = deserializeObject(xml, { secureStringCipher: serverCipher }) as PSSecureString;
    expect(back.reveal()).toBe('s3cret');
  });
});
