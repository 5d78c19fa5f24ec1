/**
 * Client-certificate authentication (/wsman) and a token through Basic (/PowerShell/), end to end:
 * the public API → HttpTransport → the lab's HTTPS listener → real pwsh.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AuthenticationError,
  CertificateAuthenticator,
  InvalidArgumentError,
  RunspacePool,
  TokenAuthenticator,
  WSMAN_HTTPS_MUTUAL,
  type Authenticator,
  type RunspacePoolOptions,
} from '../../src/index.js';
import { createClientCertificate, createTestCertificateAuthority } from '../../src/lab/certificate.js';
import { startLab, type Lab } from '../../src/lab/lab-server.js';
import { requirePwsh } from '../helpers/pwsh.js';

// Test values shaped like access tokens, not real ones.
const READONLY_TOKEN = 'eyJ0eXAiOiJKV1QifQ.eyJ1cG4iOiJyZWFkb25seSJ9.bGFiLW9ubHk';
const ADMIN_TOKEN = 'eyJ0eXAiOiJKV1QifQ.eyJ1cG4iOiJhZG1pbiJ9.bGFiLW9ubHk';

let lab: Lab;
beforeAll(async () => {
  requirePwsh();
  lab = await startLab({
    clientCertificates: true,
    tokens: { [READONLY_TOKEN]: 'readonly', [ADMIN_TOKEN]: 'admin' },
    mailboxCount: 20,
  });
}, 60_000);
afterAll(async () => {
  await lab?.close();
});

async function failure(options: RunspacePoolOptions): Promise<Error> {
  const pool = await RunspacePool.open(options).catch((e: unknown) => e as Error);
  if (pool instanceof RunspacePool) {
    await pool.close();
    throw new Error('expected the pool not to open');
  }
  return pool;
}

async function expectAuthFailed(
  options: RunspacePoolOptions,
  mechanism: string,
): Promise<AuthenticationError> {
  const err = await failure(options);
  expect(err).toBeInstanceOf(AuthenticationError);
  expect((err as AuthenticationError).code).toBe('PSRP_AUTH_FAILED');
  expect((err as AuthenticationError).statusCode).toBe(401);
  expect((err as AuthenticationError).mechanism).toBe(mechanism);
  return err as AuthenticationError;
}

describe('client-certificate authentication against the lab (/wsman)', () => {
  it('runs a command with a certificate mapped by its UPN, and by its CN', async () => {
    for (const upn of [undefined, false] as const) {
      const client = await lab.issueClientCertificate('admin', { ...(upn === false ? { upn } : {}) });
      const pool = await RunspacePool.open({
        uri: lab.url,
        ca: lab.ca,
        auth: new CertificateAuthenticator({ cert: client.cert, key: client.key }),
      });
      try {
        const r = await pool.powershell().addScript('1 + 1; $PSVersionTable.PSVersion.Major').invoke();
        expect(r.output).toEqual([2, 7]);
      } finally {
        await pool.close();
      }
    }
    expect(lab.liveShells()).toBe(0);
  });

  it('keeps Basic working on the listener that asks for certificates', async () => {
    const pool = await RunspacePool.open({
      uri: lab.url,
      ca: lab.ca,
      auth: { username: 'admin', password: lab.users['admin']! },
    });
    expect((await pool.powershell().addScript('3').invoke()).output).toEqual([3]);
    await pool.close();
  });

  it('no certificate, an untrusted one, an unmapped one: PSRP_AUTH_FAILED (401) with a certificate hint', async () => {
    const noCertificate: Authenticator = {
      mechanism: 'certificate',
      requiresEncryption: false,
      authorize: () => WSMAN_HTTPS_MUTUAL,
      respond: () => undefined,
    };
    const missing = await expectAuthFailed({ uri: lab.url, ca: lab.ca, auth: noCertificate }, 'certificate');
    expect(missing.hint).toMatch(/ClientCertificate/);

    const selfSigned = await createClientCertificate({ user: 'admin' });
    await expectAuthFailed(
      {
        uri: lab.url,
        ca: lab.ca,
        auth: new CertificateAuthenticator({ cert: selfSigned.cert, key: selfSigned.key }),
      },
      'certificate',
    );

    const otherCa = await createClientCertificate({
      user: 'admin',
      issuer: await createTestCertificateAuthority(),
    });
    await expectAuthFailed(
      {
        uri: lab.url,
        ca: lab.ca,
        auth: new CertificateAuthenticator({ cert: otherCa.cert, key: otherCa.key }),
      },
      'certificate',
    );

    const unmapped = await lab.issueClientCertificate('nobody');
    await expectAuthFailed(
      {
        uri: lab.url,
        ca: lab.ca,
        auth: new CertificateAuthenticator({ cert: unmapped.cert, key: unmapped.key }),
      },
      'certificate',
    );
    expect(lab.liveShells()).toBe(0);
  });

  it("is not accepted on Exchange's /PowerShell/ endpoint, and refused over http:// before any request", async () => {
    const client = await lab.issueClientCertificate('admin');
    const auth = new CertificateAuthenticator({ cert: client.cert, key: client.key });
    await expectAuthFailed(
      { uri: lab.exchangeUrl, configurationName: 'Microsoft.Exchange', ca: lab.ca, auth },
      'certificate',
    );
    const before = lab.requestCounts.get('Create') ?? 0;
    const err = await failure({ uri: `${lab.httpOrigin}/wsman`, auth, allowUnencrypted: true });
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect((err as InvalidArgumentError).code).toBe('PSRP_INVALID_ARGUMENT');
    expect(err.message).toMatch(/needs https:\/\//);
    expect(lab.requestCounts.get('Create') ?? 0).toBe(before);
  });
});

describe('a token through Basic against the lab (/PowerShell/)', () => {
  const exchange = (auth: Authenticator, extra: Partial<RunspacePoolOptions> = {}): RunspacePoolOptions => ({
    uri: lab.exchangeUrl,
    configurationName: 'Microsoft.Exchange',
    ca: lab.ca,
    auth,
    ...extra,
  });

  it('runs commands as the user the token belongs to (its role decides the commands)', async () => {
    const pool = await RunspacePool.open(
      exchange(new TokenAuthenticator({ username: 'readonly@contoso.com', token: READONLY_TOKEN })),
    );
    try {
      expect(pool.connection).toBeDefined();
      const cmds = (await pool.powershell().addCommand('Get-Command').invoke()).output.map((c) =>
        String((c as Record<string, unknown>)['Name']),
      );
      expect(cmds).toContain('Get-Recipient');
      expect(cmds).not.toContain('Get-Mailbox');
      const r = await pool.powershell().addCommand('Get-Recipient').addParameter('ResultSize', 5).invoke();
      expect(r.output).toHaveLength(5);
    } finally {
      await pool.close();
    }
    const admin = await RunspacePool.open(
      exchange(new TokenAuthenticator({ username: 'admin', token: `Bearer ${ADMIN_TOKEN}` })),
    );
    try {
      expect(
        (await admin.powershell().addCommand('Get-Mailbox').addParameter('ResultSize', 3).invoke()).output,
      ).toHaveLength(3);
    } finally {
      await admin.close();
    }
  });

  it('a wrong token, another user, an expired token: PSRP_AUTH_FAILED (401) with a token hint', async () => {
    const wrong = await expectAuthFailed(
      exchange(new TokenAuthenticator({ username: 'readonly', token: 'eyJ3cm9uZyJ9.e30.eA' })),
      'token',
    );
    expect(wrong.hint).toMatch(/expired/);
    expect(wrong.message).not.toContain(READONLY_TOKEN);
    await expectAuthFailed(
      exchange(new TokenAuthenticator({ username: 'admin', token: READONLY_TOKEN })),
      'token',
    );
    const expiring = `${READONLY_TOKEN}x`;
    lab.tokens.set(expiring, 'readonly');
    const pool = await RunspacePool.open(
      exchange(new TokenAuthenticator({ username: 'readonly', token: expiring })),
    );
    await pool.close();
    lab.tokens.delete(expiring);
    await expectAuthFailed(
      exchange(new TokenAuthenticator({ username: 'readonly', token: expiring })),
      'token',
    );
  });

  it('needs BasicAuthToOAuthConversion=true: the same Basic header without it is refused', async () => {
    // A plain Basic password of `Bearer <token>` goes to a URL without the parameter.
    await expectAuthFailed(
      exchange({ username: 'readonly', password: `Bearer ${READONLY_TOKEN}` } as never),
      'basic',
    );
  });

  it('is refused over http:// (PSRP_INSECURE_BASIC) before any request', async () => {
    const before = lab.requestCounts.get('Create') ?? 0;
    const err = await failure(
      exchange(new TokenAuthenticator({ username: 'readonly', token: READONLY_TOKEN }), {
        uri: `${lab.httpOrigin}/PowerShell/`,
      }),
    );
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect((err as InvalidArgumentError).code).toBe('PSRP_INSECURE_BASIC');
    expect(err.message).not.toContain(READONLY_TOKEN);
    expect(lab.requestCounts.get('Create') ?? 0).toBe(before);
  });
});
