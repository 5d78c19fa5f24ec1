/**
 * Exchange values behave as ordinary JavaScript values (issue 13): `${size}` is Exchange's text,
 * `JSON.stringify` gives the documented shape (docs/exchange.md "Values as JSON") instead of
 * throwing on a bigint, and a whole InvokeResult stringifies, on real Exchange output and real pwsh.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { deserializeClixml, jsonSafe, psMeta } from '../../src/index.js';
import {
  parseByteQuantifiedSize,
  parseEnhancedTimeSpan,
  toExchangeValues,
  type ADObjectIdValue,
} from '../../src/exchange/index.js';
import { EXCHANGE_CLIXML_DIR } from '../helpers/recordings.js';
import { openLocalPool } from '../helpers/pwsh.js';

type Rec = Record<string, unknown>;
const load = (f: string): Rec[] =>
  deserializeClixml(readFileSync(join(EXCHANGE_CLIXML_DIR, f), 'utf8')) as Rec[];

describe('Exchange values as strings and JSON', () => {
  it('a ByteQuantifiedSize prints as Exchange shows it and stringifies to { bytes, text }', () => {
    const size = parseByteQuantifiedSize('26.3 GB (28,266,475,577 bytes)')!;
    expect(`${size}`).toBe('26.3 GB (28,266,475,577 bytes)');
    expect(String(size)).toBe('26.3 GB (28,266,475,577 bytes)');
    expect(JSON.stringify(size)).toBe('{"bytes":28266475577,"text":"26.3 GB (28,266,475,577 bytes)"}');
    const huge = parseByteQuantifiedSize('16 EB (18,446,744,073,709,551,615 bytes)')!;
    expect(JSON.parse(JSON.stringify(huge))).toEqual({
      bytes: '18446744073709551615',
      text: '16 EB (18,446,744,073,709,551,615 bytes)',
    });
    // The methods are not fields: spreading and comparing still see { bytes, text }.
    expect(Object.keys(size)).toEqual(['bytes', 'text']);
    expect(size).toEqual({ bytes: 28266475577n, text: '26.3 GB (28,266,475,577 bytes)' });
  });

  it('an EnhancedTimeSpan prints as its text and stringifies to { ticks, milliseconds, text }', () => {
    const span = parseEnhancedTimeSpan('14.00:00:00')!;
    expect(`${span}`).toBe('14.00:00:00');
    expect(JSON.parse(JSON.stringify(span))).toEqual({
      ticks: 12096000000000,
      milliseconds: 1209600000,
      text: '14.00:00:00',
    });
  });

  it('real Exchange 2019 output (sizes, spans, identities) stringifies whole; identities print by name', () => {
    for (const f of ['E19-GetMailboxServer.xml', 'E19-GetDynamicDistributionGroupPfMailboxes1.xml']) {
      const converted = load(f).map((o) => toExchangeValues<Rec>(o));
      expect(() => JSON.stringify(converted), f).not.toThrow();
      const parsed = JSON.parse(JSON.stringify(converted)) as Rec[];
      expect(parsed.length, f).toBe(converted.length);
    }
    const [g] = load('E19-GetDynamicDistributionGroupPfMailboxes1.xml');
    const v = toExchangeValues<Rec>(g);
    const container = v['RecipientContainer'] as ADObjectIdValue;
    expect(container.name).toBeDefined();
    expect(`${container}`).toBe(container.name);
    expect(JSON.parse(JSON.stringify(container))).toMatchObject({
      name: container.name,
      distinguishedName: container.distinguishedName,
    });
    const [server] = load('E19-GetMailboxServer.xml');
    const m = toExchangeValues<Rec>(server);
    const limited = Object.entries(server!).find(
      ([, x]) => (x as Rec)?.['Value'] === '500 MB (524,288,000 bytes)',
    )!;
    expect(`${m[limited[0]] as object}`).toBe('500 MB (524,288,000 bytes)');
    expect(psMeta(m)).toBeDefined();
  });

  it('jsonSafe: bigints to numbers or strings, cycles cut, own toJSON used', () => {
    const cyclic: Rec = { a: 1n, big: 2n ** 64n, d: new Date(0) };
    cyclic['self'] = cyclic;
    expect(jsonSafe(cyclic)).toEqual({
      a: 1,
      big: '18446744073709551616',
      d: '1970-01-01T00:00:00.000Z',
      self: '[Circular]',
    });
    expect(() => JSON.stringify(cyclic)).toThrow();
  });

  it('JSON.stringify(result) of a real pwsh run with an Int64 beyond 2^53 and an error record', async () => {
    const { pool } = await openLocalPool();
    try {
      const result = await pool
        .powershell()
        .addScript('[long]::MaxValue; [ulong]::MaxValue; Write-Error "boom"; "text"')
        .invoke<bigint | string>();
      expect(result.output).toEqual([2n ** 63n - 1n, 2n ** 64n - 1n, 'text']);
      expect(() => JSON.stringify(result.output)).toThrow(); // why the result needs its toJSON
      const parsed = JSON.parse(JSON.stringify(result)) as Rec;
      expect(parsed['output']).toEqual(['9223372036854775807', '18446744073709551615', 'text']);
      expect(parsed['hadErrors']).toBe(true);
      expect(JSON.stringify(parsed['errors'])).toContain('boom');
      expect(Object.keys(result)).not.toContain('toJSON');
    } finally {
      await pool.close();
    }
  }, 60_000);
});
