/**
 * A report of mailbox sizes: `Get-Mailbox -ResultSize Unlimited | Get-MailboxStatistics` runs as
 * one pipeline on the server (no script text: Exchange is NoLanguage), streamed to the client
 * without keeping more than the top N; sizes arrive as { bytes: bigint, text } (ByteQuantifiedSize).
 *
 *   npx tsx examples/mailbox-size-report.ts            # top 10 of the lab's organisation
 *   REPORT_TOP=25 REPORT_CSV=sizes.csv ...             # top 25, and every mailbox into a CSV file
 */
import { createWriteStream } from 'node:fs';
import { connectExchange, toExchangeValues, type ByteQuantifiedSize } from '../src/exchange/index.js';
import { exchangeTarget } from './exchange-target.js';

interface Statistics {
  readonly DisplayName: string;
  readonly ItemCount: number;
  readonly TotalItemSize: ByteQuantifiedSize | string;
  readonly Database: string;
}

const top = Number(process.env['REPORT_TOP'] ?? 10);
const csvPath = process.env['REPORT_CSV'];
const bytes = (s: Statistics['TotalItemSize']): bigint => (typeof s === 'object' ? s.bytes : 0n);
const gib = (b: bigint): string => `${(Number(b) / 2 ** 30).toFixed(2)} GB`;
const csvCell = (v: string): string => (/[",\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);

const target = await exchangeTarget({ mailboxCount: 200 });
try {
  await using ex = await connectExchange(target.options);
  const csv = csvPath ? createWriteStream(csvPath) : undefined;
  csv?.write('DisplayName,Database,ItemCount,TotalItemSizeBytes\n');
  const largest: Statistics[] = [];
  let count = 0;
  let total = 0n;
  const pipeline = ex.pool
    .powershell()
    .addCommand('Get-Mailbox')
    .addParameter('ResultSize', 'Unlimited')
    .addCommand('Get-MailboxStatistics');
  for await (const raw of pipeline.output()) {
    const s = toExchangeValues<Statistics>(raw);
    count++;
    total += bytes(s.TotalItemSize);
    csv?.write(`${csvCell(s.DisplayName)},${csvCell(s.Database)},${s.ItemCount},${bytes(s.TotalItemSize)}\n`);
    largest.push(s);
    largest.sort((a, b) => (bytes(b.TotalItemSize) > bytes(a.TotalItemSize) ? 1 : -1));
    largest.length = Math.min(largest.length, top);
  }
  await new Promise<void>((resolve) => (csv ? csv.end(resolve) : resolve()));
  console.log(`${count} mailboxes, ${gib(total)} in total; the ${largest.length} largest:\n`);
  console.log('DisplayName'.padEnd(26) + 'Database'.padEnd(12) + 'Items'.padStart(8) + 'Size'.padStart(12));
  for (const s of largest) {
    console.log(
      s.DisplayName.padEnd(26) +
        s.Database.padEnd(12) +
        String(s.ItemCount).padStart(8) +
        gib(bytes(s.TotalItemSize)).padStart(12),
    );
  }
  if (csvPath) console.log(`\nEvery mailbox written to ${csvPath}`);
} finally {
  await target.close();
}
