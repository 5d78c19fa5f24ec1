/**
 * A chat-bot style request handler: many people ask at once, a small pool of Exchange sessions
 * answers. ExchangeSessionPool keeps at most `maxSessions` shells open (Exchange's per-user limit
 * is 18 by default), reuses them, replaces a shell that expired, and backs off when throttled.
 *
 *   npx tsx examples/chat-bot.ts                       # simulated chat against the lab
 *   npx tsx examples/chat-bot.ts "quota alice.smith"   # one message
 *   PSRP_SURFACE=exo npx tsx examples/chat-bot.ts  # the same bot on Exchange Online (admin API)
 *
 * The bot code is the same for both: ExchangeSessionPool takes Remote PowerShell options or
 * Exchange Online ones (`tenantId`, `token`). "quota" runs Get-MailboxStatistics, which no documented
 * v2.0 endpoint serves, so the Exchange Online target turns on the unsupported beta InvokeCommand.
 *
 * Messages: "mailbox <who>", "quota <who>", "members <group>", "help".
 *
 * Shutdown: Ctrl-C or SIGTERM aborts the requests in flight (their pipelines are stopped) and
 * `await using` closes the pool, which deletes every shell: none is left counting against the
 * per-user limit until Exchange expires it.
 */
import { ExchangeSessionPool } from '../src/exchange/index.js';
import { exchangeOnlineTarget } from './exchange-online-target.js';
import { exchangeTarget } from './exchange-target.js';

type Row = Readonly<Record<string, unknown>>;

const shutdown = new AbortController();
const stop = (): void => shutdown.abort();
process.once('SIGINT', stop);
process.once('SIGTERM', stop);

/** One chat message in, one reply out. Never throws: the bot always answers. */
export async function handle(pool: ExchangeSessionPool, message: string): Promise<string> {
  const options = { signal: shutdown.signal };
  const [verb = '', ...rest] = message.trim().split(/\s+/);
  const arg = rest.join(' ');
  try {
    switch (verb.toLowerCase()) {
      case 'mailbox': {
        const r = await pool.invoke('Get-Mailbox', { Identity: arg }, options);
        const m = r.output[0] as Row | undefined;
        return m
          ? `${String(m['DisplayName'])} <${String(m['PrimarySmtpAddress'])}>, ${String(m['RecipientTypeDetails'])} on ${String(m['Database'])}`
          : (r.errors[0]?.message ?? 'not found');
      }
      case 'quota': {
        const r = await pool.invoke('Get-MailboxStatistics', { Identity: arg }, options);
        const s = r.output[0] as Row | undefined;
        const size = s?.['TotalItemSize'] as { text?: string } | string | undefined;
        return s
          ? `${String(s['DisplayName'])} uses ${typeof size === 'object' ? (size.text ?? '?') : String(size)} in ${String(s['ItemCount'])} items`
          : (r.errors[0]?.message ?? 'not found');
      }
      case 'members': {
        const r = await pool.invoke('Get-DistributionGroupMember', { Identity: arg }, options);
        if (r.hadErrors) return r.errors[0]!.message;
        return `${arg}: ${r.output.map((m) => String((m as Row)['Name'])).join(', ') || 'no members'}`;
      }
      default:
        return 'Ask me: "mailbox <who>", "quota <who>" or "members <group>".';
    }
  } catch (e) {
    return `Sorry, Exchange did not answer: ${(e as Error).message}`;
  }
}

const target =
  process.env['PSRP_SURFACE'] === 'exo'
    ? await exchangeOnlineTarget({ mailboxCount: 50, unsupportedBetaInvokeCommand: true })
    : await exchangeTarget({ mailboxCount: 50 });
try {
  // `await using`: the pool is closed (every shell deleted) when this block ends, however it ends.
  await using pool = new ExchangeSessionPool({ ...target.options, maxSessions: 3 });
  pool.on('recovered', (e: { code: string }) => console.log(`(a session was lost: ${e.code}; replaced)`));
  const messages =
    process.argv.length > 2
      ? [process.argv.slice(2).join(' ')]
      : [
          'mailbox alice.smith',
          'quota bob.smith',
          'members DL-Sales',
          'mailbox nobody',
          'quota chen.smith',
          'mailbox dana.smith',
          'help',
          'quota alice.smith',
          'members dl-it',
          'mailbox bob.smith',
        ];
  // Everyone asks at once; the pool decides how many shells that takes.
  const replies = await Promise.all(
    messages.map(async (m, i) => `[${String(i + 1).padStart(2)}] ${m}\n     → ${await handle(pool, m)}`),
  );
  console.log(replies.join('\n'));
  const c = pool.counters;
  console.log(
    `\n${messages.length} messages answered with ${c.opened} sessions (at most 3 open), ${c.recovered} recovered, ${c.throttled} throttled`,
  );
} finally {
  process.off('SIGINT', stop);
  process.off('SIGTERM', stop);
  await target.close();
}
