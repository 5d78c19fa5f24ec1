/**
 * Shell: a runspace pool opens on the Exchange endpoint (and closes again); a quota refusal
 * (PowerShellMaxConcurrency) is explained. While it is open, the roles check runs (check-roles.ts).
 */
import { PsrpError } from '../../index.js';
import { connectExchange, type ExchangeSession } from '../exchange-session.js';
import type { DiagnoseContext, Session, Stop } from './context.js';
import { clip, errMessage, hintOf } from './probes.js';

export async function checkShell(
  ctx: DiagnoseContext,
  session: Session,
  whileOpen: (ex: ExchangeSession) => Promise<void>,
): Promise<Stop | undefined> {
  const { timeoutMs } = ctx;
  try {
    await using ex = await connectExchange({
      uri: ctx.url,
      auth: session.auth,
      ...session.http,
      requestTimeoutMs: Math.max(timeoutMs, 60_000),
      openTimeoutMs: Math.max(timeoutMs, 60_000),
    });
    ctx.add(
      'shell',
      'pass',
      `runspace pool opened (PSRP ${ex.pool.serverProtocolVersion ?? '?'}) and closed again`,
    );
    await whileOpen(ex);
    return undefined;
  } catch (e) {
    const code = e instanceof PsrpError ? e.code : undefined;
    ctx.add(
      'shell',
      'fail',
      `no shell: ${clip(errMessage(e), 500)}`,
      hintOf(e) ?? shellFix(errMessage(e)),
      code,
    );
    return { from: 'roles', reason: 'skipped: no shell' };
  }
}

function shellFix(message: string): string | undefined {
  if (
    /maximum number of (concurrent )?(connections|shells)|MaxConcurrency|PowerShellMaxConcurrency/i.test(
      message,
    )
  ) {
    return 'Too many open shells for this user (Exchange allows 18 by default): close the others (scripts that never closed theirs), wait for their idle timeout, or raise PowerShellMaxConcurrency in the throttling policy.';
  }
  return undefined;
}
