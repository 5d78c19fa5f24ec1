import { describe, expect, it } from 'vitest';
import { WSManFaultError } from '../../src/errors.js';
import { sequentialIds } from '../../src/internal/ids.js';
import { parseXmlTree, path, attr, descendants, type XmlElement } from '../../src/internal/xml-tree.js';
import {
  commandEnvelope,
  connectEnvelope,
  createShellEnvelope,
  disconnectEnvelope,
  parseConnectResponse,
  reconnectEnvelope,
  deleteEnvelope,
  maxPayloadBytes,
  parseCommandResponse,
  parseCreateResponse,
  parseReceiveResponse,
  parseResponse,
  powershellResourceUri,
  receiveEnvelope,
  sendEnvelope,
  Signal,
  signalEnvelope,
  type EnvelopeContext,
} from '../../src/wsman/index.js';
import { loadRecording, recordingNames } from '../helpers/recordings.js';
import { Defragmenter } from '../../src/psrp/fragment.js';
import { decodeMessage } from '../../src/psrp/message.js';

const ctx: EnvelopeContext = {
  to: 'https://server:5986/wsman',
  resourceUri: powershellResourceUri('Microsoft.PowerShell'),
  ids: sequentialIds(),
  sessionId: '11111111-2222-3333-4444-555555555555',
  maxEnvelopeSize: 153600,
  operationTimeoutSeconds: 20,
  locale: 'en-US',
  dataLocale: 'en-US',
};

/** The shape of a request: action, resource URI, selector names, option names, body element path. */
function shape(xml: string): unknown {
  const root = parseXmlTree(xml);
  const body = path(root, 'Body')!;
  const outline = (e: XmlElement): string => `${e.name}(${e.children.map(outline).join(',')})`;
  return {
    action: path(root, 'Header', 'Action')!.text,
    resourceUri: path(root, 'Header', 'ResourceURI')!.text,
    selectors: descendants(path(root, 'Header')!, 'Selector').map((s) => attr(s, 'Name')),
    options: descendants(path(root, 'Header')!, 'Option').map((o) => attr(o, 'Name')),
    body: body.children.map(outline),
  };
}

describe('WS-Man codec against real Windows traffic', () => {
  it('parses every recorded response, turning faults into typed errors', () => {
    const codes = new Map<string, number>();
    let parsed = 0;
    for (const name of recordingNames()) {
      for (const m of loadRecording(name).messages) {
        if (!m.response) continue;
        try {
          const r = parseResponse(m.response);
          parsed++;
          if (r.body.children[0]?.name === 'ReceiveResponse') parseReceiveResponse(r);
          if (r.body.children.some((c) => c.name === 'Shell')) expect(parseCreateResponse(r).shellId).toMatch(/^[0-9A-F-]{36}$/i);
          if (r.body.children[0]?.name === 'CommandResponse') expect(parseCommandResponse(r)).toMatch(/^[0-9A-F-]{36}$/i);
        } catch (e) {
          expect(e).toBeInstanceOf(WSManFaultError);
          const f = e as WSManFaultError;
          codes.set(f.code, (codes.get(f.code) ?? 0) + 1);
          expect(f.wsmanFaultCode ?? f.subcode).toBeDefined();
        }
      }
    }
    expect(parsed).toBeGreaterThan(400);
    expect(codes.get('PSRP_WSMAN_OPERATION_TIMEOUT')).toBeGreaterThan(0);
    expect(codes.get('PSRP_WSMAN_SHELL_NOT_FOUND')).toBeGreaterThan(0);
  });

  it('reads the invalid-selectors fault in full', () => {
    const rec = loadRecording('test_psrp_is_alive_invalid_selectors');
    const faulty = rec.messages.find((m) => m.response?.includes('Fault'))!;
    try {
      parseResponse(faulty.response!);
      expect.unreachable();
    } catch (e) {
      const f = e as WSManFaultError;
      expect(f.code).toBe('PSRP_WSMAN_SHELL_NOT_FOUND');
      expect(f.wsmanFaultCode).toBe(2150858843);
      expect(f.subcode).toBe('w:InvalidSelectors');
      expect(f.machine).toBeTruthy();
      expect(f.message).toMatch(/MS-WSMAN affinity cookie/);
    }
  });

  it('reads streams and CommandState from a receive response', () => {
    const rec = loadRecording('test_psrp_multiple_commands');
    const results = rec.messages
      .filter((m) => m.response?.includes('ReceiveResponse'))
      .map((m) => parseReceiveResponse(parseResponse(m.response!)));
    expect(results.some((r) => r.commandState === 'Done')).toBe(true);
    expect(results.flatMap((r) => r.streams).every((s) => s.name === 'stdout' && s.data.length > 21)).toBe(true);
    const cmd = loadRecording('test_winrs_stderr_rc').messages.map((m) => m.response).filter((x) => x?.includes('ExitCode'))[0]!;
    expect(parseReceiveResponse(parseResponse(cmd)).exitCode).toBeTypeOf('number');
  });

  it('builds requests with the same shape Windows accepted', () => {
    const recorded = recordingNames()
      .filter((n) => n.startsWith('test_psrp_'))
      .flatMap((n) => loadRecording(n).messages.map((m) => JSON.stringify(shape(m.request))));
    const data = new Uint8Array([1, 2, 3]);
    const ours = [
      createShellEnvelope(ctx, 'A', data),
      receiveEnvelope(ctx, 'A', null),
      commandEnvelope(ctx, 'A', 'B', data),
      receiveEnvelope(ctx, 'A', 'B'),
      signalEnvelope(ctx, 'A', 'B', Signal.Terminate),
      deleteEnvelope(ctx, 'A'),
      sendEnvelope(ctx, 'A', 'B', 'stdin', data),
    ].map((e) => shape(e.xml));
    for (const s of ours.slice(0, 6)) expect(recorded).toContain(JSON.stringify(s));
    expect(ours[6]).toMatchObject({ action: 'http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Send', body: ['Send(Stream())'] });
  });

  it('builds Disconnect, Reconnect and Connect like the recorded client, and reads ConnectResponse', () => {
    const recorded = ['test_psrp_disconnect_runspaces', 'test_psrp_disconnected_commands'].flatMap((n) =>
      loadRecording(n).messages.map((m) => JSON.stringify(shape(m.request))),
    );
    const data = new Uint8Array([1, 2, 3]);
    for (const env of [disconnectEnvelope(ctx, 'A'), reconnectEnvelope(ctx, 'A'), connectEnvelope(ctx, 'A', data), connectEnvelope(ctx, 'A', null, 'B')]) {
      expect(recorded).toContain(JSON.stringify(shape(env.xml)));
    }
    expect(disconnectEnvelope(ctx, 'A', 60).xml).toContain('<rsp:IdleTimeOut>PT60S</rsp:IdleTimeOut>');
    const resp = loadRecording('test_psrp_disconnect_runspaces').messages.find((m) => m.response?.includes('connectResponseXml'))!.response!;
    const bytes = parseConnectResponse(parseResponse(resp))!;
    // MS-PSRP 3.1.4.11: the server answers a connect with its capability and the pool's init data.
    const types = new Defragmenter().push(bytes).map((m) => decodeMessage(m).typeName);
    expect(types).toEqual(['SessionCapability', 'RunspacePoolInitData']);
  });

  it('checks RelatesTo and refuses non-SOAP or hostile bodies', () => {
    const rec = loadRecording('test_psrp_open_runspace');
    const resp = rec.messages[0]!.response!;
    expect(() => parseResponse(resp, { messageId: 'uuid:00000000-0000-0000-0000-000000000000', action: 'x' })).toThrow(
      expect.objectContaining({ code: 'PSRP_WSMAN_RELATES_TO_MISMATCH' }),
    );
    const reqId = /<wsa:MessageID>([^<]+)</.exec(rec.messages[0]!.request)![1]!;
    expect(parseResponse(resp, { messageId: reqId, action: 'x' }).relatesTo?.toLowerCase()).toBe(reqId.toLowerCase());
    for (const [body, code] of [
      ['[ClientAccessServer=CAS01,BackEndServer=...] [FailureCategory=Auth-401]', 'PSRP_WSMAN_INVALID_ENVELOPE'],
      ['<!DOCTYPE x [<!ENTITY a "b">]><s:Envelope/>', 'PSRP_XML_FORBIDDEN'],
      ['<a>'.repeat(10_000), 'PSRP_WSMAN_INVALID_ENVELOPE'],
      ['<s:Envelope><s:Header/></s:Envelope>', 'PSRP_WSMAN_INVALID_ENVELOPE'],
      ['<s:Envelope><s:Body><rsp:ReceiveResponse><rsp:Stream>!!!</rsp:Stream></rsp:ReceiveResponse></s:Body></s:Envelope>', 'PSRP_WSMAN_INVALID_ENVELOPE'],
    ] as const) {
      expect(() => parseReceiveResponse(parseResponse(body)), body.slice(0, 30)).toThrow(expect.objectContaining({ code }));
    }
  });

  it('sizes payloads to the envelope budget', () => {
    expect(maxPayloadBytes(153600, 1500)).toBe(Math.floor((153600 - 1756) / 4) * 3);
    const env = sendEnvelope(ctx, 'A', 'B', 'stdin', new Uint8Array(maxPayloadBytes(153600, 1500)));
    expect(env.xml.length).toBeLessThanOrEqual(153600);
  });
});
