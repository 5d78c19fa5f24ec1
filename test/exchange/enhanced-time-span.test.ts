import { describe, expect, it } from 'vitest';
import { parseEnhancedTimeSpan } from '../../src/exchange/enhanced-time-span.js';

describe('parseEnhancedTimeSpan', () => {
  it('parses the TimeSpan "c" format to exact ticks', () => {
    expect(parseEnhancedTimeSpan('10.00:00:00')).toEqual({
      ticks: 8_640_000_000_000n,
      milliseconds: 864_000_000,
      text: '10.00:00:00',
    });
    expect(parseEnhancedTimeSpan('00:00:30')!.milliseconds).toBe(30_000);
    expect(parseEnhancedTimeSpan('1.02:03:04.5')!.ticks).toBe(
      ((26n * 60n + 3n) * 60n + 4n) * 10_000_000n + 5_000_000n,
    );
    expect(parseEnhancedTimeSpan('-00:00:00.0000001')!.ticks).toBe(-1n);
    expect(parseEnhancedTimeSpan('10675199.02:48:05.4775807')!.ticks).toBe(9223372036854775807n);
    // Past a billion days the seconds no longer fit a double exactly: still exact.
    expect(parseEnhancedTimeSpan('123456789012345678.00:00:01')!.ticks).toBe(
      (123456789012345678n * 86_400n + 1n) * 10_000_000n,
    );
    // Methods on the prototype: the fields alone spread, String() and JSON still work.
    const span = parseEnhancedTimeSpan('14.00:00:00')!;
    expect({ ...span }).toEqual({
      ticks: 12_096_000_000_000n,
      milliseconds: 1_209_600_000,
      text: '14.00:00:00',
    });
    expect(`${span}`).toBe('14.00:00:00');
    expect(JSON.parse(JSON.stringify({ span }))).toEqual({
      span: { ticks: 12_096_000_000_000, milliseconds: 1_209_600_000, text: '14.00:00:00' },
    });
  });
  it('rejects other text', () => {
    for (const t of ['', 'Unlimited', '10 days', '25:00:00', '00:60:00', '1.2.3', '00:00:00.12345678']) {
      expect(parseEnhancedTimeSpan(t), t).toBeUndefined();
    }
  });
});
