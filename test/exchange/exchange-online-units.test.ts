/** The pure parts of the Exchange Online transport: back-off, Retry-After, error bodies, values, endpoints. */
import { describe, expect, it } from 'vitest';
import {
  backoffDelay,
  exchangeOnlineEndpoint,
  fromExchangeOnlineJson,
  parseExchangeOnlineErrorBody,
  retryAfterMs,
} from '../../src/exchange/index.js';

describe('backoff shared by the pool and Exchange Online', () => {
  it('is full jitter under min(cap, base·2^(attempt-1))', () => {
    expect(backoffDelay(1, { backoffBaseMs: 100 }, () => 0.999)).toBeCloseTo(99.9);
    expect(backoffDelay(4, { backoffBaseMs: 100 }, () => 0.5)).toBe(400);
    expect(backoffDelay(30, { backoffBaseMs: 100, backoffMaxMs: 1000 }, () => 1)).toBe(1000);
    expect(backoffDelay(3, {}, () => 1)).toBe(2000);
  });

  it('reads Retry-After as seconds or an HTTP-date (RFC 9110 10.2.3)', () => {
    expect(retryAfterMs('7')).toBe(7000);
    expect(retryAfterMs(['2'])).toBe(2000);
    const now = Date.parse('Sat, 05 Dec 2026 14:00:00 GMT');
    expect(retryAfterMs('Sat, 05 Dec 2026 14:00:30 GMT', now)).toBe(30_000);
    expect(retryAfterMs('Sat, 05 Dec 2026 13:00:00 GMT', now)).toBe(0);
    expect(retryAfterMs(undefined)).toBeUndefined();
    expect(retryAfterMs('soon')).toBeUndefined();
  });
});

describe('Exchange Online error bodies', () => {
  it('takes the exception type from the first detail (<id>|<ExceptionType>|<text>)', () => {
    const body = JSON.stringify({
      error: {
        code: 'NotFound',
        message: 'Error executing cmdlet',
        details: [
          {
            code: 'Context',
            message:
              "ex6F9304|Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException|The operation couldn't be performed because object 'x|y' couldn't be found on 'AM0PR01A001DC01.EURPR01A001.prod.outlook.com'.",
          },
        ],
      },
    });
    expect(parseExchangeOnlineErrorBody(body)).toEqual({
      errorCode: 'NotFound',
      exceptionType: 'Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException',
      message:
        "The operation couldn't be performed because object 'x|y' couldn't be found on 'AM0PR01A001DC01.EURPR01A001.prod.outlook.com'.",
    });
  });

  it('is lenient with bodies that are not OData errors', () => {
    expect(parseExchangeOnlineErrorBody('\u0000\u0000')).toEqual({
      message: undefined,
      errorCode: undefined,
      exceptionType: undefined,
    });
    expect(parseExchangeOnlineErrorBody('{"error":{"code":"BadRequest","message":"plain"}}')).toEqual({
      message: 'plain',
      errorCode: 'BadRequest',
      exceptionType: undefined,
    });
    expect(parseExchangeOnlineErrorBody('{"error":{"details":[{"message":"no pipes here"}]}}').message).toBe(
      'no pipes here',
    );
  });
});

describe('Exchange Online values', () => {
  it('decodes the known shapes like CLIXML and keeps the rest raw', () => {
    const v = fromExchangeOnlineJson<Record<string, unknown>>({
      '@odata.type': '#Exchange.GenericHashTable',
      'ProhibitSendQuota@odata.type': '#String',
      ProhibitSendQuota: '99 GB (106,300,440,576 bytes)',
      IssueWarningQuota: 'Unlimited',
      RetainDeletedItemsFor: '14.00:00:00',
      WhenCreated: '2023-04-05T06:07:08.123Z',
      WhenChangedUTC: '2023-04-05T06:07:08+02:00',
      EmailAddresses: ['SMTP:a@contoso.com', 'smtp:b@contoso.com'],
      ItemCount: 12,
      Nested: { Size: '1 KB (1,024 bytes)', Other: null },
      Office: 'Paris',
      CustomAttribute1: '2023-04-05',
    });
    expect(Object.keys(v).some((k) => k.includes('@odata'))).toBe(false);
    expect(v['ProhibitSendQuota']).toEqual({ bytes: 106300440576n, text: '99 GB (106,300,440,576 bytes)' });
    expect(v['IssueWarningQuota']).toBe('Unlimited');
    expect(v['RetainDeletedItemsFor']).toMatchObject({ milliseconds: 14 * 86_400_000 });
    expect(v['WhenCreated']).toEqual(new Date('2023-04-05T06:07:08.123Z'));
    expect(v['WhenChangedUTC']).toEqual(new Date('2023-04-05T04:07:08Z'));
    expect(v['EmailAddresses']).toEqual(['SMTP:a@contoso.com', 'smtp:b@contoso.com']);
    expect(v['ItemCount']).toBe(12);
    expect(v['Nested']).toEqual({ Size: { bytes: 1024n, text: '1 KB (1,024 bytes)' }, Other: null });
    expect(v['Office']).toBe('Paris');
    expect(v['CustomAttribute1']).toBe('2023-04-05');
  });

  it('a property named __proto__ stays data', () => {
    const v = fromExchangeOnlineJson<Record<string, unknown>>(JSON.parse('{"__proto__":{"x":1}}'));
    expect(Object.getPrototypeOf(v)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(v, '__proto__')?.value).toEqual({ x: 1 });
  });
});

describe('documented v2.0 endpoints', () => {
  it('maps cmdlets to their endpoint, case-insensitively', () => {
    expect(exchangeOnlineEndpoint('get-mailbox')).toBe('Mailbox');
    expect(exchangeOnlineEndpoint('Set-Mailbox')).toBe('Mailbox');
    expect(exchangeOnlineEndpoint('Remove-MailboxFolderPermission')).toBe('MailboxFolderPermission');
    expect(exchangeOnlineEndpoint('Get-DynamicDistributionGroupMember')).toBe(
      'DynamicDistributionGroupMember',
    );
    expect(exchangeOnlineEndpoint('Get-OrganizationConfig')).toBe('OrganizationConfig');
    expect(exchangeOnlineEndpoint('Get-AcceptedDomain')).toBe('AcceptedDomain');
    expect(exchangeOnlineEndpoint('Get-MailboxStatistics')).toBeUndefined();
    expect(exchangeOnlineEndpoint('New-Mailbox')).toBeUndefined();
  });
});
