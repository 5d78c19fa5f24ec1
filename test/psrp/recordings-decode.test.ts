import { describe, expect, it } from 'vitest';
import { deserializeObject, psMeta } from '../../src/clixml/index.js';
import { Defragmenter } from '../../src/psrp/fragment.js';
import { decodeMessage } from '../../src/psrp/message.js';
import { base64Payloads, loadRecording, recordingNames } from '../helpers/recordings.js';

interface Decoded {
  readonly direction: 'request' | 'response';
  readonly typeName: string;
  readonly pipelineId: string;
  readonly value: unknown;
}

/** Decodes every PSRP message of a recording, both directions, in order. */
function decodeRecording(name: string): Decoded[] {
  const rec = loadRecording(name);
  // One defragmenter per shell and direction: ObjectIds are scoped to a runspace pool.
  const defrags = new Map<string, Defragmenter>();
  const defrag = (key: string): Defragmenter => {
    let d = defrags.get(key);
    if (!d) defrags.set(key, (d = new Defragmenter()));
    return d;
  };
  const out: Decoded[] = [];
  for (const m of rec.messages) {
    // Requests to cmd (WinRS) shells in the same recording carry plain stdin/stdout bytes.
    if (!/<wsman:ResourceURI[^>]*>http:\/\/schemas\.microsoft\.com\/powershell\//.test(m.request)) continue;
    const shell = /Name="ShellId">([^<]+)</.exec(m.request)?.[1] ?? /<rsp:Shell ShellId="([^"]+)"/.exec(m.request)?.[1] ?? '';
    for (const [direction, envelope, d] of [
      ['request', m.request, defrag(`${shell.toUpperCase()}>`)],
      ['response', m.response, defrag(`${shell.toUpperCase()}<`)],
    ] as const) {
      if (!envelope) continue;
      for (const p of base64Payloads(envelope)) {
        if (p.data.length === 0) continue;
        for (const bytes of d.push(p.data)) {
          const msg = decodeMessage(bytes);
          out.push({ direction, typeName: msg.typeName, pipelineId: msg.pipelineId, value: msg.data === '' ? undefined : deserializeObject(msg.data) });
        }
      }
    }
  }
  for (const d of defrags.values()) d.finish();
  return out;
}

const isPsrp = (name: string): boolean =>
  loadRecording(name).messages.some((m) => m.request.includes('http://schemas.microsoft.com/powershell/'));

describe('every PSRP message in the real Windows recordings', () => {
  const names = recordingNames();
  const psrp = names.filter(isPsrp);

  it('tells PowerShell shells from cmd (WinRS) shells', () => {
    expect(psrp.length).toBe(43);
    expect(names.filter((n) => !isPsrp(n)).every((n) => n.startsWith('test_winrs_') || n.startsWith('test_client_execute_cmd') || n.startsWith('test_wsman_'))).toBe(true);
  });

  it('decodes all of them into known message types and CLIXML values', () => {
    let total = 0;
    const types = new Set<string>();
    for (const name of psrp) {
      const msgs = decodeRecording(name);
      expect(msgs.length, name).toBeGreaterThan(0);
      total += msgs.length;
      for (const m of msgs) types.add(`${m.direction}:${m.typeName}`);
    }
    expect(total).toBeGreaterThan(500);
    for (const t of [
      'request:SessionCapability', 'request:InitRunspacePool', 'request:CreatePipeline', 'request:PipelineInput',
      'request:EndOfPipelineInput', 'request:PublicKey', 'request:SetMaxRunspaces', 'request:GetAvailableRunspaces',
      'request:PipelineHostResponse', 'response:SessionCapability', 'response:ApplicationPrivateData',
      'response:RunspacePoolState', 'response:PipelineOutput', 'response:PipelineState', 'response:ErrorRecord',
      'response:EncryptedSessionKey', 'response:PipelineHostCall', 'response:RunspaceAvailability',
      'response:WarningRecord', 'response:VerboseRecord', 'response:DebugRecord', 'response:InformationRecord',
      'response:ProgressRecord',
    ]) {
      expect(types, t).toContain(t);
    }
  });

  it('reads the negotiated versions and the Opened state', () => {
    const msgs = decodeRecording('test_psrp_run_protocol_version_2.2');
    const cap = msgs.find((m) => m.direction === 'response' && m.typeName === 'SessionCapability')!.value as Record<string, unknown>;
    expect(cap['protocolversion']).toBe('2.2');
    expect(cap['PSVersion']).toBe('2.0');
    expect(cap['SerializationVersion']).toBe('1.1.0.1');
    const state = msgs.find((m) => m.typeName === 'RunspacePoolState')!.value as Record<string, unknown>;
    expect(state['RunspaceState']).toBe(2);
    const open = decodeRecording('test_psrp_open_runspace');
    const init = open.find((m) => m.typeName === 'InitRunspacePool')!.value as Record<string, unknown>;
    expect(init).toMatchObject({ MinRunspaces: 1, MaxRunspaces: 1, ApplicationArguments: null });
    expect(String(init['PSThreadOptions'])).toBe('Default');
  });

  it('reads an ErrorRecord from a failed pipeline', () => {
    const msgs = decodeRecording('test_psrp_error_failed');
    const err = msgs.find((m) => m.typeName === 'ErrorRecord');
    const state = msgs.filter((m) => m.typeName === 'PipelineState').at(-1)!.value as Record<string, unknown>;
    expect(state['PipelineState']).toBe(5);
    const record = (err?.value ?? state['ExceptionAsErrorRecord']) as Record<string, unknown>;
    expect(psMeta(record)!.typeNames).toContain('System.Management.Automation.ErrorRecord');
    expect(typeof record['FullyQualifiedErrorId']).toBe('string');
  });
});
