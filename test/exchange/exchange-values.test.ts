import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { deserializeClixml, PSEnumValue, psMeta } from '../../src/index.js';
import { toExchangeValues, type ADObjectIdValue } from '../../src/exchange/index.js';
import { EXCHANGE_CLIXML_DIR } from '../helpers/recordings.js';

type Rec = Record<string, unknown>;
const load = (f: string): Rec[] => deserializeClixml(readFileSync(join(EXCHANGE_CLIXML_DIR, f), 'utf8')) as Rec[];

describe('Exchange values on real Exchange 2019 output (Full serialization)', () => {
  it('Get-MailboxServer: Unlimited<ByteQuantifiedSize>, EnhancedTimeSpan, enums, ADObjectId', () => {
    const [raw] = load('E19-GetMailboxServer.xml');
    const m = toExchangeValues<Rec>(raw);
    const sizes = Object.entries(raw!).filter(([, v]) => psMeta(v)?.typeNames[0]?.includes('Unlimited'));
    expect(sizes.length).toBeGreaterThan(0);
    for (const [k, v] of sizes) {
      const converted = m[k];
      if ((v as Rec)['IsUnlimited'] === true) expect(converted, k).toBe('Unlimited');
      else expect(typeof (converted as { bytes: bigint }).bytes, k).toBe('bigint');
    }
    const limited = sizes.find(([, v]) => (v as Rec)['Value'] === '500 MB (524,288,000 bytes)')!;
    expect(m[limited[0]]).toEqual({ bytes: 524288000n, text: '500 MB (524,288,000 bytes)' });
    const spans = Object.entries(raw!).filter(([, v]) => psMeta(v)?.typeNames[0] === 'Microsoft.Exchange.Data.EnhancedTimeSpan');
    expect(spans.length).toBeGreaterThan(0);
    for (const [k, v] of spans) expect((m[k] as { ticks: bigint }).ticks, k).toBe(BigInt(String((v as Rec)['Ticks'])));
    expect(Object.values(m).some((v) => v instanceof PSEnumValue)).toBe(true);
    expect('SerializationData' in m).toBe(false);
    expect(psMeta(m)!.typeNames).toEqual(psMeta(raw)!.typeNames);
    expect(raw!['SerializationData']).toBeDefined(); // the input is not modified
  });

  it('ADObjectId and proxy addresses read as plain values', () => {
    const [g] = load('E19-GetDynamicDistributionGroupPfMailboxes1.xml');
    const v = toExchangeValues<Rec>(g);
    const container = v['RecipientContainer'] as ADObjectIdValue;
    expect(container.distinguishedName).toMatch(/^(OU|CN|DC)=/);
    expect(typeof container.text).toBe('string');
    const emails = v['EmailAddresses'] as string[];
    expect(emails.some((e) => e.startsWith('SMTP:'))).toBe(true);
    expect(emails.every((e) => typeof e === 'string')).toBe(true);
  });

  it('converts Partial-level text shapes and leaves other strings alone', () => {
    expect(toExchangeValues({ A: '49.5 GB (53,150,220,288 bytes)', B: 'Unlimited', C: '14.00:00:00', D: 'Building 3', E: ['1 KB (1,024 bytes)'] })).toEqual({
      A: { bytes: 53150220288n, text: '49.5 GB (53,150,220,288 bytes)' },
      B: 'Unlimited',
      C: { ticks: 12_096_000_000_000n, milliseconds: 1_209_600_000, text: '14.00:00:00' },
      D: 'Building 3',
      E: [{ bytes: 1024n, text: '1 KB (1,024 bytes)' }],
    });
  });
});
