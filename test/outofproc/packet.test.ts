import { describe, expect, it } from 'vitest';
import { decodePacket, encodePacket, PacketDecoder, type Packet } from '../../src/outofproc/packet.js';

const G = '00000000-0000-0000-0000-000000000000';
const P = '11111111-2222-3333-4444-555555555555';

describe('out-of-process packets', () => {
  it('encodes every packet type as pwsh writes them and decodes them back', () => {
    const packets: Packet[] = [
      { type: 'Data', psGuid: G, stream: 'Default', data: new Uint8Array([1, 2, 3]) },
      { type: 'Data', psGuid: P, stream: 'PromptResponse', data: new Uint8Array([9]) },
      ...(['DataAck', 'Command', 'CommandAck', 'Signal', 'SignalAck', 'Close', 'CloseAck'] as const).map((type) => ({ type, psGuid: P })),
    ];
    expect(encodePacket(packets[0]!)).toBe(`<Data Stream='Default' PSGuid='${G}'>AQID</Data>\n`);
    expect(encodePacket(packets[3]!)).toBe(`<Command PSGuid='${P}' />\n`);
    for (const p of packets) expect(decodePacket(encodePacket(p).trimEnd())).toEqual(p);
  });

  it('reassembles packets from chunks split at every position', () => {
    const text = [
      encodePacket({ type: 'Data', psGuid: G, stream: 'Default', data: new Uint8Array(100).fill(7) }),
      encodePacket({ type: 'DataAck', psGuid: G }),
      '\r\n',
      encodePacket({ type: 'CloseAck', psGuid: G }),
    ].join('');
    for (let cut = 1; cut < text.length; cut++) {
      const d = new PacketDecoder();
      const got = [...d.push(text.slice(0, cut)), ...d.push(text.slice(cut))];
      expect(got.map((p) => p.type)).toEqual(['Data', 'DataAck', 'CloseAck']);
      expect(got[0]!.data).toEqual(new Uint8Array(100).fill(7));
    }
  });

  it('refuses malformed and oversized input with typed errors', () => {
    for (const line of [
      'hello',
      `<Bogus PSGuid='${G}' />`,
      `<Data Stream='Default' PSGuid='nope'>AA==</Data>`,
      `<Data Stream='Weird' PSGuid='${G}'>AA==</Data>`,
      `<DataAck PSGuid='${G}'>AA==</DataAck>`,
      `<Data Stream='Default' PSGuid='${G}'>@@</Data>`,
    ]) {
      expect(() => decodePacket(line), line).toThrow(expect.objectContaining({ code: 'PSRP_OUTOFPROC_INVALID' }));
    }
    const d = new PacketDecoder(50);
    expect(() => d.push('x'.repeat(100))).toThrow(expect.objectContaining({ code: 'PSRP_OUTOFPROC_TOO_LARGE' }));
    expect(() => encodePacket({ type: 'Close', psGuid: 'bad' })).toThrow(expect.objectContaining({ code: 'PSRP_OUTOFPROC_INVALID' }));
  });
});
