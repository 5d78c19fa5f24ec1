/**
 * Issue 11: members of an object over its base. An XmlElement comes back as a container (<IE>, its
 * child nodes) with its attributes and text as <Props>; PowerShell's deserialized object exposes
 * those members (`.Value` for an attribute named Value), and so must ours. Real pwsh output, and
 * pwsh's own view of the deserialized object ([PSSerializer]::Deserialize) as the reference.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { psMeta, type RunspacePool } from '../../src/index.js';
import { deserializeObject } from '../../src/clixml/index.js';
import { openLocalPool } from '../helpers/pwsh.js';

let pool: RunspacePool;
beforeAll(async () => {
  pool = (await openLocalPool()).pool;
}, 60_000);
afterAll(async () => {
  await pool?.close();
});

const ELEMENT = `([xml]'<r Value="v" Name="n">t<c/></r>').DocumentElement`;

describe('members over a base object (real pwsh)', () => {
  it('exposes the <Props> of a container object as PowerShell does, and keeps it a clean array', async () => {
    const [el] = (await pool.powershell().addScript(ELEMENT).invoke()).output as (unknown[] &
      Record<string, unknown>)[];
    // What PowerShell exposes on the same object after a serialization round trip.
    const names = (
      await pool
        .powershell()
        .addScript(
          `$s = [System.Management.Automation.PSSerializer]::Serialize(${ELEMENT}, 1); [System.Management.Automation.PSSerializer]::Deserialize($s).psobject.Properties | ForEach-Object { "$($_.Name)=$($_.Value)" }`,
        )
        .invoke()
    ).output as string[];
    expect(names).toEqual(['Value=v', 'Name=n', '#text=t', 'c=']);
    expect(Object.keys(psMeta(el)!.properties!)).toEqual(names.map((n) => n.slice(0, n.indexOf('='))));
    expect(el!['Value']).toBe('v');
    expect(el!['Name']).toBe('n');
    expect(el!['#text']).toBe('t');
    expect(Array.isArray(el)).toBe(true);
    expect(psMeta(el)!.container).toBe('IE');
    expect(Object.keys(el!)).toEqual(Object.keys([...el!]));
    expect(JSON.parse(JSON.stringify(el))).toHaveLength(el!.length);
  });

  it("an object-valued base lends its members, without overriding the object's own", () => {
    const v = deserializeObject(
      '<Obj RefId="0"><TN RefId="0"><T>Wrapper</T></TN><Obj RefId="1"><Props><S N="Value">base</S><S N="Name">base-name</S></Props></Obj><MS><S N="Name">own</S></MS></Obj>',
    ) as Record<string, unknown>;
    expect(v['Value']).toBe('base');
    expect(v['Name']).toBe('own');
  });
});
