/**
 * Exchange Online without Remote PowerShell: list mailboxes through the documented admin API
 * (v2.0 Mailbox endpoint), then page through all of them, one page in memory at a time.
 *
 *   npx tsx examples/exchange-online-mailboxes.ts      # the lab's Exchange Online surface, 5,000 mailboxes
 *   PSRP_EXO_TENANT_ID=<guid> PSRP_EXO_TOKEN=<token> npx tsx examples/exchange-online-mailboxes.ts
 *
 * Optional: PSRP_EXO_PAGE_SIZE (objects per page, default 1000).
 */
import { connectExchangeOnline, type ByteQuantifiedSize } from '../src/exchange/index.js';
import { exchangeOnlineTarget } from './exchange-online-target.js';

type Mailbox = {
  DisplayName: string;
  PrimarySmtpAddress: string;
  RecipientTypeDetails: string;
  ProhibitSendQuota: ByteQuantifiedSize | 'Unlimited';
};

const target = await exchangeOnlineTarget({ mailboxCount: 5000 });
try {
  await using exo = await connectExchangeOnline({
    ...target.options,
    pageSize: Number(process.env['PSRP_EXO_PAGE_SIZE'] ?? 1000),
  });

  // Get-Mailbox with its default ResultSize (1000): print the first 10, then Exchange's warning.
  console.log(
    'DisplayName'.padEnd(24) + 'PrimarySmtpAddress'.padEnd(34) + 'Type'.padEnd(16) + 'ProhibitSendQuota',
  );
  let listed = 0;
  for await (const r of exo.records('Get-Mailbox')) {
    if (r.stream === 'warning') console.log(`WARNING: ${r.value.message.slice(0, 60)}…`);
    if (r.stream !== 'output' || ++listed > 10) continue;
    const m = r.value as Mailbox;
    const q = m.ProhibitSendQuota;
    console.log(
      m.DisplayName.padEnd(24) +
        m.PrimarySmtpAddress.padEnd(34) +
        m.RecipientTypeDetails.padEnd(16) +
        (typeof q === 'object' ? `${q.bytes} bytes` : q),
    );
  }
  console.log(`(${listed} returned by default)`);

  // Every mailbox, streamed: the next page is fetched only when this loop needs it.
  let count = 0;
  let shared = 0;
  for await (const m of exo.stream<Mailbox>('Get-Mailbox', { ResultSize: 'Unlimited' })) {
    count++;
    if (m.RecipientTypeDetails === 'SharedMailbox') shared++;
  }
  const pages = target.lab?.exo.counts.get('page');
  console.log(
    `\npaged through ${count} mailboxes (${shared} shared)${pages !== undefined ? `; the lab served ${pages} pages` : ''}`,
  );
} finally {
  await target.close();
}
