/**
 * Streaming: `Get-Mailbox -ResultSize Unlimited` over a lab of 10,000 and then 100,000 mailboxes,
 * consuming the stream without keeping the objects. This process's RSS is sampled every 100 ms
 * (the lab runs in a child process, so its memory is not counted): the peak should not grow with
 * the number of objects, because the client only asks for more (Receive) when the consumer wants
 * more.
 */
import { connectExchange } from '../src/exchange/index.js';
import { forkLab } from './lab-process.js';
import { RequestCounter } from './roundtrips.js';
import { printTable } from './util.js';

const MB = 2 ** 20;

export async function run(): Promise<void> {
  const counts = (process.env['BENCH_MAILBOXES'] ?? '10000,100000').split(',').map(Number);
  const rows: string[][] = [];
  for (const count of counts) {
    const lab = await forkLab({ mailboxCount: count });
    try {
      const ex = await connectExchange({
        uri: lab.exchangeUrl,
        credential: { username: 'admin', password: lab.users['admin']! },
        ca: lab.ca,
      });
      try {
        await ex.invoke('Get-Mailbox', { ResultSize: 1 }); // warm: the first command imports the module
        globalThis.gc?.();
        const before = process.memoryUsage().rss;
        let peak = before;
        const quartiles: number[] = [];
        const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 100);
        let n = 0;
        const counter = new RequestCounter();
        const t0 = performance.now();
        let firstMs = 0;
        try {
          for await (const m of ex.stream('Get-Mailbox', { ResultSize: 'Unlimited' })) {
            if (n === 0) firstMs = performance.now() - t0;
            if (typeof m !== 'object') throw new Error('not a mailbox');
            if (++n % Math.floor(count / 4) === 0) quartiles.push(process.memoryUsage().rss);
          }
        } finally {
          clearInterval(sampler);
          counter.dispose();
        }
        const requests = counter.take().actions.length;
        const secs = (performance.now() - t0) / 1000;
        peak = Math.max(peak, process.memoryUsage().rss);
        rows.push([
          count.toLocaleString('en-US'),
          n.toLocaleString('en-US'),
          secs.toFixed(1),
          Math.round(n / secs).toLocaleString('en-US'),
          (firstMs / 1000).toFixed(2),
          requests.toLocaleString('en-US'),
          (before / MB).toFixed(0),
          quartiles.map((q) => (q / MB).toFixed(0)).join(' / '),
          (peak / MB).toFixed(0),
        ]);
      } finally {
        await ex.close();
      }
    } finally {
      await lab.close();
    }
  }
  printTable(
    [
      'mailboxes',
      'received',
      'seconds',
      'objects/s',
      'first object s',
      'WS-Man requests',
      'RSS before MB',
      'RSS at 25/50/75/100% MB',
      'peak RSS MB',
    ],
    rows,
  );
  console.log(
    'RSS is this process (client only; the lab and its pwsh run in other processes), sampled every 100 ms.',
  );
}
