/**
 * connectExchangeOnline against the lab's Exchange Online surface (`/adminapi/`, real pwsh behind
 * it, the same fake organisation as /PowerShell/), with each documented behaviour switched on.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  generateCommandModule,
  getCommandInfo,
  connectExchange,
  connectExchangeOnline,
  ExchangeOnlineError,
  ExchangeSessionPool,
  type ConnectExchangeOnlineOptions,
  type ExchangeCommandSession,
  type ExchangeOnlineThrottleEvent,
} from '../../src/exchange/index.js';
import { startLab, type Lab } from '../../src/lab/lab-server.js';
import { requirePwsh } from '../helpers/pwsh.js';

let lab: Lab;
beforeAll(async () => {
  requirePwsh();
  lab = await startLab({ mailboxCount: 60 });
}, 60_000);
afterAll(async () => {
  await lab?.close();
});
beforeEach(() => {
  Object.assign(lab.exo.behaviours, {
    pageSize: 1000,
    throttleNext: 0,
    retryAfterSeconds: 1,
    serverErrorNext: 0,
    nulBodyFor403: true,
    redirectToHost: undefined,
  });
});

const options = (extra: Partial<ConnectExchangeOnlineOptions> = {}): ConnectExchangeOnlineOptions => ({
  tenantId: lab.exo.tenantId,
  token: () => lab.exo.issueToken(),
  baseUrl: lab.exo.baseUrl,
  ca: lab.ca,
  backoffBaseMs: 10,
  ...extra,
});
const n = (k: string): number => lab.exo.counts.get(k) ?? 0;
const last = () => lab.exo.seen[lab.exo.seen.length - 1]!;
async function caught(p: Promise<unknown>): Promise<ExchangeOnlineError> {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(ExchangeOnlineError);
  return e as ExchangeOnlineError;
}

describe('connectExchangeOnline: the documented v2.0 API', () => {
  it('runs Get-Mailbox on the Mailbox endpoint and decodes Exchange values', async () => {
    await using ex = await connectExchangeOnline(options());
    const r = await ex.invoke('Get-Mailbox', { ResultSize: 12 });
    expect(last().path).toBe(`/adminapi/v2.0/${lab.exo.tenantId}/Mailbox`);
    expect(last().anchorMailbox).toBe(
      `APP:SystemMailbox{bb558c35-97f1-4cb9-8ff7-d53741dc928c}@${lab.exo.tenantId}`,
    );
    expect(last().prefer).toBe('odata.maxpagesize=1000');
    expect(last().cmdletHeader).toBeUndefined();
    expect(r.output).toHaveLength(12);
    const alice = r.output[0] as Record<string, unknown>;
    expect(alice['PrimarySmtpAddress']).toBe('alice.smith@contoso.com');
    expect(alice['ProhibitSendQuota']).toBe('Unlimited');
    expect(alice['IssueWarningQuota']).toEqual({ bytes: 1048576n, text: '1 MB (1,048,576 bytes)' });
    expect(alice['WhenCreated']).toEqual(new Date('2020-01-01T00:00:00Z'));
    expect(alice['EmailAddresses']).toContain('SMTP:alice.smith@contoso.com');
    expect(Object.keys(alice).some((k) => k.startsWith('@odata'))).toBe(false);
    const bob = (r.output[1] as Record<string, unknown>)['ProhibitSendQuota'] as { bytes: bigint };
    expect(bob.bytes).toBe(53150220288n);
  }, 60_000);

  it('anchors a request on the mailbox it names and applies $select', async () => {
    await using ex = await connectExchangeOnline(options());
    const r = await ex.invoke(
      'get-mailbox',
      { Identity: 'bob.okafor@contoso.com' },
      { select: ['DisplayName', 'Database'] },
    );
    expect(last().anchorMailbox).toBe('UPN:bob.okafor@contoso.com');
    expect(last().cmdlet).toBe('Get-Mailbox');
    expect(r.output).toEqual([{ DisplayName: 'Bob Okafor', Database: 'DB6' }]);
  }, 60_000);

  it('refuses a cmdlet no v2.0 endpoint serves, naming the beta option, without a request', async () => {
    await using ex = await connectExchangeOnline(options());
    const before = n('request');
    const e = await caught(ex.invoke('Get-MailboxStatistics', { Identity: 'alice.smith' }));
    expect(e.code).toBe('PSRP_EXO_NOT_ON_V2');
    expect(e.message).toContain('unsupportedBetaInvokeCommand: true');
    expect(n('request')).toBe(before);
  });

  it('pages: streams 60 mailboxes in pages of 7, fetching a page only when the consumer needs it', async () => {
    lab.exo.behaviours.pageSize = 7;
    await using ex = await connectExchangeOnline(options());
    const pages = n('page');
    const it = ex.stream<{ Alias: string }>('Get-Mailbox', { ResultSize: 'Unlimited' });
    const firstThree: string[] = [];
    for await (const m of it) {
      firstThree.push(m.Alias);
      if (firstThree.length === 3) break;
    }
    expect(firstThree).toEqual(['alice.smith', 'bob.smith', 'chen.smith']);
    expect(n('page') - pages).toBe(1); // backpressure: the second page was never asked for
    const all = await ex.invoke('Get-Mailbox', { ResultSize: 'Unlimited' });
    expect(all.output).toHaveLength(60);
    expect(new Set(all.output.map((m) => (m as { Alias: string }).Alias)).size).toBe(60);
    expect(n('page') - pages).toBe(1 + Math.ceil(60 / 7));
  }, 60_000);

  it('asks for smaller pages with pageSize (Prefer: odata.maxpagesize)', async () => {
    await using ex = await connectExchangeOnline(options({ pageSize: 25 }));
    const pages = n('page');
    const r = await ex.invoke('Get-Mailbox', { ResultSize: 'Unlimited' });
    expect(r.output).toHaveLength(60);
    expect(last().prefer).toBe('odata.maxpagesize=25');
    expect(n('page') - pages).toBe(3);
  }, 60_000);

  it('runs Get-DistributionGroupMember on its endpoint', async () => {
    await using ex = await connectExchangeOnline(options());
    const r = await ex.invoke('Get-DistributionGroupMember', { Identity: 'DL-Sales' });
    expect(last().path).toBe(`/adminapi/v2.0/${lab.exo.tenantId}/DistributionGroupMember`);
    expect(r.output.map((m) => (m as { Name: string }).Name)).toContain('Alice Smith');
  }, 60_000);
});

describe('connectExchangeOnline: errors carry the Exchange exception type', () => {
  it('not found (404): an ErrorRecord like Remote PowerShell gives, or a typed error with errorAction stop', async () => {
    await using ex = await connectExchangeOnline(options());
    const r = await ex.invoke('Get-Mailbox', { Identity: 'nobody' });
    expect(r.output).toEqual([]);
    expect(r.hadErrors).toBe(true);
    expect(r.errors[0]!.message).toMatch(/object 'nobody' couldn't be found/);
    expect(r.errors[0]!.exception?.typeNames[0]).toBe(
      'Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException',
    );
    expect(r.errors[0]!.categoryInfo.category).toBe('ObjectNotFound');
    const e = await caught(ex.invoke('Get-Mailbox', { Identity: 'nobody' }, { errorAction: 'stop' }));
    expect(e.code).toBe('PSRP_EXO_CMDLET_ERROR');
    expect(e.statusCode).toBe(404);
    expect(e.exceptionType).toBe('Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException');
    expect(e.cmdlet).toBe('Get-Mailbox');
  }, 60_000);

  it('a bad parameter (400) rejects with the exception type', async () => {
    await using ex = await connectExchangeOnline(options());
    const e = await caught(ex.invoke('Get-Mailbox', { NoSuchParameter: 1 }));
    expect(e.code).toBe('PSRP_EXO_CMDLET_ERROR');
    expect(e.statusCode).toBe(400);
    expect(e.exceptionType).toMatch(/ParameterBindingException/);
    expect(e.message).toMatch(/NoSuchParameter/);
  }, 60_000);

  it('an unknown cmdlet is a 403 of NUL bytes labelled gzip: PSRP_EXO_UNKNOWN_CMDLET (beta)', async () => {
    await using ex = await connectExchangeOnline(options({ unsupportedBetaInvokeCommand: true }));
    const before = n('403nul');
    const e = await caught(ex.invoke('Get-NoSuchThing'));
    expect(e.code).toBe('PSRP_EXO_UNKNOWN_CMDLET');
    expect(e.statusCode).toBe(403);
    expect(n('403nul')).toBe(before + 1);
    lab.exo.behaviours.nulBodyFor403 = false;
    const e2 = await caught(ex.invoke('Get-NoSuchThing'));
    expect(e2.code).toBe('PSRP_EXO_CMDLET_ERROR');
    expect(e2.exceptionType).toBe('System.Management.Automation.CommandNotFoundException');
  }, 60_000);

  it('a cmdlet the delegated user’s role does not grant is the same 403 (v2.0)', async () => {
    await using ex = await connectExchangeOnline(
      options({ token: () => lab.exo.issueToken({ user: 'readonly' }) }),
    );
    const e = await caught(ex.invoke('Get-Mailbox', { ResultSize: 1 }));
    expect(e.code).toBe('PSRP_EXO_UNKNOWN_CMDLET');
  });

  it('pipelines and extra positional arguments are refused before any request', async () => {
    await using ex = await connectExchangeOnline(options());
    const e = await caught(ex.run('Get-Mailbox | Set-Mailbox -Office Paris'));
    expect(e.code).toBe('PSRP_EXO_COMMAND_LINE_UNSUPPORTED');
    const e2 = await caught(ex.run('Get-Mailbox a b'));
    expect(e2.code).toBe('PSRP_EXO_COMMAND_LINE_UNSUPPORTED');
    const r = await ex.run("Get-Mailbox 'Chen Smith'");
    expect((r.output[0] as { Alias: string }).Alias).toBe('chen.smith');
  }, 60_000);
});

describe('connectExchangeOnline: throttling, 5xx, the regional redirect', () => {
  it('429 with Retry-After: waits what the server says, then succeeds', async () => {
    lab.exo.behaviours.throttleNext = 2;
    lab.exo.behaviours.retryAfterSeconds = 1;
    const events: ExchangeOnlineThrottleEvent[] = [];
    await using ex = await connectExchangeOnline(options({ onThrottled: (e) => events.push(e) }));
    const t0 = performance.now();
    const r = await ex.invoke('Get-Mailbox', { Identity: 'alice.smith' });
    expect(performance.now() - t0).toBeGreaterThanOrEqual(1900);
    expect(r.output).toHaveLength(1);
    expect(events).toEqual([
      { attempt: 1, delayMs: 1000, statusCode: 429 },
      { attempt: 2, delayMs: 1000, statusCode: 429 },
    ]);
  }, 60_000);

  it('gives up after throttleAttempts with PSRP_EXO_THROTTLED; 5xx backs off with jitter', async () => {
    lab.exo.behaviours.throttleNext = 5;
    lab.exo.behaviours.retryAfterSeconds = 0;
    await using ex = await connectExchangeOnline(options({ throttleAttempts: 3 }));
    const e = await caught(ex.invoke('Get-Mailbox', { Identity: 'alice.smith' }));
    expect(e.code).toBe('PSRP_EXO_THROTTLED');
    expect(e.statusCode).toBe(429);
    expect(lab.exo.behaviours.throttleNext).toBe(2);
    lab.exo.behaviours.throttleNext = 0;
    lab.exo.behaviours.serverErrorNext = 2;
    const events: ExchangeOnlineThrottleEvent[] = [];
    await using ex2 = await connectExchangeOnline(
      options({ onThrottled: (x) => events.push(x), backoffBaseMs: 40 }),
    );
    expect((await ex2.invoke('Get-Mailbox', { Identity: 'alice.smith' })).output).toHaveLength(1);
    expect(events.map((x) => x.statusCode)).toEqual([503, 503]);
    expect(events[0]!.delayMs).toBeLessThanOrEqual(40);
    expect(events[1]!.delayMs).toBeLessThanOrEqual(80);
  }, 60_000);

  it('follows a 302 to an allowed regional host, re-sending the bearer and keeping its cookies', async () => {
    lab.exo.behaviours.redirectToHost = '127.0.0.1';
    lab.exo.behaviours.pageSize = 20;
    await using ex = await connectExchangeOnline(options({ allowedRedirectHosts: ['127.0.0.1'] }));
    const [r302, cookies] = [n('302'), n('cookieReturned')];
    const r = await ex.invoke('Get-Mailbox', { ResultSize: 'Unlimited' });
    expect(r.output).toHaveLength(60);
    expect(n('302') - r302).toBe(1); // later pages go straight to the regional host (its next links)
    expect(n('cookieReturned') - cookies).toBe(2);
    expect(last().host).toBe('127.0.0.1');
  }, 60_000);

  it('refuses to send the token to a host it was not told to trust', async () => {
    lab.exo.behaviours.redirectToHost = '127.0.0.1';
    await using ex = await connectExchangeOnline(options());
    const e = await caught(ex.invoke('Get-Mailbox', { Identity: 'alice.smith' }));
    expect(e.code).toBe('PSRP_EXO_REDIRECT_REFUSED');
  });
});

describe('connectExchangeOnline: tokens', () => {
  it('asks a TokenCredential for <resource>/.default, caches the token and refreshes it before expiry', async () => {
    const asked: unknown[] = [];
    let lifetime = 3600_000;
    const credential = {
      getToken: (scopes: string | string[]) => {
        asked.push(scopes);
        return Promise.resolve({ token: lab.exo.issueToken(), expiresOnTimestamp: Date.now() + lifetime });
      },
    };
    await using ex = await connectExchangeOnline(options({ token: credential }));
    await ex.invoke('Get-Mailbox', { Identity: 'alice.smith' });
    await ex.invoke('Get-Mailbox', { Identity: 'bob.smith' });
    expect(asked).toEqual([['https://outlook.office365.com/.default']]);
    lifetime = 4 * 60_000; // inside the five-minute refresh window: every request refreshes
    await ex.bearer({ force: true });
    await ex.invoke('Get-Mailbox', { Identity: 'alice.smith' });
    expect(asked).toHaveLength(3);
  }, 60_000);

  it('a refused token (401) is fetched again once; wrong audience or tenant is PSRP_EXO_UNAUTHORIZED', async () => {
    let calls = 0;
    const token = () => {
      calls++;
      // The first token is already expired although the provider claims an hour.
      return {
        token: lab.exo.issueToken({ expiresInSeconds: calls === 1 ? -60 : 3600 }),
        expiresOnTimestamp: Date.now() + 3600_000,
      };
    };
    await using ex = await connectExchangeOnline(options({ token }));
    expect((await ex.invoke('Get-Mailbox', { Identity: 'alice.smith' })).output).toHaveLength(1);
    expect(calls).toBe(2);
    for (const bad of [
      { audience: 'https://graph.microsoft.com' },
      { tenantId: '00000000-0000-0000-0000-000000000001' },
    ]) {
      const t = lab.exo.issueToken(bad);
      await using s = await connectExchangeOnline(options({ token: () => t }));
      const e = await caught(s.invoke('Get-Mailbox', { Identity: 'alice.smith' }));
      expect(e.code).toBe('PSRP_EXO_UNAUTHORIZED');
      expect(e.statusCode).toBe(401);
      // No token anywhere in what the error carries.
      const everything = `${e.message}\n${e.stack ?? ''}\n${JSON.stringify(e)}\n${String(e.cause)}`;
      expect(everything).not.toContain(t);
      expect(everything).not.toContain(t.split('.')[2]!);
    }
  }, 60_000);

  it('a failing or empty token provider is PSRP_EXO_TOKEN at connect time', async () => {
    const e = await caught(
      connectExchangeOnline(options({ token: () => Promise.reject(new Error('no cert')) })),
    );
    expect(e.code).toBe('PSRP_EXO_TOKEN');
    expect(e.message).toContain('no cert');
    const e2 = await caught(connectExchangeOnline(options({ token: () => 'a b' })));
    expect(e2.code).toBe('PSRP_EXO_TOKEN');
    await expect(connectExchangeOnline({ ...options(), baseUrl: 'http://localhost:1' })).rejects.toThrow(
      /https/,
    );
  });
});

describe('one interface, both transports', () => {
  /** Bot code written once against ExchangeCommandSession. */
  async function describeMailbox(ex: ExchangeCommandSession, who: string): Promise<string> {
    const r = await ex.invoke('Get-Mailbox', { Identity: who });
    const m = r.output[0] as Record<string, unknown> | undefined;
    if (!m) return r.errors[0]?.message ?? 'not found';
    const quota = m['ProhibitSendQuota'];
    return `${String(m['DisplayName'])} <${String(m['PrimarySmtpAddress'])}> quota ${
      quota === 'Unlimited' ? 'Unlimited' : String((quota as { bytes: bigint }).bytes)
    } created ${(m['WhenCreated'] as Date).toISOString()}`;
  }

  it('the same bot code gives the same answers over Remote PowerShell and the admin API', async () => {
    await using onPrem = await connectExchange({
      uri: lab.exchangeUrl,
      credential: { username: 'admin', password: lab.users['admin']! },
      ca: lab.ca,
    });
    await using online = await connectExchangeOnline(options());
    for (const who of ['alice.smith', 'bob.smith', 'nobody']) {
      const a = await describeMailbox(onPrem, who);
      const b = await describeMailbox(online, who);
      expect(b).toBe(a);
    }
    expect(await describeMailbox(online, 'bob.smith')).toBe(
      'Bob Smith <bob.smith@contoso.com> quota 53150220288 created 2020-01-01T05:00:00.000Z',
    );
    // One organisation behind both surfaces: a change through the admin API shows over Remote PowerShell.
    const set = await online.invoke('Set-Mailbox', { Identity: 'gus.smith', Office: 'Lyon, 3rd floor' });
    expect(set.output).toEqual([]);
    const gus = await onPrem.invoke('Get-Mailbox', { Identity: 'gus.smith' });
    expect((gus.output[0] as { Office: string }).Office).toBe('Lyon, 3rd floor');
  }, 90_000);

  it('ExchangeSessionPool runs on Exchange Online and counts throttling in its counters', async () => {
    lab.exo.behaviours.throttleNext = 1;
    lab.exo.behaviours.retryAfterSeconds = 0;
    const pool = new ExchangeSessionPool({ ...options(), maxSessions: 2 });
    const throttled: unknown[] = [];
    pool.on('throttled', (e) => throttled.push(e));
    const results = await Promise.all(
      ['alice.smith', 'bob.smith', 'chen.smith'].map((who) => pool.invoke('Get-Mailbox', { Identity: who })),
    );
    expect(results.map((r) => (r.output[0] as { Alias: string }).Alias)).toEqual([
      'alice.smith',
      'bob.smith',
      'chen.smith',
    ]);
    expect(pool.counters.opened).toBeLessThanOrEqual(2);
    expect(pool.counters.throttled).toBe(1);
    expect(throttled).toEqual([{ attempt: 1, delayMs: 0, statusCode: 429 }]);
    const r = await pool.run('Get-Mailbox dana.smith');
    expect((r.output[0] as { Alias: string }).Alias).toBe('dana.smith');
    await pool.close();
  }, 60_000);

  it('a module generated by codegen (from the on-premises metadata) calls Exchange Online', async () => {
    await using onPrem = await connectExchange({
      uri: lab.exchangeUrl,
      credential: { username: 'admin', password: lab.users['admin']! },
      ca: lab.ca,
    });
    const info = await getCommandInfo(onPrem, ['Get-Mailbox', 'Get-DistributionGroupMember']);
    const dir = join(resolve(import.meta.dirname, '../..'), 'test/.generated/exo');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'commands.ts'), generateCommandModule(info));
    const generated = (await import(join(dir, 'commands.ts'))) as {
      bindCommands(session: ExchangeCommandSession): {
        getMailbox(p: { identity: string }): Promise<Record<string, unknown>[]>;
      };
    };
    await using online = await connectExchangeOnline(options());
    const box = await generated.bindCommands(online).getMailbox({ identity: 'eve.smith' });
    expect(box[0]?.['PrimarySmtpAddress']).toBe('eve.smith@contoso.com');
    expect(last().path).toBe(`/adminapi/v2.0/${lab.exo.tenantId}/Mailbox`);
    // Generated code asks for errorAction 'stop': a missing mailbox rejects with the typed error.
    const e = await caught(generated.bindCommands(online).getMailbox({ identity: 'nobody' }));
    expect(e.exceptionType).toMatch(/ManagementObjectNotFoundException/);
  }, 90_000);
});
