/**
 * Inside the network: Windows authentication instead of Basic. Negotiate uses Kerberos when this
 * process has a ticket (kinit) and NTLM otherwise; over http:// psrp encrypts every message with the
 * authentication context, as WinRM requires.
 *
 *   npx tsx examples/windows-auth.ts          # no server configured: a throw-away MIT Kerberos realm
 *                                             # and the lab with a real GSSAPI acceptor (needs
 *                                             # bash scripts/ensure-gss.sh once)
 *   PSRP_URI=http://ex01.contoso.com/PowerShell/ PSRP_CONFIGURATION=Microsoft.Exchange \
 *     PSRP_AUTH=negotiate PSRP_USER='CONTOSO\svc-bot' PSRP_PASSWORD=... npx tsx examples/windows-auth.ts
 *
 * PSRP_AUTH: negotiate (default), kerberos (ticket only: run kinit first), ntlm.
 */
import { RunspacePool, type AuthOption } from '../src/index.js';
import { LAB_USERS, startLab, startTestRealm } from '../src/lab/index.js';

const env = process.env;

async function main(): Promise<void> {
  if (env['PSRP_URI']) {
    const method = (env['PSRP_AUTH'] ?? 'negotiate') as 'negotiate' | 'kerberos' | 'ntlm';
    const credentials =
      env['PSRP_USER'] !== undefined
        ? { username: env['PSRP_USER'], password: env['PSRP_PASSWORD'] ?? '' }
        : undefined;
    const auth: AuthOption =
      method === 'kerberos'
        ? { method }
        : method === 'ntlm'
          ? { method, username: credentials?.username ?? '', password: credentials?.password ?? '' }
          : { method, ...credentials };
    await show(env['PSRP_URI'], auth, env['PSRP_CONFIGURATION'] ?? 'Microsoft.PowerShell');
    return;
  }

  // No server: a realm with alice, and the lab accepting Negotiate/Kerberos/NTLM through GSSAPI.
  const password = 'Alic3-Passw0rd!';
  const realm = await startTestRealm({ users: { alice: password } });
  const lab = await startLab({
    users: { ...LAB_USERS, alice: { password: 'basic-not-used', role: 'admin' } },
    gssapi: { env: realm.acceptorEnv },
    behaviours: { authSchemes: ['Negotiate', 'Kerberos', 'NTLM'] },
  });
  try {
    console.log(`No PSRP_URI set: realm ${realm.realm} and the lab at ${lab.httpOrigin}/wsman\n`);
    // NTLM over plain http: every message sealed.
    await show(`${lab.httpOrigin}/wsman`, { method: 'ntlm', username: 'PSRP\\alice', password });
    // Kerberos with a ticket from kinit (what a domain-joined service account does), over plain
    // http: every message sealed with the Kerberos context.
    const ticket = await realm.kinit('alice');
    Object.assign(process.env, ticket);
    await show(`${lab.httpOrigin}/wsman`, { method: 'negotiate' });
    // The same over https: TLS protects the messages.
    await show(lab.url, { method: 'kerberos' }, 'Microsoft.PowerShell', lab.ca);
  } finally {
    await lab.close();
    await realm.close();
  }
}

async function show(
  uri: string,
  auth: AuthOption,
  configurationName = 'Microsoft.PowerShell',
  ca?: string,
): Promise<void> {
  const pool = await RunspacePool.open({ uri, auth, configurationName, ...(ca ? { ca } : {}) });
  try {
    const r = await pool
      .powershell()
      .addScript('"{0} on PowerShell {1}" -f [Environment]::UserName, $PSVersionTable.PSVersion')
      .invoke();
    const how = typeof auth === 'object' && 'method' in auth ? auth.method : 'basic';
    console.log(
      `${how.padEnd(9)} ${new URL(uri).protocol.replace(':', '').padEnd(5)} → ${String(r.output[0])}`,
    );
  } finally {
    await pool.close();
  }
}

await main();
