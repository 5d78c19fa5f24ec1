// The trace's view of the PSRP messages in WS-Man envelopes (src/client/trace-messages.ts): a
// message fragmented over two Send envelopes is reported once, whole, in the envelope that ends
// it (MS-PSRP 2.2.4); credentials in CLIXML are redacted; the envelope keeps no PSRP payload.
import { describe, expect, it } from 'vitest';
import { HttpTransport, sequentialIds } from '../../src/index.js';
import { encodeFragment, fragmentMessage } from '../../src/psrp/fragment.js';
import { encodeMessage } from '../../src/psrp/message.js';
import { MessageType } from '../../src/psrp/message-type.js';
import { sendEnvelope, type EnvelopeContext } from '../../src/wsman/index.js';
import { messageTypeLabel, redactClixml, WireTrace } from '../../src/client/trace-messages.js';

const ctx: EnvelopeContext = {
  to: 'https://h:5986/wsman',
  resourceUri: 'http://schemas.microsoft.com/powershell/Microsoft.PowerShell',
  ids: sequentialIds(),
  sessionId: '00000000-0000-4000-8000-0000000000ff',
  maxEnvelopeSize: 153600,
  operationTimeoutSeconds: 20,
  locale: 'en-US',
  dataLocale: 'en-US',
};
const POOL = '11111111-2222-4333-8444-555555555555';
const PIPELINE = '66666666-7777-4888-8999-aaaaaaaaaaaa';

describe('WireTrace', () => {
  it('reassembles a message sent over two envelopes and names its type, size, pool and pipeline', () => {
    const xml = `<Obj RefId="0"><MS><S N="Value">${'x'.repeat(3000)}</S><SS N="Password">c2VjcmV0Y2lwaGVy</SS></MS></Obj>`;
    const message = encodeMessage({
      destination: 2,
      messageType: MessageType.PipelineInput,
      runspacePoolId: POOL,
      pipelineId: PIPELINE,
      data: xml,
    });
    const fragments = fragmentMessage(5n, message, 1200).map(encodeFragment);
    expect(fragments.length).toBeGreaterThan(2);
    const first = Buffer.concat(fragments.slice(0, 2));
    const rest = Buffer.concat(fragments.slice(2));
    const trace = new WireTrace();
    const head = { id: 'uuid:1', action: 'Send', shellId: 'SHELL' };
    const a = trace.describe('sent', sendEnvelope(ctx, 'SHELL', PIPELINE, 'stdin', first).xml, head);
    expect(a.messages).toEqual([]);
    expect(a.commandId).toBe(PIPELINE.toUpperCase());
    expect(a.envelope).toContain(`[${first.length} bytes of PSRP data]`);
    expect(a.envelope).not.toContain(first.toString('base64').slice(0, 40));
    const b = trace.describe('sent', sendEnvelope(ctx, 'SHELL', PIPELINE, 'stdin', rest).xml, head);
    expect(b.messages).toHaveLength(1);
    const m = b.messages[0]!;
    expect(m).toMatchObject({
      type: 'PIPELINE_INPUT',
      destination: 'server',
      runspacePoolId: POOL,
      pipelineId: PIPELINE,
      bytes: message.length,
    });
    expect(m.xml).toContain('<SS N="Password">[redacted]</SS>');
    expect(m.xml).not.toContain('c2VjcmV0Y2lwaGVy');
    // A continuation whose start the trace never saw is skipped, not misreported.
    expect(
      new WireTrace().describe('sent', sendEnvelope(ctx, 'SHELL', PIPELINE, 'stdin', rest).xml, head)
        .messages,
    ).toEqual([]);
  });

  it('applies the transport redaction to the envelope and the messages', () => {
    const message = encodeMessage({
      destination: 2,
      messageType: MessageType.CreatePipeline,
      runspacePoolId: POOL,
      pipelineId: PIPELINE,
      data: '<S>hunter22</S>',
    });
    const data = encodeFragment({ objectId: 1n, fragmentId: 0n, start: true, end: true, blob: message });
    const e = new WireTrace().describe(
      'sent',
      sendEnvelope(ctx, 'SHELL', PIPELINE, 'stdin', data).xml,
      { id: 'uuid:2', action: 'Send', shellId: 'hunter22' },
      (t) => t.split('hunter22').join('[redacted]'),
    );
    expect(e.messages[0]!.xml).toBe('<S>[redacted]</S>');
    expect(e.envelope).not.toContain('hunter22');
  });
});

describe('redactClixml', () => {
  it('redacts SecureStrings, the session key and password-like properties and parameters, and nothing else', () => {
    expect(redactClixml('<SS>AAAA</SS><SS N="P">BBBB</SS>')).toBe(
      '<SS>[redacted]</SS><SS N="P">[redacted]</SS>',
    );
    expect(redactClixml('<S N="EncryptedSessionKey">QUJD</S>')).toBe(
      '<S N="EncryptedSessionKey">[redacted]</S>',
    );
    expect(redactClixml('<S N="N">Password</S><S N="V">plain</S>')).toBe(
      '<S N="N">Password</S><S N="V">[redacted]</S>',
    );
    expect(redactClixml('<S N="N">NewPassword</S><S N="V">plain</S>')).toContain('[redacted]');
    expect(redactClixml('<S N="N">Identity</S><S N="V">alice</S>')).toBe(
      '<S N="N">Identity</S><S N="V">alice</S>',
    );
    expect(redactClixml('<S N="Key">PSVersionTable</S>')).toBe('<S N="Key">PSVersionTable</S>');
  });

  it('spells message types as MS-PSRP 2.2.1 does', () => {
    expect(messageTypeLabel('InitRunspacePool')).toBe('INIT_RUNSPACEPOOL');
    expect(messageTypeLabel('RunspacePoolHostCall')).toBe('RUNSPACEPOOL_HOST_CALL');
    expect(messageTypeLabel('EndOfPipelineInput')).toBe('END_OF_PIPELINE_INPUT');
    expect(messageTypeLabel('PublicKeyRequest')).toBe('PUBLIC_KEY_REQUEST');
  });
});

describe('the transport redaction the trace applies', () => {
  it('knows the password of an NTLM or Negotiate credential, which never travels in a header', () => {
    for (const method of ['ntlm', 'negotiate'] as const) {
      const t = new HttpTransport({
        url: 'https://ex01.contoso.com/PowerShell/',
        auth: { method, username: 'CONTOSO\\bot', password: 'Ntlm-Pa55w0rd!' },
      });
      expect(t.redact('$p = "Ntlm-Pa55w0rd!"')).toBe('$p = "[redacted]"');
    }
  });
});
