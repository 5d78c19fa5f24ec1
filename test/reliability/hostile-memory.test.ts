/**
 * Issue 12, memory half: a response of size S never needs more than about 3 S while it is parsed,
 * and past a cap the answer is a typed error, not growth. Each case runs in a child process
 * (test/helpers/memory-probe.ts) so that the peak RSS it reports is the parse's own (Linux VmHWM,
 * reset just before the parse).
 */
import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const PROBE = resolve(import.meta.dirname, '../helpers/memory-probe.ts');

interface Probe {
  readonly inputBytes: number;
  readonly peakGrowthBytes: number;
  readonly cpuMs: number;
  readonly result?: number;
  readonly code?: string;
}

function probe(scenario: string, mib: number): Probe {
  const out = execFileSync(
    process.execPath,
    ['--expose-gc', '--import', 'tsx', PROBE, scenario, String(mib)],
    {
      encoding: 'utf8',
      maxBuffer: 1024 * 1024,
    },
  );
  return JSON.parse(out.trim().split('\n').at(-1)!) as Probe;
}

describe('bounded memory while parsing hostile responses', () => {
  it('50 MB of &amp; in one <S> stays within 3x its size (it took 1.6 GB for 200 MB)', () => {
    const p = probe('amp', 50);
    expect(p.result).toBe(Math.floor((50 * 1024 * 1024) / 5));
    expect(p.peakGrowthBytes / p.inputBytes, JSON.stringify(p)).toBeLessThan(3);
  }, 120_000);

  it('a 60 MB Receive response (envelope, base64 streams, fragments, message, CLIXML) stays within 3x its size', () => {
    const p = probe('receive', 60);
    expect(p.result).toBeGreaterThan(40_000);
    expect(p.peakGrowthBytes / p.inputBytes, JSON.stringify(p)).toBeLessThan(3);
  }, 120_000);

  it('past the input cap: a typed error before any parsing, no growth', () => {
    const p = probe('over-cap', 50);
    expect(p.code).toBe('PSRP_CLIXML_TOO_LARGE');
    expect(p.peakGrowthBytes, JSON.stringify(p)).toBeLessThan(4 * 1024 * 1024);
    expect(p.cpuMs).toBeLessThan(100);
  }, 120_000);
});
