import { describe, expect, it } from 'vitest';
import {
  camelName,
  generateCommandModule,
  mergeShowCommandInfo,
  parseCommandMetadata,
  tsOutputType,
  tsType,
  type CommandInfo,
} from '../../src/exchange/index.js';
import { parameterInfo } from '../helpers/command-info.js';

const p = parameterInfo;

describe('generateCommandModule', () => {
  it('makes one union member per parameter set with that set mandatory parameters required', () => {
    const cmd: CommandInfo = {
      name: 'Get-MailboxStatistics',
      commandType: 'Cmdlet',
      parameters: [
        p('Identity', 'Microsoft.Exchange.Configuration.Tasks.GeneralMailboxOrMailUserIdParameter'),
        p('Database', 'System.String'),
        p('Archive', 'System.Management.Automation.SwitchParameter'),
        p('Verbose', 'System.Management.Automation.SwitchParameter', { isCommon: true }),
      ],
      parameterSets: [
        {
          name: 'Identity',
          isDefault: true,
          parameters: [
            { name: 'Identity', mandatory: true, position: 0, valueFromPipeline: true },
            { name: 'Archive', mandatory: false, position: undefined, valueFromPipeline: false },
          ],
        },
        {
          name: 'Database',
          isDefault: false,
          parameters: [{ name: 'Database', mandatory: true, position: undefined, valueFromPipeline: false }],
        },
      ],
    };
    const src = generateCommandModule([cmd]);
    expect(src).toContain('export type GetMailboxStatisticsParameters =');
    expect(src).toMatch(
      /Parameter set Identity \(default\) \*\/\n {2}\| \{\n(.*\n)* {6}readonly identity: string;\n(.*\n)* {6}readonly archive\?: boolean;\n {4}\}/,
    );
    expect(src).toMatch(
      /Parameter set Database \*\/\n {2}\| \{\n(.*\n)* {6}readonly database: string;\n {4}\}/,
    );
    expect(src).not.toContain('verbose');
    // Every set has a mandatory parameter, so the argument is required.
    expect(src).toContain('getMailboxStatistics(parameters: GetMailboxStatisticsParameters)');
  });

  it('leaves out aliases and session plumbing, names functions and parameters in camelCase', () => {
    const src = generateCommandModule([
      {
        name: 'gcm',
        commandType: 'Alias',
        resolvedCommandName: 'Get-Command',
        parameters: [],
        parameterSets: [],
      },
      { name: 'Get-Command', commandType: 'Cmdlet', parameters: [], parameterSets: [] },
      {
        name: 'Get-Mailbox',
        commandType: 'Function',
        parameters: [p('ResultSize', 'Microsoft.Exchange.Data.Unlimited`1[System.UInt32]')],
        parameterSets: [],
      },
    ]);
    expect(src).toContain('getMailbox(parameters?: GetMailboxParameters)');
    expect(src).toContain('readonly resultSize?: string;');
    expect(src).not.toMatch(/getCommand|gcm/);
    expect(camelName('Get-DistributionGroupMember')).toBe('getDistributionGroupMember');
    expect(camelName('Delete')).toBe('delete_');
    expect(camelName('2FA')).toBe('_2FA');
  });

  it('maps .NET types to TypeScript', () => {
    expect(tsType(p('A', 'System.Int32'))).toBe('number');
    expect(tsType(p('A', 'System.Int64'))).toBe('number | bigint');
    expect(tsType(p('A', 'System.String[]'))).toBe('readonly (string)[]');
    expect(tsType(p('A', 'System.Object'))).toBe('unknown');
    expect(tsType(p('A', 'System.Management.Automation.SwitchParameter'))).toBe('boolean');
    expect(tsType({ ...p('A', 'Some.Enum'), enumValues: ['Low', 'High'] })).toBe('"Low" | "High"');
    expect(tsType(p('A', 'Microsoft.Exchange.Data.MultiValuedProperty`1[System.String]'))).toBe(
      'string | readonly string[]',
    );
  });

  it('parses raw metadata and keeps only granted parameters from -ShowCommandInfo', () => {
    const info = parseCommandMetadata({
      Name: 'Set-Mailbox',
      CommandType: 'Function',
      Parameters: {
        Identity: { Name: 'Identity', ParameterType: 'System.String', Aliases: [], SwitchParameter: false },
      },
    })!;
    const merged = mergeShowCommandInfo(info, {
      ParameterSets: [
        {
          Name: '__AllParameterSets',
          IsDefault: false,
          Parameters: [
            {
              Name: 'Identity',
              IsMandatory: true,
              Position: 0,
              ValueFromPipeline: true,
              ParameterType: { IsEnum: false },
            },
            {
              Name: 'Hidden',
              IsMandatory: true,
              Position: -2147483648,
              ValueFromPipeline: false,
              ParameterType: { IsEnum: false },
            },
          ],
        },
      ],
    });
    expect(merged.parameterSets[0]!.parameters).toEqual([
      { name: 'Identity', mandatory: true, position: 0, valueFromPipeline: true },
    ]);
    expect(parseCommandMetadata({ nope: 1 })).toBeUndefined();
    // OutputType (what real pwsh sends for Get-Date): a list of type names; none for Exchange's functions.
    expect(
      parseCommandMetadata({
        Name: 'Get-Date',
        CommandType: 'Cmdlet',
        OutputType: ['System.String', 'System.DateTime'],
        Parameters: {},
      })!.outputTypes,
    ).toEqual(['System.String', 'System.DateTime']);
    expect(info.outputTypes).toBeUndefined();
    expect(tsOutputType(['System.String', 'System.DateTime'])).toBe('string | Date');
    expect(tsOutputType(['Microsoft.Exchange.Data.Directory.Management.Mailbox'])).toBe('CommandOutput');
    expect(tsOutputType(undefined)).toBe('CommandOutput');
    expect(tsType(p('Password', 'System.Security.SecureString'))).toBe('PSSecureString | string');
  });
});
