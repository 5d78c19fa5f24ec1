// The lab enforces WinRM's quotas with Windows' fault codes and texts (src/lab/lab-quotas.ts,
// docs/lab.md), and never answers a Receive with more than the request's MaxEnvelopeSize
// (MS-WSMV 3.1.4.1.7; src/lab/receive-outbox.ts). Raw WS-Man requests show the lab's answers
// independently of what the client does; the public client shows the packing of real output.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startLab, type Lab } from '../../src/lab/lab-server.js';
import { windowsLimits } from '../../src/lab/lab-quotas.js';
import { HttpTransport, RunspacePool, WSManFaultError, type WSManTransport } from '../../src/index.js';
import { requirePwsh } from '../helpers/pwsh.js';

const PS_URI = 'http://schemas.microsoft.com/powershell/Microsoft.PowerShell';
const SHELL = 'http://schemas.microsoft.com/wbem/wsman/1/windows/shell';

let lab: Lab;
beforeAll(async () => {
  requirePwsh();
  lab = await startLab();
}, 60_000);
afterAll(async () => {
  await lab?.close();
});
afterEach(() => {
  Object.assign(lab.limits, windowsLimits());
});

const auth = (user = 'admin') => ({ username: user, password: lab.users[user]! });
const transport = (user = 'admin'): HttpTransport =>
  new HttpTransport({ url: lab.url, auth: auth(user), ca: lab.ca });

interface Raw {
  readonly action: string;
  readonly shellId?: string;
  readonly maxEnvelopeSize?: number;
  readonly timeout?: string;
  readonly resourceUri?: string;
  readonly body: string;
}
/** A WS-Man request shaped like the recordings' (Windows PowerShell's client). */
function envelope(r: Raw): string {
  return (
    `<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:wsa="http://schemas.xmlsoap.org/ws/2004/08/addressing" ` +
    `xmlns:wsman="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd" xmlns:rsp="${SHELL}"><s:Header>` +
    `<wsa:Action s:mustUnderstand="true">${r.action}</wsa:Action>` +
    `<wsman:MaxEnvelopeSize s:mustUnderstand="true">${r.maxEnvelopeSize ?? 512000}</wsman:MaxEnvelopeSize>` +
    `<wsa:MessageID>uuid:${crypto.randomUUID().toUpperCase()}</wsa:MessageID>` +
    `<wsman:OperationTimeout>${r.timeout ?? 'PT20S'}</wsman:OperationTimeout>` +
    `<wsman:ResourceURI s:mustUnderstand="true">${r.resourceUri ?? PS_URI}</wsman:ResourceURI>` +
    `<wsa:To>${lab.url}</wsa:To>` +
    (r.shellId
      ? `<wsman:SelectorSet><wsman:Selector Name="ShellId">${r.shellId}</wsman:Selector></wsman:SelectorSet>`
      : '') +
    `</s:Header><s:Body>${r.body}</s:Body></s:Envelope>`
  );
}
const create = (): Raw => ({
  action: 'http://schemas.xmlsoap.org/ws/2004/09/transfer/Create',
  body: `<rsp:Shell ShellId="${crypto.randomUUID().toUpperCase()}"><rsp:InputStreams>stdin pr</rsp:InputStreams><rsp:OutputStreams>stdout</rsp:OutputStreams></rsp:Shell>`,
});
const terminate = (shellId: string, commandId: string): Raw => ({
  action: `${SHELL}/Signal`,
  shellId,
  body: `<rsp:Signal CommandId="${commandId}"><rsp:Code>${SHELL}/signal/terminate</rsp:Code></rsp:Signal>`,
});

/** The fault's SOAP code, subcode, WSManFault code and message; undefined for a non-fault. */
function fault(xml: string): { value: string; subcode: string; code: number; message: string } | undefined {
  if (!xml.includes('<s:Fault>')) return undefined;
  return {
    value: /<s:Code><s:Value>([^<]*)</.exec(xml)![1]!,
    subcode: /<s:Subcode><s:Value>([^<]*)</.exec(xml)![1]!,
    code: Number(/Code="(\d+)"/.exec(xml)![1]),
    message: /<f:Message>([^<]*)</.exec(xml)![1]!,
  };
}

async function withPool<T>(work: (pool: RunspacePool) => Promise<T>, user = 'admin'): Promise<T> {
  const pool = await RunspacePool.open({ uri: lab.url, auth: auth(user), ca: lab.ca });
  try {
    return await work(pool);
  } finally {
    await pool.close();
  }
}

/**
 * A pool whose commands stay live on the server: its transport answers Signal terminate itself
 * (as a client that never terminates its commands), and records the command ids.
 */
async function withUnterminatedCommands<T>(
  work: (pool: RunspacePool, commandIds: string[]) => Promise<T>,
): Promise<T> {
  const real = transport();
  const ids: string[] = [];
  const tr: WSManTransport = {
    async send(env, options) {
      if (env.includes('/signal/terminate<')) {
        return '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing"><s:Header><a:Action>http://schemas.microsoft.com/wbem/wsman/1/windows/shell/SignalResponse</a:Action></s:Header><s:Body><rsp:SignalResponse xmlns:rsp="http://schemas.microsoft.com/wbem/wsman/1/windows/shell"/></s:Body></s:Envelope>';
      }
      const answer = await real.send(env, options);
      const id = /<rsp:CommandId>([^<]+)</.exec(answer)?.[1];
      if (id) ids.push(id);
      return answer;
    },
    get url() {
      return real.url;
    },
    close: () => real.close(),
  };
  const pool = await RunspacePool.open({ transport: tr });
  try {
    return await work(pool, ids);
  } finally {
    await pool.close();
  }
}
const run = (pool: RunspacePool): Promise<unknown> =>
  pool
    .powershell()
    .addScript('1')
    .invoke()
    .then((r) => r.output[0])
    .catch((e: unknown) => e);

describe('WinRM quotas (on by default, Windows defaults)', () => {
  it('has Windows defaults and counts nothing when idle', () => {
    expect(lab.limits).toEqual({
      maxConcurrentCommandsPerShell: 1000,
      maxConcurrentOperationsPerUser: 1500,
      maxShellsPerUser: 30,
      maxConcurrentUsers: 10,
      maxProcessesPerShell: 25,
      maxEnvelopeSizeKb: 500,
      maxTimeoutMs: 60_000,
      idleTimeoutMs: 7_200_000,
    });
    expect(lab.stats()).toEqual({ shells: 0, commands: 0, operations: 0, inFlight: 0 });
  });

  it('MaxConcurrentCommandsPerShell: unterminated commands count until Signal terminate or Delete', async () => {
    lab.limits.maxConcurrentCommandsPerShell = 2;
    const t = transport();
    try {
      await withUnterminatedCommands(async (pool, ids) => {
        const shellId = pool.id.toUpperCase();
        expect(await run(pool)).toBe(1);
        expect(await run(pool)).toBe(1);
        expect(lab.stats()).toMatchObject({ shells: 1, commands: 2, operations: 3 });
        const refused = await run(pool);
        expect(refused).toBeInstanceOf(WSManFaultError);
        expect(refused).toMatchObject({
          faultCode: 's:Receiver',
          subcode: 'w:InternalError',
          wsmanFaultCode: 2150859241,
          wsmanMessage:
            'The WS-Management service cannot process the request. The maximum number of concurrent commands per shell has been exceeded. Retry the request later or raise the Maximum Commands per Shell quota.',
        });
        // The raw answer has Windows' text exactly (with its trailing space).
        expect(fault(await t.send(envelope(terminate(shellId, ids[0]!))))).toBeUndefined();
        expect(lab.stats().commands).toBe(1);
        // Terminating one freed a slot.
        expect(await run(pool)).toBe(1);
        expect(lab.stats().commands).toBe(2);
      });
      // Deleting the shell ends its commands.
      expect(lab.stats()).toEqual({ shells: 0, commands: 0, operations: 0, inFlight: 0 });
      // Switched off, a shell takes any number.
      lab.limits.maxConcurrentCommandsPerShell = undefined;
      await withUnterminatedCommands(async (pool) => {
        for (let i = 0; i < 4; i++) expect(await run(pool)).toBe(1);
        expect(lab.stats().commands).toBe(4);
      });
    } finally {
      await t.close();
    }
  }, 120_000);

  it('MaxConcurrentOperationsPerUser: shells and unterminated commands of a user', async () => {
    lab.limits.maxConcurrentOperationsPerUser = 2;
    const t = transport();
    try {
      await withUnterminatedCommands(async (pool, ids) => {
        expect(await run(pool)).toBe(1);
        expect(lab.stats().operations).toBe(2);
        const expected = {
          value: 's:Sender',
          subcode: 'w:QuotaLimit',
          code: 2150859174,
          message:
            'The WS-Management service cannot process the request. This user is allowed a maximum number of 2 concurrent operations, which has been exceeded. Close existing operations for this user, or raise the quota for this user. ',
        };
        expect(fault(await t.send(envelope(create())))).toEqual(expected);
        expect(await run(pool)).toMatchObject({
          code: 'PSRP_WSMAN_QUOTA_EXCEEDED',
          wsmanFaultCode: 2150859174,
        });
        expect(fault(await t.send(envelope(terminate(pool.id.toUpperCase(), ids[0]!))))).toBeUndefined();
        expect(lab.stats().operations).toBe(1);
      });
    } finally {
      await t.close();
    }
  }, 120_000);

  it('MaxShellsPerUser: Create beyond it gets QuotaLimit 2150859173, and the client a typed error', async () => {
    lab.limits.maxShellsPerUser = 1;
    const t = transport();
    try {
      await withPool(async () => {
        expect(fault(await t.send(envelope(create())))).toEqual({
          value: 's:Sender',
          subcode: 'w:QuotaLimit',
          code: 2150859173,
          message:
            'The WS-Management service cannot process the request. This user is allowed a maximum number of 1 concurrent shells, which has been exceeded. Close existing shells or raise the quota for this user. ',
        });
        const second = await RunspacePool.open({ uri: lab.url, auth: auth(), ca: lab.ca }).catch(
          (e: unknown) => e,
        );
        expect(second).toMatchObject({ code: 'PSRP_WSMAN_QUOTA_EXCEEDED', wsmanFaultCode: 2150859173 });
        expect(lab.liveShells()).toBe(1);
      });
    } finally {
      await t.close();
    }
  }, 120_000);

  it("applies on /PowerShell/ too, after Exchange's own PowerShellMaxConcurrency", async () => {
    const t = new HttpTransport({ url: lab.exchangeUrl, auth: auth(), ca: lab.ca });
    const exchangeCreate = {
      ...create(),
      resourceUri: 'http://schemas.microsoft.com/powershell/Microsoft.Exchange',
    };
    try {
      lab.limits.maxShellsPerUser = 0;
      expect(fault(await t.send(envelope(exchangeCreate)))).toMatchObject({
        subcode: 'w:QuotaLimit',
        code: 2150859173,
      });
      lab.behaviours.maxShellsPerUser = 0;
      expect(fault(await t.send(envelope(exchangeCreate)))?.message).toBe(
        'Fail to create a runspace because you have exceeded the maximum number of connections allowed : 0 for the policy party : MaxConcurrency. Please close existing runspace and try again.',
      );
    } finally {
      lab.behaviours.maxShellsPerUser = 18;
      await t.close();
    }
    expect(lab.liveShells()).toBe(0);
  });

  it('MaxConcurrentUsers: a further user cannot open a shell', async () => {
    lab.limits.maxConcurrentUsers = 1;
    const t = transport('helpdesk');
    try {
      await withPool(async () => {
        expect(fault(await t.send(envelope(create())))).toEqual({
          value: 's:Sender',
          subcode: 'w:QuotaLimit',
          code: 2150859179,
          message:
            'The Windows Remote Shell cannot process the request. The server exceeded the maximum number of users concurrently performing remote operations on the same system. Retry later. ',
        });
      });
    } finally {
      await t.close();
    }
  }, 120_000);

  it('MaxProcessesPerShell: a PowerShell shell is one process, so only a limit below 1 refuses Create', async () => {
    lab.limits.maxProcessesPerShell = 0;
    const t = transport();
    try {
      expect(fault(await t.send(envelope(create())))).toMatchObject({
        subcode: 'w:QuotaLimit',
        code: 2150859173,
      });
      lab.limits.maxProcessesPerShell = 1;
      await withPool(async (pool) => {
        expect((await pool.powershell().addScript('6*7').invoke()).output).toEqual([42]);
      });
    } finally {
      await t.close();
    }
  }, 120_000);

  it('MaxEnvelopeSizekb: a larger request is refused; a MaxEnvelopeSize under 8192 too', async () => {
    lab.limits.maxEnvelopeSizeKb = 32;
    const t = transport();
    try {
      const big = create();
      const padded = {
        ...big,
        body: big.body.replace('<rsp:InputStreams>', `<rsp:InputStreams>${' '.repeat(40 * 1024)}`),
      };
      expect(fault(await t.send(envelope(padded)))).toEqual({
        value: 's:Sender',
        subcode: 'w:EncodingLimit',
        code: 2150858825,
        message:
          'The WS-Management service cannot process the request because the request packet size exceeds the maximum envelope size of 32768 bytes (MaxEnvelopeSizekb). ',
      });
      lab.limits.maxEnvelopeSizeKb = 500;
      await withPool(async (pool) => {
        const tooSmall = await t.send(
          envelope({
            action: `${SHELL}/Receive`,
            shellId: pool.id.toUpperCase(),
            maxEnvelopeSize: 4096,
            body: '<rsp:Receive><rsp:DesiredStream>stdout</rsp:DesiredStream></rsp:Receive>',
          }),
        );
        expect(fault(tooSmall)).toMatchObject({ subcode: 'w:EncodingLimit', code: 2150858862 });
      });
      expect(lab.liveShells()).toBe(0);
    } finally {
      await t.close();
    }
  }, 120_000);

  it('MaxTimeoutms: a longer OperationTimeout is lowered to it (MS-WSMV 3.1.4.1.6)', async () => {
    lab.limits.maxTimeoutMs = 1000;
    const t = transport();
    try {
      await withPool(async (pool) => {
        const t0 = Date.now();
        const answer = await t.send(
          envelope({
            action: `${SHELL}/Receive`,
            shellId: pool.id.toUpperCase(),
            timeout: 'PT30S',
            body: '<rsp:Receive><rsp:DesiredStream>stdout</rsp:DesiredStream></rsp:Receive>',
          }),
        );
        expect(fault(answer)).toMatchObject({ subcode: 'w:TimedOut', code: 2150858793 });
        expect(Date.now() - t0).toBeLessThan(15_000);
      });
    } finally {
      await t.close();
    }
  }, 120_000);

  it('IdleTimeout: an idle /wsman shell is deleted', async () => {
    lab.limits.idleTimeoutMs = 600;
    const pool = await RunspacePool.open({ uri: lab.url, auth: auth(), ca: lab.ca });
    try {
      expect(lab.liveShells()).toBe(1);
      await new Promise((r) => setTimeout(r, 2000));
      expect(lab.liveShells()).toBe(0);
      await expect(pool.powershell().addScript('1').invoke()).rejects.toMatchObject({
        code: 'PSRP_WSMAN_SHELL_NOT_FOUND',
      });
    } finally {
      await pool.close().catch(() => undefined);
    }
  }, 120_000);
});

describe('Receive answers stay within the request MaxEnvelopeSize', () => {
  /** A transport that asks for `size` in every request and records every Receive answer's size. */
  function sizing(size: number): { transport: WSManTransport; sizes: number[] } {
    const real = transport();
    const sizes: number[] = [];
    return {
      sizes,
      transport: {
        async send(env, options) {
          const asked = env.replace(/(<wsman:MaxEnvelopeSize[^>]*>)\d+</, `$1${size}<`);
          const answer = await real.send(asked, options);
          if (env.includes('/windows/shell/Receive</')) sizes.push(Buffer.byteLength(answer));
          return answer;
        },
        get url() {
          return real.url;
        },
        close: () => real.close(),
      },
    };
  }

  for (const [kib, ceilingKb] of [
    [150, 500],
    [500, 500],
    [4096, 8192],
  ] as const) {
    it(`${kib} KiB: small and large output, every answer ≤ ${kib * 1024} bytes, large output packed near it`, async () => {
      lab.limits.maxEnvelopeSizeKb = ceilingKb;
      const limit = kib * 1024;
      const { transport: tr, sizes } = sizing(limit);
      const pool = await RunspacePool.open({ transport: tr });
      try {
        const small = await pool.powershell().addScript('"hi"').invoke();
        expect(small.output).toEqual(['hi']);
        // One object far larger than an envelope (cut into fragments), then many small ones.
        const big = await pool.powershell().addScript("'a' * 6000000; 1..20000").invoke();
        expect((big.output[0] as string).length).toBe(6_000_000);
        expect(big.output.length).toBe(20_001);
        expect(big.output[20_000]).toBe(20_000);
      } finally {
        await pool.close();
      }
      expect(sizes.length).toBeGreaterThan(2);
      expect(Math.max(...sizes)).toBeLessThanOrEqual(limit);
      // Packed as Windows does: full answers, not one fragment each (pwsh cannot serialise 4 MiB
      // within the lab's gathering window, so the largest limit is only shown to be used beyond 1 MB).
      expect(Math.max(...sizes)).toBeGreaterThan(Math.min(limit * 0.75, 1_000_000));
    }, 180_000);
  }
});
