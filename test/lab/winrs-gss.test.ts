// WinRS over the same authenticated transport stack as PSRP: NTLM over plain http (every message
// sealed, the lab refuses plaintext) and Kerberos over https, against the GSS lab (a real MIT KDC
// and gss-ntlmssp acceptor). Every shell is deleted.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WinRSShell } from '../../src/index.js';
import { channels } from '../../src/internal/debug.js';
import type { Lab } from '../../src/lab/lab-server.js';
import type { TestRealm } from '../../src/lab/test-realm.js';
import { ALICE_PASSWORD, closeGssLab, startGssLab } from '../helpers/gss-lab.js';

let realm: TestRealm;
let lab: Lab;

beforeAll(async () => {
  ({ realm, lab } = await startGssLab());
  const env = await realm.kinit('alice');
  process.env['KRB5_CONFIG'] = env.KRB5_CONFIG;
  process.env['KRB5CCNAME'] = env.KRB5CCNAME;
}, 60_000);
afterAll(() => closeGssLab(lab, realm));

async function contentTypesOf(f: () => Promise<void>): Promise<string[]> {
  const types: string[] = [];
  const listener = (e: unknown): void => {
    types.push((e as { requestHeaders: Record<string, string> }).requestHeaders['content-type'] ?? '');
  };
  channels.httpExchange.subscribe(listener);
  try {
    await f();
  } finally {
    channels.httpExchange.unsubscribe(listener);
  }
  return types;
}

describe('WinRS through the GSS lab', () => {
  it('NTLM over http: every WinRS message is sealed', async () => {
    const decrypted = lab.gssCounts.get('decrypted') ?? 0;
    const refused = lab.gssCounts.get('plaintextRefused') ?? 0;
    let out = '';
    const types = await contentTypesOf(async () => {
      await using shell = await WinRSShell.open({
        uri: `${lab.httpOrigin}/wsman`,
        auth: { method: 'ntlm', username: 'PSRP\\alice', password: ALICE_PASSWORD },
      });
      out = (await shell.run('echo', ['sealed', 'hello'])).stdout;
    });
    expect(out).toBe('sealed hello\n');
    // Create, Command, Receive, Signal, Delete: all sealed, and the lab decrypted them all.
    const sealed = types.filter((t) => t.startsWith('multipart/encrypted'));
    expect(sealed.length).toBeGreaterThanOrEqual(5);
    expect(
      types.every((t) => t.startsWith('multipart/encrypted') || t.startsWith('application/soap+xml')),
    ).toBe(true);
    expect((lab.gssCounts.get('decrypted') ?? 0) - decrypted).toBe(sealed.length);
    expect(lab.gssCounts.get('plaintextRefused') ?? 0).toBe(refused);
    expect(lab.liveShells()).toBe(0);
  }, 60_000);

  it('Kerberos over https', async () => {
    await using shell = await WinRSShell.open({ uri: lab.url, auth: { method: 'kerberos' }, ca: lab.ca });
    const r = await shell.run('echo', ['kerberos']);
    expect(r).toMatchObject({ exitCode: 0, stdout: 'kerberos\n' });
  }, 60_000);
});
