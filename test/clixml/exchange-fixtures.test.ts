import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PSEnumValue, deserializeClixml, psMeta, serializeClixml } from '../../src/clixml/index.js';
import { EXCHANGE_CLIXML_DIR } from '../helpers/recordings.js';

type Rec = Record<string, unknown>;
const load = (name: string): Rec[] => deserializeClixml(readFileSync(join(EXCHANGE_CLIXML_DIR, name), 'utf8')) as Rec[];

/** Deep comparison that also compares metadata (type names, ToString, member kinds, containers). */
function sameWithMeta(a: unknown, b: unknown, seen = new Map<unknown, unknown>(), path = '$'): void {
  if (a === null || typeof a !== 'object') {
    expect(b, path).toEqual(a);
    return;
  }
  if (seen.has(a)) {
    expect(seen.get(a), `${path} (shared reference)`).toBe(b);
    return;
  }
  seen.set(a, b);
  const ma = psMeta(a);
  const mb = psMeta(b);
  expect(mb?.typeNames, `${path} typeNames`).toEqual(ma?.typeNames);
  expect(mb?.toStringValue, `${path} ToString`).toEqual(ma?.toStringValue);
  expect(mb?.adapted, `${path} adapted`).toEqual(ma?.adapted);
  expect(mb?.container, `${path} container`).toEqual(ma?.container);
  if (a instanceof Uint8Array || a instanceof PSEnumValue || a instanceof Date) {
    expect(b, path).toEqual(a);
    return;
  }
  expect(Object.keys(b as object), `${path} keys`).toEqual(Object.keys(a));
  for (const k of Object.keys(a)) sameWithMeta((a as Rec)[k], (b as Rec)[k], seen, `${path}.${k}`);
}

describe('real Exchange 2019 Export-Clixml files', () => {
  const files = readdirSync(EXCHANGE_CLIXML_DIR).filter((f) => f.endsWith('.xml'));

  it('has the six fixture files', () => {
    expect(files.length).toBe(6);
  });

  it('Get-ExchangeServer: name, FQDN, AdminDisplayVersion, type names', () => {
    const [server] = load('E19-GetExchangeServer.xml');
    expect(server!['Name']).toBe('SOLO-E19A');
    expect(server!['Fqdn']).toBe('Solo-E19A.Solo.com');
    const version = server!['AdminDisplayVersion'] as Rec;
    expect(psMeta(version)!.toStringValue).toBe('Version 15.2 (Build 986.5)');
    expect(version).toMatchObject({ Major: 15, Minor: 2, Build: 986, Revision: 5, FilePatchLevelDescription: null });
    expect(psMeta(server)!.typeNames[0]).toBe('Microsoft.Exchange.Data.Directory.Management.ExchangeServer');
    expect(psMeta(server)!.typeNames.at(-1)).toBe('System.Object');
  });

  it('Get-MailboxServer: Unlimited sizes with and without a value, enums', () => {
    const [mbx] = load('E19-GetMailboxServer.xml');
    const limited = Object.values(mbx!).find(
      (v) => psMeta(v)?.typeNames[0]?.startsWith('Microsoft.Exchange.Data.Unlimited') && (v as Rec)['IsUnlimited'] === false,
    ) as Rec;
    expect(limited['Value']).toBe('500 MB (524,288,000 bytes)');
    expect(psMeta(limited)!.toStringValue).toBe('500 MB (524,288,000 bytes)');
    const unlimited = Object.values(mbx!).find((v) => (v as Rec | null)?.['IsUnlimited'] === true) as Rec;
    expect(psMeta(unlimited)!.toStringValue).toBe('Unlimited');
    expect('Value' in unlimited).toBe(false);
    const enums = Object.values(mbx!).filter((v): v is PSEnumValue => v instanceof PSEnumValue);
    expect(enums.length).toBeGreaterThan(0);
    expect(enums.every((e) => typeof e.value === 'number' && e.name.length > 0)).toBe(true);
  });

  it('Get-DynamicDistributionGroup: multi-valued proxy addresses, ADObjectId, PSComputerName', () => {
    const groups = load('E19-GetDynamicDistributionGroupPfMailboxes1.xml');
    expect(groups.length).toBe(2);
    const g = groups[0]!;
    const emails = g['EmailAddresses'] as unknown[];
    expect(Array.isArray(emails)).toBe(true);
    expect(psMeta(emails)!.typeNames[0]).toBe('Microsoft.Exchange.Data.ProxyAddressCollection');
    expect(emails.map((e) => psMeta(e)!.toStringValue).some((s) => s?.startsWith('SMTP:'))).toBe(true);
    expect(g['AcceptMessagesOnlyFrom']).toEqual([]);
    expect(psMeta(g['AcceptMessagesOnlyFrom'])!.typeNames[0]).toMatch(/^Microsoft\.Exchange\.Data\.Directory\.ADMultiValuedProperty/);
    const container = g['RecipientContainer'] as Rec;
    expect(typeof container['DistinguishedName']).toBe('string');
    expect(container['DistinguishedName']).toMatch(/^(OU|CN|DC)=/);
    expect(g['PSComputerName']).toBe('vnext-e19a.vnext.local');
    expect(psMeta(g)!.extended).toContain('PSComputerName');
    expect(g['RunspaceId']).toBe('8cd61acc-b305-4a5a-b976-53af96710d8e');
  });

  it('Get-AcceptedDomain: a Ref resolves to the very same object', () => {
    const [d] = load('E19-GetAcceptedDomain.xml');
    // <Ref N="Id" RefId="4" /> points at the Identity object defined earlier in the same document.
    expect(d!['Id']).toBe(d!['Identity']);
    expect(typeof (d!['Identity'] as Rec)['DistinguishedName']).toBe('string');
  });

  it('RPS Get-ExchangeCertificate: _x000D__x000A_ escapes decoded', () => {
    const certs = load('RPS-GetExchangeCertificateBroken.xml');
    expect(certs.length).toBeGreaterThan(1);
    const text = psMeta(certs[0])!.toStringValue!;
    expect(text).toContain('[Subject]\r\n  DC=Windows Azure CRP Certificate Generator\r\n');
    expect(text).not.toContain('_x000D_');
    expect(psMeta(certs[0])!.typeNames[0]).toMatch(/^Deserialized\./);
  });

  it('every file round-trips through serializeClixml with values and metadata intact', () => {
    for (const f of files) {
      const first = load(f);
      const xml = serializeClixml(first, { multiple: true });
      const second = deserializeClixml(xml);
      expect(second.length, f).toBe(first.length);
      sameWithMeta(first, second);
      // And the exact-type view reproduces itself byte for byte on a second pass.
      const typed = deserializeClixml(readFileSync(join(EXCHANGE_CLIXML_DIR, f), 'utf8'), { preserveTypes: true });
      const once = serializeClixml(typed, { multiple: true });
      expect(serializeClixml(deserializeClixml(once, { preserveTypes: true }), { multiple: true }), f).toBe(once);
    }
  });
});
