// The WinRS cmd shell codec (src/wsman/winrs.ts): bad input is a typed error before anything is sent;
// the shapes themselves are compared with Windows recordings in test/replay/winrs-replay.test.ts.
import { describe, expect, it } from 'vitest';
import { sequentialIds } from '../../src/index.js';
import {
  winrsCommandEnvelope,
  winrsCreateEnvelope,
  winrsSendEnvelope,
  type EnvelopeContext,
} from '../../src/wsman/index.js';

const ctx: EnvelopeContext = {
  to: 'https://h:5986/wsman',
  resourceUri: 'ignored',
  ids: sequentialIds(),
  sessionId: '00000000-0000-4000-8000-0000000000ff',
  maxEnvelopeSize: 153600,
  operationTimeoutSeconds: 20,
  locale: 'en-US',
  dataLocale: 'en-US',
};

describe('WinRS envelopes', () => {
  it('refuses bad shell options with PSRP_INVALID_ARGUMENT', () => {
    for (const bad of [
      { environment: { 'A=B': 'x' } },
      { environment: { '': 'x' } },
      { codepage: 0 },
      { codepage: 1.5 },
      { idleTimeoutSeconds: -1 },
      { lifetimeSeconds: Number.NaN },
    ]) {
      expect(() => winrsCreateEnvelope(ctx, bad)).toThrow(
        expect.objectContaining({ code: 'PSRP_INVALID_ARGUMENT' }) as Error,
      );
    }
  });

  it('escapes XML in the command line and stdin goes base64 with its End flag', () => {
    const c = winrsCommandEnvelope(ctx, 'S', 'cmd.exe', ['/c echo <a> & "b"']).xml;
    expect(c).toContain('<rsp:Arguments>/c echo &lt;a&gt; &amp; &quot;b&quot;</rsp:Arguments>');
    expect(c).toContain(
      '<wsman:ResourceURI s:mustUnderstand="true">http://schemas.microsoft.com/wbem/wsman/1/windows/shell/cmd</wsman:ResourceURI>',
    );
    const s = winrsSendEnvelope(
      ctx,
      'S',
      'c0ffee00-0000-4000-8000-000000000001',
      new Uint8Array(Buffer.from('hi')),
      true,
    ).xml;
    expect(s).toContain(
      '<rsp:Stream CommandId="C0FFEE00-0000-4000-8000-000000000001" End="True" Name="stdin">aGk=</rsp:Stream>',
    );
  });
});
