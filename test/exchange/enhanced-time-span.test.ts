import { describe, expect, it } from 'vitest';
import { parseEnhancedTimeSpan } from '../../src/exchange/enhanced-time-span.js';

describe('parseEnhancedTimeSpan', () => {
  it('parses the TimeSpan "c" format to exact ticks', () => {
    expect(parseEnhancedTimeSpan('10.00:00:00')).toEqual({ ticks: 8_640_000_000_000n, milliseconds: 864_000_000, text: '10.00:00:00' });
    expect(parseEnhancedTimeSpan('00:00:30')!.milliseconds).toBe(30_000);
    expect(parseEnhancedTimeSpan('1.02:03:04.5')!.ticks).toBe(((26n * 60n + 3n) * 60n + 4n) * 10_000_000n + 5_000_000n);
    expect(parseEnhancedTimeSpan('-00:00:00.0000001')!.ticks).toBe(-1n);
    expect(parseEnhancedTimeSpan('10675199.02:48:05.4775807')!.ticks).toBe(9223372036854775807n);
  });
  it('rejects other text', () => {
    for (const t of ['', 'Unlimited', '10 days', '25:00:00', '00:60:00', '1.2.3', '00:00:00.12345678']) {
      expect(parseEnhancedTimeSpan(t), t).toBeUndefined();
    }
  });
});
