/** TCP: something listens on the port. */
import type { DiagnoseContext, Stop } from './context.js';
import { errCode, probeTcp } from './probes.js';

export async function checkTcp(ctx: DiagnoseContext): Promise<Stop | undefined> {
  const { address, port } = ctx;
  try {
    const ms = await probeTcp(address, port, ctx.timeoutMs);
    ctx.add('tcp', 'pass', `connected to ${address}:${port} in ${ms} ms`);
    return undefined;
  } catch (e) {
    const code = errCode(e);
    ctx.add(
      'tcp',
      'fail',
      `cannot connect to ${address}:${port} (${code})`,
      code === 'ECONNREFUSED'
        ? `Nothing listens on port ${port}: Exchange answers on 443 (https) and 80 (http); WinRM itself on 5985/5986. Check the URL, IIS and the firewall.`
        : `The host does not answer on port ${port}: check firewalls, routing and VPN.`,
    );
    return { from: ctx.https ? 'tls' : 'http', reason: 'skipped: no TCP connection' };
  }
}
