/** DNS: the name resolves (field guide: external DNS must point at ARR, internal at the CAS), and whether it is a CNAME. */
import { promises as dns } from 'node:dns';
import { isIP } from 'node:net';
import type { DiagnoseContext, Stop } from './context.js';
import { errCode, withTimeout } from './probes.js';

export async function checkDns(ctx: DiagnoseContext): Promise<Stop | undefined> {
  const { host, timeoutMs } = ctx;
  if (isIP(host)) {
    ctx.add('dns', 'pass', `${host} is an address; no DNS lookup needed`);
    return undefined;
  }
  try {
    const found = await withTimeout(dns.lookup(host, { all: true }), timeoutMs, 'DNS');
    ctx.address = found[0]!.address;
    if (host !== 'localhost') {
      try {
        const resolver = new dns.Resolver({ timeout: 1500, tries: 1 });
        ctx.alias = (await withTimeout(resolver.resolveCname(host), 2000, 'DNS'))[0];
      } catch {
        // No CNAME (or no DNS server answering CNAME queries): the name is not an alias we can see.
      }
    }
    const alias = ctx.alias;
    ctx.add(
      'dns',
      'pass',
      `${host} → ${found.map((a) => a.address).join(', ')}${alias ? ` (an alias of ${alias})` : ''}`,
    );
    return undefined;
  } catch (e) {
    const code = errCode(e);
    ctx.add(
      'dns',
      'fail',
      `${host} does not resolve (${code})`,
      code === 'ENOTFOUND'
        ? 'Check the spelling and use the FQDN. From outside, public DNS must point the name at the reverse proxy (ARR); inside, at the CAS. Test with nslookup, or add a hosts-file entry.'
        : 'No DNS server answered: check the DNS settings and the network (VPN).',
    );
    return { from: 'tcp', reason: 'skipped: the name does not resolve' };
  }
}
