import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectExchange, exchangeUri } from '../../src/exchange/index.js';
import { startLab, type Lab } from '../../src/lab/lab-server.js';
import { requirePwsh } from '../helpers/pwsh.js';

describe('exchangeUri', () => {
  it('builds /PowerShell/ with Exchange connection-URI options', () => {
    expect(exchangeUri({ server: 'cas.contoso.com' }).href).toBe('https://cas.contoso.com/PowerShell/');
    const u = exchangeUri({ server: 'cas.contoso.com', serializationLevel: 'Full', exchClientVer: '15.2.1544.4', targetServer: 'EXCH02', email: 'a@contoso.com', delegatedOrg: 'fabrikam.onmicrosoft.com' });
    expect(Object.fromEntries(u.searchParams)).toEqual({
      serializationLevel: 'Full', ExchClientVer: '15.2.1544.4', DelegatedOrg: 'fabrikam.onmicrosoft.com', email: 'a@contoso.com', TargetServer: 'EXCH02',
    });
    expect(() => exchangeUri({ server: 'https://cas/PowerShell' })).toThrow(expect.objectContaining({ code: 'PSRP_INVALID_ARGUMENT' }));
    expect(() => exchangeUri({ server: 'cas', exchClientVer: '15' })).toThrow(expect.objectContaining({ code: 'PSRP_INVALID_ARGUMENT' }));
    expect(() => exchangeUri({})).toThrow(expect.objectContaining({ code: 'PSRP_INVALID_ARGUMENT' }));
  });
});

describe('connectExchange against the lab', () => {
  let lab: Lab;
  beforeAll(async () => {
    requirePwsh();
    lab = await startLab({ mailboxCount: 100 });
  }, 60_000);
  afterAll(async () => {
    await lab?.close();
  });

  it('invokes, streams and runs command lines as server-side pipelines', async () => {
    await using ex = await connectExchange({ uri: lab.exchangeUrl, serializationLevel: 'Partial', credential: { username: 'admin', password: lab.users['admin']! }, ca: lab.ca });
    const one = await ex.invoke('Get-Mailbox', { Identity: 'bob.smith' });
    expect((one.output[0] as Record<string, unknown>)['DisplayName']).toBe('Bob Smith');
    // Exchange values arrive converted (opt out with convertValues: false).
    expect((one.output[0] as Record<string, unknown>)['ProhibitSendQuota']).toEqual({ bytes: 53150220288n, text: '49.5 GB (53,150,220,288 bytes)' });
    expect((one.output[0] as Record<string, unknown>)['RetainDeletedItemsFor']).toMatchObject({ ticks: 12_096_000_000_000n });
    const names: string[] = [];
    for await (const m of ex.stream<{ Name: string }>('Get-Mailbox', { ResultSize: 'Unlimited' })) names.push(m.Name);
    expect(names).toHaveLength(100);
    const set = await ex.run("Get-Mailbox -Filter \"Department -eq 'IT'\" -ResultSize 2 | Set-Mailbox -Office Remote -Confirm:$false");
    expect(set.errors).toEqual([]);
    const moved = await ex.invoke('Get-Mailbox', { Filter: "Office -eq 'Remote'" });
    expect(moved.output).toHaveLength(2);
    await expect(ex.run('Get-Mailbox | Where-Object { $_.Name -like "A*" }')).rejects.toMatchObject({ code: 'PSRP_COMMAND_LINE_NEEDS_LANGUAGE' });
  }, 120_000);
});
