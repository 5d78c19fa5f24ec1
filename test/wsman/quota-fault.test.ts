import { describe, expect, it } from 'vitest';
import { WSManFaultError } from '../../src/errors.js';
import { parseResponse } from '../../src/wsman/index.js';
import {
  COMMANDS_PER_SHELL_MESSAGE,
  SHELLS_PER_USER_MESSAGE,
  quotaFaultEnvelope,
} from '../helpers/quota-fault.js';

function fault(xml: string): WSManFaultError {
  try {
    parseResponse(xml);
  } catch (e) {
    expect(e).toBeInstanceOf(WSManFaultError);
    return e as WSManFaultError;
  }
  throw new Error('no fault');
}

describe('WS-Man quota faults (MS-WSMV 2.2.4.43 WSManFault codes)', () => {
  it('MaxConcurrentCommandsPerShell has its own code and a hint about releasing commands', () => {
    const f = fault(quotaFaultEnvelope('w:InternalError', 2150859241, COMMANDS_PER_SHELL_MESSAGE));
    expect(f.code).toBe('PSRP_WSMAN_COMMAND_QUOTA_EXCEEDED');
    expect(f.wsmanFaultCode).toBe(2150859241);
    expect(f.message).toContain('maximum number of concurrent commands per shell');
    expect(f.message).toContain('MaxConcurrentCommandsPerShell');
    expect(f.message).toContain('Signal terminate');
    expect(f.message).not.toContain('Exchange allows 18');
  });

  it('is recognised by its text when the WSManFault carries no code', () => {
    expect(fault(quotaFaultEnvelope('w:InternalError', undefined, COMMANDS_PER_SHELL_MESSAGE)).code).toBe(
      'PSRP_WSMAN_COMMAND_QUOTA_EXCEEDED',
    );
  });

  it('shells per user and the other per-user quotas stay PSRP_WSMAN_QUOTA_EXCEEDED, without the commands hint', () => {
    for (const code of [2150859173, 2150859174, 2150859179, 2150859236, 2150859240, 2150858815]) {
      const f = fault(quotaFaultEnvelope('w:QuotaLimit', code, SHELLS_PER_USER_MESSAGE));
      expect(f.code, String(code)).toBe('PSRP_WSMAN_QUOTA_EXCEEDED');
      expect(f.message).not.toContain('MaxConcurrentCommandsPerShell');
    }
  });
});
