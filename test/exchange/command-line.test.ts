import { describe, expect, it } from 'vitest';
import { parseCommandLine } from '../../src/exchange/command-line.js';
import { InvalidArgumentError } from '../../src/index.js';

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(InvalidArgumentError);
    return (e as InvalidArgumentError).code;
  }
  throw new Error('expected an error');
}

describe('parseCommandLine', () => {
  it('parses the pipeline of the issue into typed Command objects', () => {
    expect(parseCommandLine('Get-Mailbox -ResultSize 10 | Set-Mailbox -HiddenFromAddressListsEnabled $true')).toEqual([
      { name: 'Get-Mailbox', arguments: [{ name: 'ResultSize', value: 10 }] },
      { name: 'Set-Mailbox', arguments: [{ name: 'HiddenFromAddressListsEnabled', value: true }] },
    ]);
  });

  it('reads quoted strings, escapes, positional arguments and -Param:value', () => {
    const [cmd] = parseCommandLine(
      `Set-Mailbox 'O''Brien' -DisplayName "Sean \`"Jr\`" O'Brien" -Confirm:$false -ResultSize:Unlimited -Note:'a b'`,
    );
    expect(cmd!.arguments).toEqual([
      { name: null, value: "O'Brien" },
      { name: 'DisplayName', value: 'Sean "Jr" O\'Brien' },
      { name: 'Confirm', value: false },
      { name: 'ResultSize', value: 'Unlimited' },
      { name: 'Note', value: 'a b' },
    ]);
  });

  it('types numbers like argument mode: int32, int64 as bigint, double, hex, multipliers', () => {
    const [cmd] = parseCommandLine('X -A 42 -B -7 -C 3000000000 -D 1.5 -E 0x10 -F 2GB -G 1.5KB -H 10abc');
    expect(cmd!.arguments.map((a) => a.value)).toEqual([42, -7, 3000000000n, 1.5, 16, 2147483648n, 1536, '10abc']);
  });

  it('reads comma arrays, $null, switches before parameters and at the end', () => {
    const [cmd] = parseCommandLine('Set-X -EmailAddresses a@x.com, b@x.com,c@x.com -Manager $null -Force -Verbose');
    expect(cmd!.arguments).toEqual([
      { name: 'EmailAddresses', value: ['a@x.com', 'b@x.com', 'c@x.com'] },
      { name: 'Manager', value: null },
      { name: 'Force', value: true },
      { name: 'Verbose', value: true },
    ]);
  });

  it('uses metadata to tell switches from parameters with values', () => {
    const isSwitch = (_c: string, p: string) => p === 'Force';
    expect(parseCommandLine('Remove-Mailbox -Force alice', { isSwitch })[0]!.arguments).toEqual([
      { name: 'Force', value: true },
      { name: null, value: 'alice' },
    ]);
    expect(parseCommandLine('Remove-Mailbox -Force alice')[0]!.arguments).toEqual([{ name: 'Force', value: 'alice' }]);
  });

  it('keeps wildcards, paths and identities as strings; ignores comments', () => {
    const [cmd] = parseCommandLine('Get-Recipient *@contoso.com contoso.com/Users/Alice # all of them');
    expect(cmd!.arguments.map((a) => a.value)).toEqual(['*@contoso.com', 'contoso.com/Users/Alice']);
  });

  it('refuses what needs the language, naming the column', () => {
    for (const line of [
      'Get-Mailbox | Where-Object { $_.Name -eq "a" }',
      'Get-Mailbox -Identity $me',
      'Get-Mailbox -Identity:$me',
      'Get-Mailbox -Identity "$me"',
      'Get-Mailbox -Identity "$(whoami)"',
      'Get-Mailbox (Get-User)',
      'Get-Mailbox; Get-User',
      'Get-Mailbox @{a=1}',
      'Get-Mailbox > out.txt',
      'Get-Mailbox 2>&1',
      '& Get-Mailbox',
      '$x = 1',
      'Get-Mailbox && Get-User',
    ]) {
      expect(code(() => parseCommandLine(line)), line).toBe('PSRP_COMMAND_LINE_NEEDS_LANGUAGE');
    }
    try {
      parseCommandLine('Get-Mailbox -Identity $me');
    } catch (e) {
      expect((e as Error).message).toContain('column 23');
      expect((e as Error).message).toContain('NoLanguage');
    }
  });

  it('reports syntax errors', () => {
    for (const line of ['', 'Get-Mailbox |', "Get-Mailbox 'open", 'Get-Mailbox "open', '| Get-Mailbox', 'Get-X -A a,', 'Get-X ,a']) {
      expect(code(() => parseCommandLine(line)), line).toBe('PSRP_COMMAND_LINE_SYNTAX');
    }
  });
});
