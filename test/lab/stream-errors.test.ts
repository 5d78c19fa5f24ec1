/**
 * Issue 11: a streaming caller must see non-terminating errors, or `ex.stream('Get-Mailbox',
 * { Identity: 'nobody' })` cannot tell "not found" from "empty". `onError` receives each error
 * record in order with the output; `errorAction: 'stop'` throws on the first. Against the lab's
 * /PowerShell/ endpoint (real pwsh answering like Exchange) and its /wsman endpoint.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLab, type Lab } from '../../src/lab/lab-server.js';
import { connectExchange, type ExchangeSession } from '../../src/exchange/index.js';
import { PipelineFailedError, RunspacePool, type ErrorRecord } from '../../src/index.js';
import { requirePwsh } from '../helpers/pwsh.js';

let lab: Lab;
let ex: ExchangeSession;
beforeAll(async () => {
  requirePwsh();
  lab = await startLab({ mailboxCount: 5 });
  ex = await connectExchange({
    uri: lab.exchangeUrl,
    credential: { username: 'admin', password: lab.users['admin']! },
    ca: lab.ca,
  });
}, 60_000);
afterAll(async () => {
  await ex?.close();
  await lab?.close();
});

const NOT_FOUND =
  "The operation couldn't be performed because object 'nobody' couldn't be found on 'DC01.contoso.com'.";

describe('the error channel of a stream', () => {
  it("ExchangeSession.stream: 'not found' reaches onError, where 'empty' does not", async () => {
    const errors: ErrorRecord[] = [];
    const found: unknown[] = [];
    for await (const m of ex.stream(
      'Get-Mailbox',
      { Identity: 'nobody' },
      { onError: (e) => errors.push(e) },
    ))
      found.push(m);
    expect(found).toEqual([]);
    expect(errors).toHaveLength(1);
    expect(errors[0]!.message).toBe(NOT_FOUND);
    expect(errors[0]!.categoryInfo.category).toBe('ObjectNotFound');

    const none: ErrorRecord[] = [];
    const empty: unknown[] = [];
    for await (const m of ex.stream(
      'Get-Mailbox',
      { Filter: "Department -eq 'NoSuchDepartment'" },
      { onError: (e) => none.push(e) },
    ))
      empty.push(m);
    expect(empty).toEqual([]);
    expect(none).toEqual([]);
  }, 60_000);

  it("ExchangeSession.stream with errorAction 'stop' throws on the first error record", async () => {
    const err = await (async () => {
      for await (const m of ex.stream('Get-Mailbox', { Identity: 'nobody' }, { errorAction: 'stop' })) void m;
    })().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PipelineFailedError);
    expect(err).toMatchObject({ code: 'PSRP_PIPELINE_ERROR_RECORD' });
    expect((err as PipelineFailedError).errorRecord!.message).toBe(NOT_FOUND);
    // The session is still usable.
    expect((await ex.invoke('Get-Mailbox', { ResultSize: 2 })).output).toHaveLength(2);
  }, 60_000);

  it('PowerShell.output(): errors arrive in order with the output, and a throwing onError stops the pipeline', async () => {
    const pool = await RunspacePool.open({
      uri: lab.url,
      auth: { username: 'admin', password: lab.users['admin']! },
      ca: lab.ca,
    });
    try {
      const seen: string[] = [];
      const script = '1; Write-Error "e1"; 2; Write-Error "e2"; 3';
      for await (const v of pool
        .powershell()
        .addScript(script)
        .output<number>({ onError: (e) => seen.push(`error:${e.message}`) }))
        seen.push(`out:${v}`);
      expect(seen).toEqual(['out:1', 'error:e1', 'out:2', 'error:e2', 'out:3']);

      const stop = new Error('give up');
      const t0 = Date.now();
      await expect(
        (async () => {
          for await (const v of pool
            .powershell()
            .addScript('Write-Error "bad"; Start-Sleep 60; "late"')
            .output({
              onError: () => {
                throw stop;
              },
            }))
            void v;
        })(),
      ).rejects.toBe(stop);
      expect(Date.now() - t0).toBeLessThan(45_000); // stopped, not waited out
      // invoke() calls onError too, and still collects the errors.
      const calls: string[] = [];
      const r = await pool
        .powershell()
        .addScript('Write-Error "x"; 5')
        .invoke({ onError: (e) => calls.push(e.message) });
      expect(calls).toEqual(['x']);
      expect(r.errors.map((e) => e.message)).toEqual(['x']);
    } finally {
      await pool.close();
    }
  }, 90_000);
});
