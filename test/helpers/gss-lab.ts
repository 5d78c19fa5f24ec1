// The GSS lab the gss/Kerberos lab tests share: a throw-away MIT realm (src/lab/test-realm.ts) and
// the lab with its GSSAPI acceptor in front, alice a lab admin; plus raw-HTTP helpers to drive the
// acceptor by hand on one keep-alive undici connection.
import type { Client } from 'undici';
import { randomIds } from '../../src/internal/ids.js';
import { LAB_USERS } from '../../src/lab/exchange-runspace.js';
import { startLab, type Lab } from '../../src/lab/lab-server.js';
import { startTestRealm, type TestRealm } from '../../src/lab/test-realm.js';
import { deleteEnvelope } from '../../src/wsman/envelope.js';

/** alice's realm (and NTLM) password in the GSS lab tests. */
export const ALICE_PASSWORD = 'Alic3-Passw0rd!';

export interface GssLab {
  readonly realm: TestRealm;
  readonly lab: Lab;
}

/**
 * Starts a realm with `users` (default alice only) and a lab whose GSSAPI acceptor uses it, offering
 * Negotiate, Kerberos, NTLM and Basic; alice is a lab admin. Close with {@link closeGssLab}.
 */
export async function startGssLab(
  users: Readonly<Record<string, string>> = { alice: ALICE_PASSWORD },
): Promise<GssLab> {
  const realm = await startTestRealm({ users });
  try {
    const lab = await startLab({
      users: { ...LAB_USERS, alice: { password: 'basic-unused-1', role: 'admin' } },
      gssapi: { env: realm.acceptorEnv },
      behaviours: { authSchemes: ['Negotiate', 'Kerberos', 'NTLM', 'Basic'] },
    });
    return { realm, lab };
  } catch (e) {
    await realm.close();
    throw e;
  }
}

/** Closes what {@link startGssLab} started (either may be undefined if beforeAll failed). */
export async function closeGssLab(lab: Lab | undefined, realm: TestRealm | undefined): Promise<void> {
  await lab?.close();
  await realm?.close();
}

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** POST /wsman on `client`'s connection; the whole answer. */
export async function post(
  client: Client,
  headers: Record<string, string>,
  body: string | Buffer = '',
): Promise<Reply> {
  const r = await client.request({ path: '/wsman', method: 'POST', headers, body });
  return { status: r.statusCode, headers: r.headers, body: Buffer.from(await r.body.arrayBuffer()) };
}

/** The base64 token of a `WWW-Authenticate: <scheme> <token>` answer, if there is one. */
export function tokenOf(reply: Reply, scheme: string): string | undefined {
  return new RegExp(`^${scheme} (\\S+)$`).exec(String(reply.headers['www-authenticate'] ?? ''))?.[1];
}

/** The decoded token of a `WWW-Authenticate: <scheme> <token>` answer; throws when there is none. */
export function tokenBytesOf(reply: Reply, scheme: string): Buffer {
  const token = tokenOf(reply, scheme);
  if (token === undefined) {
    throw new Error(
      `no ${scheme} token in ${JSON.stringify(String(reply.headers['www-authenticate'] ?? ''))}`,
    );
  }
  return Buffer.from(token, 'base64');
}

/**
 * A Delete of a shell that does not exist: the lab answers it with a SOAP fault 2150858843 (invalid
 * selectors), which shows a (sealed) request was processed.
 */
export function unknownShellDeleteXml(lab: Lab): string {
  return deleteEnvelope(
    {
      to: `${lab.httpOrigin}/wsman`,
      resourceUri: 'http://schemas.microsoft.com/powershell/Microsoft.PowerShell',
      ids: randomIds,
      sessionId: crypto.randomUUID(),
      maxEnvelopeSize: 153600,
      operationTimeoutSeconds: 20,
      locale: 'en-US',
      dataLocale: 'en-US',
    },
    '11111111-2222-3333-4444-555555555555',
  ).xml;
}
