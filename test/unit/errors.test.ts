import { describe, expect, it } from 'vitest';
import { InvalidStateError, ProtocolError, PsrpError, WSManFaultError } from '../../src/index.js';

describe('errors', () => {
  it('carries a stable code and structured fields', () => {
    const e = new InvalidStateError('invoke', 'Closed', ['Opened']);
    expect(e).toBeInstanceOf(PsrpError);
    expect(e.code).toBe('PSRP_INVALID_STATE');
    expect(e.message).toBe('Cannot invoke: state is Closed, expected Opened');
    expect(e.name).toBe('InvalidStateError');
  });
  it('keeps cause and custom codes', () => {
    const cause = new Error('inner');
    const e = new ProtocolError('bad fragment', { code: 'PSRP_FRAGMENT_TRUNCATED', cause, fragmentId: 3n });
    expect(e.cause).toBe(cause);
    expect(e.code).toBe('PSRP_FRAGMENT_TRUNCATED');
    expect(e.fragmentId).toBe(3n);
    const f = new WSManFaultError('timeout', { wsmanFaultCode: 2150858793 });
    expect(f.code).toBe('PSRP_WSMAN_FAULT');
    expect(f.wsmanFaultCode).toBe(2150858793);
  });
});
