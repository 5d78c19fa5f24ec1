import { describe, expect, it } from 'vitest';
import {
  formatByteQuantifiedSize,
  isByteQuantifiedSizeText,
  parseByteQuantifiedSize,
  parseUnlimitedSize,
} from '../../src/exchange/byte-quantified-size.js';

describe('ByteQuantifiedSize', () => {
  it('parses the exact byte count from display text, whatever the culture separator', () => {
    expect(parseByteQuantifiedSize('49.5 GB (53,150,220,288 bytes)')).toEqual({
      bytes: 53150220288n,
      text: '49.5 GB (53,150,220,288 bytes)',
    });
    expect(parseByteQuantifiedSize('49,5 GB (53.150.220.288 bytes)')!.bytes).toBe(53150220288n);
    expect(parseByteQuantifiedSize('49,5 GB (53\u00a0150\u00a0220\u00a0288 bytes)')!.bytes).toBe(53150220288n);
    expect(parseByteQuantifiedSize('0 B (0 bytes)')!.bytes).toBe(0n);
    expect(parseByteQuantifiedSize('16 EB (18,446,744,073,709,551,615 bytes)')!.bytes).toBe(18446744073709551615n);
  });
  it('rejects text that is not a size', () => {
    for (const t of ['Unlimited', '49.5 GB', 'abc (12 bytes)', '', '12 XB (12 bytes)']) {
      expect(parseByteQuantifiedSize(t), t).toBeUndefined();
      expect(isByteQuantifiedSizeText(t), t).toBe(false);
    }
  });
  it('parses Unlimited<ByteQuantifiedSize>', () => {
    expect(parseUnlimitedSize('Unlimited')).toBe('Unlimited');
    expect(parseUnlimitedSize('500 MB (524,288,000 bytes)')).toEqual({ bytes: 524288000n, text: '500 MB (524,288,000 bytes)' });
    expect(parseUnlimitedSize('soon')).toBeUndefined();
  });
  it('formats like Exchange (values seen in real Exchange 2019 output)', () => {
    expect(formatByteQuantifiedSize(53150220288n)).toBe('49.5 GB (53,150,220,288 bytes)');
    expect(formatByteQuantifiedSize(115101696n)).toBe('109.8 MB (115,101,696 bytes)');
    expect(formatByteQuantifiedSize(36700160n)).toBe('35 MB (36,700,160 bytes)');
    expect(formatByteQuantifiedSize(524288000n)).toBe('500 MB (524,288,000 bytes)');
    expect(formatByteQuantifiedSize(512n)).toBe('512 B (512 bytes)');
    for (const n of [1n, 1023n, 1024n, 123456789n, 9876543210123n]) {
      expect(parseByteQuantifiedSize(formatByteQuantifiedSize(n))!.bytes).toBe(n);
    }
  });
});
