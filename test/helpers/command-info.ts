/** A ParameterInfo for tests: switches and arrays follow from the .NET type name. */
import type { ParameterInfo } from '../../src/exchange/index.js';

export const parameterInfo = (
  name: string,
  type = 'System.String',
  extra: Partial<ParameterInfo> = {},
): ParameterInfo => ({
  name,
  type,
  aliases: [],
  isSwitch: type.endsWith('SwitchParameter'),
  isCommon: false,
  isArray: type.endsWith('[]'),
  ...extra,
});
