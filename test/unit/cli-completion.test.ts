import { describe, expect, it } from 'vitest';
import { completeLine } from '../../src/cli/completion.js';
import type { CommandInfo } from '../../src/exchange/index.js';
import { parameterInfo } from '../helpers/command-info.js';

const param = parameterInfo;
const commands: CommandInfo[] = [
  {
    name: 'Get-Mailbox',
    commandType: 'Function',
    parameters: [
      param('Identity'),
      param('ResultSize', 'System.Object'),
      param('IgnoreDefaultScope', 'System.Management.Automation.SwitchParameter'),
    ],
    parameterSets: [],
  },
  {
    name: 'Get-MailboxStatistics',
    commandType: 'Function',
    parameters: [param('Identity')],
    parameterSets: [],
  },
  {
    name: 'Set-Mailbox',
    commandType: 'Function',
    parameters: [
      param('Identity'),
      param('HiddenFromAddressListsEnabled', 'System.Boolean'),
      param('Type', 'X', { enumValues: ['Regular', 'Shared', 'Room'] }),
    ],
    parameterSets: [],
  },
  {
    name: 'gmb',
    commandType: 'Alias',
    resolvedCommandName: 'Get-Mailbox',
    parameters: [],
    parameterSets: [],
  },
];

describe('shell tab completion', () => {
  it('completes command names at the start of each pipeline stage, case-insensitively', () => {
    expect(completeLine('get-mail', commands)).toEqual([
      ['Get-Mailbox', 'Get-MailboxStatistics'],
      'get-mail',
    ]);
    expect(completeLine('Get-Mailbox -ResultSize 5 | Set-', commands)).toEqual([['Set-Mailbox'], 'Set-']);
    expect(completeLine('', commands)[0]).toHaveLength(4);
    expect(completeLine('Nope', commands)).toEqual([[], 'Nope']);
  });

  it('completes parameter names of the command of the stage, also through an alias', () => {
    expect(completeLine('Get-Mailbox -Re', commands)).toEqual([['-ResultSize'], '-Re']);
    expect(completeLine('gmb -i', commands)).toEqual([['-Identity', '-IgnoreDefaultScope'], '-i']);
    expect(completeLine('Get-Mailbox | Set-Mailbox -Hid', commands)).toEqual([
      ['-HiddenFromAddressListsEnabled'],
      '-Hid',
    ]);
    expect(completeLine("Get-Mailbox -Filter 'a | b' -Id", commands)).toEqual([['-Identity'], '-Id']);
  });

  it('completes values of booleans and enums, nothing for free text', () => {
    expect(completeLine('Set-Mailbox -HiddenFromAddressListsEnabled $t', commands)).toEqual([
      ['$true'],
      '$t',
    ]);
    expect(completeLine('Set-Mailbox -Type R', commands)).toEqual([['Regular', 'Room'], 'R']);
    expect(completeLine('Set-Mailbox -Identity a', commands)).toEqual([[], 'a']);
  });
});
