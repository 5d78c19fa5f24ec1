/**
 * Issue 11: GET_COMMAND_METADATA's filters (MS-PSRP 2.2.2.14): CommandType, Namespace (module
 * names) and ArgumentList, answered by real pwsh (out of process).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidArgumentError, type RunspacePool } from '../../src/index.js';
import { deserializeObject } from '../../src/clixml/index.js';
import { getCommandMetadataData } from '../../src/psrp/messages.js';
import { openLocalPool } from '../helpers/pwsh.js';

type Meta = {
  Name: string;
  CommandType: unknown;
  Namespace: string;
  Parameters: Record<string, unknown> | null;
};

let pool: RunspacePool;
beforeAll(async () => {
  pool = (await openLocalPool()).pool;
}, 60_000);
afterAll(async () => {
  await pool?.close();
});

const meta = async (...args: Parameters<RunspacePool['getCommandMetadata']>): Promise<Meta[]> =>
  (await pool.getCommandMetadata(...args)) as Meta[];

describe('getCommandMetadata filters on real pwsh', () => {
  it('commandTypes: only the asked types come back', async () => {
    const aliases = await meta(['g*'], { commandTypes: ['Alias'] });
    expect(aliases.length).toBeGreaterThan(0);
    expect(aliases.map((m) => String(m.CommandType))).toEqual(aliases.map(() => 'Alias'));
    expect(aliases.map((m) => m.Name)).toContain('gci');
    const cmdlets = await meta(['g*', 'Get-*'], { commandTypes: ['Cmdlet'] });
    expect(cmdlets.length).toBeGreaterThan(0);
    expect(new Set(cmdlets.map((m) => String(m.CommandType)))).toEqual(new Set(['Cmdlet']));
    // The default (Alias, Function, Filter, Cmdlet) has both.
    const both = new Set((await meta(['g*'])).map((m) => String(m.CommandType)));
    expect(both.has('Alias') && both.has('Cmdlet')).toBe(true);
  });

  it('modules (Namespace): only commands of those modules', async () => {
    const utility = await meta(['*'], { modules: ['Microsoft.PowerShell.Utility'] });
    expect(utility.map((m) => m.Name)).toContain('Add-Member');
    expect(new Set(utility.map((m) => m.Namespace))).toEqual(new Set(['Microsoft.PowerShell.Utility']));
    const any = await meta(['Get-*']);
    expect(new Set(any.map((m) => m.Namespace)).size).toBeGreaterThan(1);
  });

  it('argumentList: dynamic parameters follow the provider of the path (Get-Command -ArgumentList)', async () => {
    const fs = await meta(['Get-ChildItem'], { commandTypes: ['Cmdlet'], argumentList: ['/'] });
    const env = await meta(['Get-ChildItem'], { commandTypes: ['Cmdlet'], argumentList: ['env:'] });
    expect(Object.keys(fs[0]!.Parameters!)).toEqual(expect.arrayContaining(['File', 'Directory', 'Hidden']));
    expect(Object.keys(env[0]!.Parameters!)).not.toContain('File');
  });

  it('sends the flags as .NET writes them, and refuses an unknown or empty type list', () => {
    const msg = (types: Parameters<typeof getCommandMetadataData>[1]): Record<string, unknown> =>
      deserializeObject(getCommandMetadataData(['x'], types)) as Record<string, unknown>;
    expect(String(msg({})['CommandType'])).toBe('Alias, Function, Filter, Cmdlet');
    expect(String(msg({ commandTypes: ['Cmdlet', 'Alias'] })['CommandType'])).toBe('Alias, Cmdlet');
    expect(String(msg({ commandTypes: ['All'] })['CommandType'])).toBe('All');
    expect(msg({})['Namespace']).toEqual(['']);
    expect(msg({})['ArgumentList']).toBeNull();
    expect(() => getCommandMetadataData(['x'], { commandTypes: [] })).toThrow(InvalidArgumentError);
    expect(() => getCommandMetadataData(['x'], { commandTypes: ['Cmdlets' as 'Cmdlet'] })).toThrow(
      InvalidArgumentError,
    );
  });
});
