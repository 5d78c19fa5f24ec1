import { describe, expect, it } from 'vitest';
import { base64Payloads, loadRecording, recordingNames } from './recordings.js';

describe('recordings loader', () => {
  it('finds every scenario and decodes the open-runspace creationXml', () => {
    expect(recordingNames().length).toBe(60);
    const rec = loadRecording('test_psrp_open_runspace');
    const [p] = base64Payloads(rec.messages[0]!.request);
    expect(p!.element).toBe('creationXml');
    // MS-PSRP 2.2.4: ObjectId 1, FragmentId 0, flags 0x03 (start+end)
    expect(p!.data.readBigUInt64BE(0)).toBe(1n);
    expect(p!.data[16]).toBe(3);
  });
});
