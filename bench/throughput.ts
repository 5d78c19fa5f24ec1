/**
 * Throughput against the lab's Exchange endpoint: BENCH_CALLS (default 1000) calls of
 * `Get-Mailbox -Identity <name>`, sequentially on one session, then 8 at a time (an
 * ExchangeSessionPool of 8 sessions, and one session whose pool has 8 runspaces), first on loopback
 * and then through a proxy adding a 20 ms round trip. Per-call median and p99, calls/s and WS-Man
 * requests per call (from the `psrp:wsman:request` channel).
 *
 * The lab, its pwsh shells and this client share the machine (and the client shares its Node
 * process with the lab's HTTP server), so the loopback figures are mostly the lab's cost.
 */
import { connectExchange, ExchangeSessionPool, type ExchangeSession } from '../src/exchange/index.js';
import { startLab, type Lab } from '../src/lab/index.js';
import { startDelayProxy } from './delay-proxy.js';
import { RequestCounter } from './roundtrips.js';
import { percentile, printTable } from './util.js';

const CALLS = Number(process.env['BENCH_CALLS'] ?? 1000);
const CONCURRENCY = 8;

interface Target {
  readonly label: string;
  readonly uri: string;
}

interface Invoker {
  invoke(name: string, parameters: Record<string, unknown>): Promise<{ output: unknown[] }>;
}

/** Runs `calls` calls with `concurrency` workers; returns each call's duration in ms and the total ms. */
async function drive(
  invoker: Invoker,
  names: readonly string[],
  calls: number,
  concurrency: number,
): Promise<{ times: number[]; totalMs: number }> {
  const times: number[] = [];
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let i = next++; i < calls; i = next++) {
        const name = names[i % names.length]!;
        const s = performance.now();
        const r = await invoker.invoke('Get-Mailbox', { Identity: name });
        times.push(performance.now() - s);
        if (r.output.length !== 1)
          throw new Error(`Get-Mailbox -Identity '${name}' returned ${r.output.length} objects`);
      }
    }),
  );
  return { times, totalMs: performance.now() - t0 };
}

/**
 * Opens `n` sessions of the pool one after another (each warmed with one call) and returns them
 * all to it: starting 8 pwsh shells at once can starve a small machine for over a minute.
 */
async function openOneByOne(pool: ExchangeSessionPool, n: number, name: string): Promise<void> {
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  const held: Promise<unknown>[] = [];
  try {
    for (let i = 0; i < n; i++) {
      await new Promise<void>((opened, failed) => {
        held.push(
          pool
            .use(async (s) => {
              await s.invoke('Get-Mailbox', { Identity: name });
              opened();
              await released;
            })
            .catch((e: unknown) => failed(e as Error)),
        );
      });
    }
  } finally {
    release();
    await Promise.all(held);
  }
}

async function scenarios(
  lab: Lab,
  target: Target,
  names: readonly string[],
  counter: RequestCounter,
  rows: string[][],
): Promise<void> {
  const credential = { username: 'admin', password: lab.users['admin']! };
  // Starting 8 pwsh shells at once on a small, busy machine can take longer than the default 60 s.
  const common = { credential, ca: lab.ca, openTimeoutMs: 300_000 };
  const measure = async (mode: string, invoker: Invoker, concurrency: number): Promise<void> => {
    counter.take();
    const { times, totalMs } = await drive(invoker, names, CALLS, concurrency);
    const requests = counter.take().actions.length;
    rows.push([
      target.label,
      mode,
      String(CALLS),
      percentile(times, 50).toFixed(1),
      percentile(times, 99).toFixed(1),
      (CALLS / (totalMs / 1000)).toFixed(1),
      (requests / CALLS).toFixed(2),
    ]);
  };

  /** Runs one scenario; a failure (e.g. a shell that would not start) becomes a row instead of ending the benchmark. */
  const scenario = async (mode: string, work: () => Promise<void>): Promise<void> => {
    try {
      await work();
    } catch (e) {
      rows.push([target.label, mode, `failed: ${(e as Error).message.slice(0, 80)}`, '', '', '', '']);
    }
  };

  await scenario('sequential, 1 session', async () => {
    const one: ExchangeSession = await connectExchange({ uri: target.uri, ...common });
    try {
      await drive(one, names, 8, 1); // warm-up (the first command imports the module)
      await measure('sequential, 1 session', one, 1);
    } finally {
      await one.close();
    }
  });

  const pooled = `${CONCURRENCY} concurrent, ExchangeSessionPool (${CONCURRENCY} shells)`;
  await scenario(pooled, async () => {
    const pool = new ExchangeSessionPool({ uri: target.uri, ...common, maxSessions: CONCURRENCY });
    try {
      await openOneByOne(pool, CONCURRENCY, names[0]!);
      await measure(pooled, pool, CONCURRENCY);
    } finally {
      await pool.close();
    }
  });

  const wideMode = `${CONCURRENCY} concurrent, 1 shell, maxRunspaces ${CONCURRENCY}`;
  await scenario(wideMode, async () => {
    const wide = await connectExchange({ uri: target.uri, ...common, maxRunspaces: CONCURRENCY });
    try {
      await drive(wide, names, CONCURRENCY * 2, CONCURRENCY);
      await measure(wideMode, wide, CONCURRENCY);
    } finally {
      await wide.close();
    }
  });
}

export async function run(): Promise<void> {
  const lab = await startLab();
  const counter = new RequestCounter();
  const rows: string[][] = [];
  const proxy = await startDelayProxy({ targetPort: Number(new URL(lab.exchangeUrl).port), delayMs: 10 });
  try {
    // Identities to look up: the first 40 mailboxes of the organisation.
    const ex = await connectExchange({
      uri: lab.exchangeUrl,
      credential: { username: 'admin', password: lab.users['admin']! },
      ca: lab.ca,
    });
    const names = (await ex.invoke('Get-Mailbox', { ResultSize: 40 })).output.map((m) =>
      String((m as Record<string, unknown>)['Name']),
    );
    await ex.close();
    await scenarios(lab, { label: 'loopback', uri: lab.exchangeUrl }, names, counter, rows);
    await scenarios(
      lab,
      { label: 'proxy +20 ms RTT', uri: `https://localhost:${proxy.port}/PowerShell/` },
      names,
      counter,
      rows,
    );
  } finally {
    counter.dispose();
    await proxy.close();
    await lab.close();
  }
  printTable(['link', 'mode', 'calls', 'median ms', 'p99 ms', 'calls/s', 'WS-Man req/call'], rows);
  console.log(
    `BENCH_CALLS=${CALLS} (set BENCH_CALLS for a quicker run). Each call: Get-Mailbox -Identity <one of the first 40 mailboxes>.`,
  );
}
