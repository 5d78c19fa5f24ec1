/**
 * The redaction every error built from a response goes through (src/internal/secret-redactor.ts):
 * each form of each credential sent — Basic and NTLM/Negotiate/Kerberos tokens alike — becomes
 * `[redacted]` in text and in every string field of an error and its causes.
 */
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { TransportError, WSManFaultError } from '../../src/errors.js';
import { SecretRedactor } from '../../src/internal/secret-redactor.js';

const PASSWORD = 'p&ss<w>rd:with"colon';
const PAIR = `alice@contoso.test:${PASSWORD}`;
const BASIC = `Basic ${Buffer.from(PAIR).toString('base64')}`;
// A binary token, as NTLM and Kerberos send (an NTLMSSP NEGOTIATE header and random bytes).
const NTLM = `Negotiate ${Buffer.concat([Buffer.from('NTLMSSP\0\x01\0\0\0'), Buffer.from([0xb7, 0x82, 0x08, 0xe2, 0xff, 0x00, 0x9c])]).toString('base64')}`;

describe('SecretRedactor', () => {
  const r = new SecretRedactor();
  r.add(BASIC);
  r.add(NTLM);

  it('redacts the header, its token, the decoded pair, the password and their XML-escaped spellings', () => {
    const escaped = PASSWORD.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
    const text = `h=${BASIC} t=${BASIC.slice(6)} pair=${PAIR} pw=${PASSWORD} xml=${escaped} ntlm=${NTLM} tok=${NTLM.slice(10)}`;
    const out = r.redact(text);
    for (const secret of [BASIC, BASIC.slice(6), PAIR, PASSWORD, escaped, NTLM, NTLM.slice(10)])
      expect(out).not.toContain(secret);
    expect(out).toContain('pw=[redacted]');
    expect(out).toContain('tok=[redacted]');
  });

  it('leaves text without secrets alone, and does not decode binary tokens into bogus secrets', () => {
    expect(r.redact('The shell was not found on the server.')).toBe('The shell was not found on the server.');
    expect(r.size).toBeLessThan(20);
  });

  it('scrubs message, stack, every string field and the cause chain of an error', () => {
    const cause = new TransportError(`inner ${PASSWORD}`, { responseExcerpt: `excerpt ${PAIR}` });
    const err = new WSManFaultError(`outer ${BASIC}`, {
      reason: `reason ${PASSWORD}`,
      wsmanMessage: `msg ${NTLM}`,
      machine: PASSWORD,
      cause,
    });
    r.scrub(err);
    const shown = `${inspect(err, { depth: 10 })} ${JSON.stringify(err)} ${err.stack} ${cause.stack}`;
    for (const secret of [BASIC, PAIR, PASSWORD, NTLM]) expect(shown).not.toContain(secret);
    expect(err.reason).toBe('reason [redacted]');
    expect(cause.responseExcerpt).toBe('excerpt [redacted]');
  });
});
