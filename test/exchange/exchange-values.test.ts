import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { deserializeClixml, PSEnumValue, psMeta } from '../../src/index.js';
import { toExchangeValues, type ADObjectIdValue } from '../../src/exchange/index.js';
import { EXCHANGE_CLIXML_DIR } from '../helpers/recordings.js';

type Rec = Record<string, unknown>;
const load = (f: string): Rec[] =>
  deserializeClixml(readFileSync(join(EXCHANGE_CLIXML_DIR, f), 'utf8')) as Rec[];

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
    const spans = Object.entries(raw!).filter(
      ([, v]) => psMeta(v)?.typeNames[0] === 'Microsoft.Exchange.Data.EnhancedTimeSpan',
    );
    expect(spans.length).toBeGreaterThan(0);
    for (const [k, v] of spans)
      expect((m[k] as { ticks: bigint }).ticks, k).toBe(BigInt(String((v as Rec)['Ticks'])));
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
    expect(
      toExchangeValues({
        A: '49.5 GB (53,150,220,288 bytes)',
        B: 'Unlimited',
        C: '14.00:00:00',
        D: 'Building 3',
        E: ['1 KB (1,024 bytes)'],
      }),
    ).toEqual({
      A: { bytes: 53150220288n, text: '49.5 GB (53,150,220,288 bytes)' },
      B: 'Unlimited',
      C: { ticks: 12_096_000_000_000n, milliseconds: 1_209_600_000, text: '14.00:00:00' },
      D: 'Building 3',
      E: [{ bytes: 1024n, text: '1 KB (1,024 bytes)' }],
    });
  });
});

describe('Exchange values: type names looked at once per shared list (issue 17)', () => {
  it('objects sharing one <TNRef> list convert alike, and each list is classified on its own', () => {
    const size = (refId: number, tn: string, bytes: number): string =>
      `<Obj RefId="${refId}">${tn}<ToString>${bytes} B (${bytes} bytes)</ToString><Props><B N="IsUnlimited">false</B></Props></Obj>`;
    const id = `<Obj RefId="9"><TN RefId="2"><T>Microsoft.Exchange.Data.Directory.ADObjectId</T><T>System.Object</T></TN><ToString>contoso.com/Users/A</ToString><Props><S N="Name">A</S></Props></Obj>`;
    const xml =
      '<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04"><Obj RefId="0"><TN RefId="0"><T>Deserialized.Microsoft.Exchange.Data.Directory.Management.Mailbox</T></TN><MS>' +
      `<Obj N="A" RefId="1"><TN RefId="1"><T>Microsoft.Exchange.Data.ByteQuantifiedSize</T><T>System.ValueType</T></TN><ToString>1 B (1 bytes)</ToString></Obj>` +
      `<Obj N="B" RefId="3"><TNRef RefId="1" /><ToString>2 B (2 bytes)</ToString></Obj>` +
      // Unlimited<ByteQuantifiedSize>: its name holds both types; Unlimited wins, as before.
      size(
        4,
        '<TN RefId="3"><T>Microsoft.Exchange.Data.Unlimited`1[[Microsoft.Exchange.Data.ByteQuantifiedSize]]</T></TN>',
        3,
      ).replace('<Obj RefId="4">', '<Obj N="C" RefId="4">') +
      id.replace('<Obj RefId="9">', '<Obj N="D" RefId="9">') +
      '<Obj N="E" RefId="10"><TNRef RefId="2" /><ToString>contoso.com/Users/B</ToString><Props><S N="Name">B</S></Props></Obj>' +
      '<S N="F">plain (text)</S></MS></Obj></Objs>';
    const [raw] = deserializeClixml(xml) as Rec[];
    expect(psMeta(raw!['A'])!.typeNames).toBe(psMeta(raw!['B'])!.typeNames); // one shared list
    for (let round = 0; round < 2; round++) {
      const m = toExchangeValues<Rec>(raw);
      expect(m['A']).toEqual({ bytes: 1n, text: '1 B (1 bytes)' });
      expect(m['B']).toEqual({ bytes: 2n, text: '2 B (2 bytes)' });
      expect(m['C']).toEqual({ bytes: 3n, text: '3 B (3 bytes)' });
      expect(String(m['D'])).toBe('A');
      expect(String(m['E'])).toBe('B');
      expect(m['F']).toBe('plain (text)');
    }
  });

  it('objects from separate documents (one PSRP message each) with equal lists convert alike; 2,000 distinct lists too', () => {
    const doc = (tn: string, text: string): Rec =>
      (
        deserializeClixml(
          `<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04"><Obj RefId="0"><TN RefId="0">${tn}</TN><ToString>${text}</ToString><Props><B N="IsUnlimited">false</B></Props></Obj></Objs>`,
        ) as Rec[]
      )[0]!;
    const span = '<T>Microsoft.Exchange.Data.EnhancedTimeSpan</T><T>System.ValueType</T>';
    const a = doc(span, '1.00:00:00');
    const b = doc(span, '2.00:00:00');
    expect(psMeta(a)!.typeNames).not.toBe(psMeta(b)!.typeNames); // equal content, separate arrays
    expect(toExchangeValues<{ ticks: bigint }>(a).ticks).toBe(864_000_000_000n);
    expect(toExchangeValues<{ ticks: bigint }>(b).ticks).toBe(1_728_000_000_000n);
    // A server sending a new list per object: each still classified (past the cache's bound too).
    for (let i = 0; i < 2000; i++) {
      const kind = i % 2 ? 'Microsoft.Exchange.Data.ByteQuantifiedSize' : `Contoso.Other${i}`;
      const v = toExchangeValues(doc(`<T>${kind}</T><T>Contoso.Extra${i}</T>`, `${i} B (${i} bytes)`));
      if (i % 2) expect(v, String(i)).toEqual({ bytes: BigInt(i), text: `${i} B (${i} bytes)` });
      else expect(typeof v, String(i)).toBe('object');
    }
  });
});
