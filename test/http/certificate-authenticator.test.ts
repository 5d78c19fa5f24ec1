import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { inspect, promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { AuthenticationError, InvalidArgumentError } from '../../src/errors.js';
import { CertificateAuthenticator, WSMAN_HTTPS_MUTUAL } from '../../src/http/certificate-authenticator.js';
import { HttpTransport } from '../../src/http/http-transport.js';
import {
  createClientCertificate,
  createTestCertificate,
  createTestCertificateAuthority,
  type TestCertificate,
  type TestCertificateAuthority,
} from '../../src/lab/certificate.js';
import { thrown } from '../helpers/thrown.js';
import { reply, soap, startServer } from './servers.js';
import { transportsClosedAfterEach } from './transports.js';

let server: TestCertificate;
let clientCa: TestCertificateAuthority;
let alice: TestCertificate;
let other: TestCertificate;
let pfx: Buffer;
beforeAll(async () => {
  [server, clientCa, other] = await Promise.all([
    createTestCertificate(),
    createTestCertificateAuthority(),
    createClientCertificate({ user: 'mallory' }),
  ]);
  alice = await createClientCertificate({ user: 'alice', issuer: clientCa });
  // A PKCS#12 file as Windows exports one, made with the openssl CLI (as the lab's certificates are).
  const dir = await mkdtemp(join(tmpdir(), 'psrp-pfx-'));
  try {
    await writeFile(join(dir, 'c.pem'), alice.cert);
    await writeFile(join(dir, 'k.pem'), alice.key);
    await promisify(execFile)(
      'openssl',
      [
        'pkcs12',
        '-export',
        '-in',
        'c.pem',
        '-inkey',
        'k.pem',
        '-passout',
        'pass:pfx-Secret-1',
        '-out',
        'c.pfx',
      ],
      { cwd: dir },
    );
    pfx = await readFile(join(dir, 'c.pfx'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

const transport = transportsClosedAfterEach();

/** An HTTPS server that asks for a client certificate and echoes what it saw. */
function echoServer(): ReturnType<typeof startServer> {
  return startServer(
    (req, res) => {
      const socket = req.socket as TLSSocket;
      const peer = socket.getPeerCertificate();
      res.writeHead(200, { 'content-type': 'application/soap+xml' });
      res.end(soap(`<s:Body>${peer.subject?.CN ?? 'none'}|${String(socket.authorized)}</s:Body>`));
    },
    { cert: server.cert, key: server.key, requestCert: true, rejectUnauthorized: false, ca: clientCa.cert },
  );
}

describe('CertificateAuthenticator', () => {
  it('sends the https/mutual security profile URI as Authorization, and never retries a 401', () => {
    const a = new CertificateAuthenticator({ cert: alice.cert, key: alice.key });
    expect(WSMAN_HTTPS_MUTUAL).toBe('http://schemas.dmtf.org/wbem/wsman/1/wsman/secprofile/https/mutual');
    expect(a.authorize({ method: 'POST', url: new URL('https://h:5986/wsman') })).toBe(WSMAN_HTTPS_MUTUAL);
    expect(a.respond()).toBeUndefined();
    expect(a.mechanism).toBe('certificate');
    expect(a.requiresEncryption).toBe(false);
    expect(a.subject).toBe('CN=alice');
    expect(a.fingerprint256).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    expect(a.clientCertificate()).toEqual({ cert: alice.cert, key: alice.key });
  });

  it('validates the material at construction, without quoting the key', () => {
    const cases: [unknown, RegExp][] = [
      [{ cert: alice.cert }, /needs `cert` and `key`/],
      [{ key: alice.key }, /needs `cert` and `key`/],
      [{}, /needs `cert` and `key`/],
      [{ cert: alice.cert, key: alice.key, pfx }, /not both/],
      [{ pfx: 'not a buffer' }, /Buffer/],
      [{ cert: 'not a certificate', key: alice.key }, /not a PEM certificate/],
      [{ cert: alice.cert, key: other.key }, /cannot be used/],
      [{ cert: alice.cert, key: alice.key, passphrase: 7 }, /passphrase/],
      [{ pfx, passphrase: 'wrong' }, /cannot be used/],
    ];
    for (const [input, message] of cases) {
      const err = thrown(() => new CertificateAuthenticator(input as never));
      expect(err, String(message)).toBeInstanceOf(InvalidArgumentError);
      expect((err as InvalidArgumentError).code).toBe('PSRP_INVALID_ARGUMENT');
      expect(err.message).toMatch(message);
      expect(err.message).not.toContain('PRIVATE KEY');
    }
  });

  it('takes a PKCS#12 file with its passphrase', () => {
    const a = new CertificateAuthenticator({ pfx, passphrase: 'pfx-Secret-1' });
    expect(a.subject).toBeUndefined();
    expect(a.clientCertificate()).toEqual({ pfx, passphrase: 'pfx-Secret-1' });
  });

  it('keeps the key and passphrase out of inspect and JSON', () => {
    const a = new CertificateAuthenticator({ cert: alice.cert, key: alice.key });
    const b = new CertificateAuthenticator({ pfx, passphrase: 'pfx-Secret-1' });
    for (const shown of [
      inspect(a, { depth: 5, showHidden: true }),
      JSON.stringify(a),
      inspect(b, { depth: 5 }),
      JSON.stringify(b),
    ]) {
      expect(shown).not.toMatch(/PRIVATE KEY|pfx-Secret-1/);
      expect(shown).not.toContain(alice.key.split('\n')[1]!);
    }
    expect(JSON.parse(JSON.stringify(a))).toEqual({
      mechanism: 'certificate',
      subject: 'CN=alice',
      fingerprint256: a.fingerprint256,
    });
  });

  it('refuses http:// with a typed error, even with allowUnencrypted', () => {
    const auth = new CertificateAuthenticator({ cert: alice.cert, key: alice.key });
    for (const allowUnencrypted of [false, true]) {
      const err = thrown(() => new HttpTransport({ url: 'http://host:5985/wsman', auth, allowUnencrypted }));
      expect(err).toBeInstanceOf(InvalidArgumentError);
      expect((err as InvalidArgumentError).code).toBe('PSRP_INVALID_ARGUMENT');
      expect(err.message).toMatch(/needs https:\/\/.*5986/);
    }
    expect(auth.prepareUrl(new URL('https://host:5986/wsman')).href).toBe('https://host:5986/wsman');
  });

  it('refuses a second client certificate in the transport options', () => {
    const auth = new CertificateAuthenticator({ cert: alice.cert, key: alice.key });
    const err = thrown(
      () => new HttpTransport({ url: 'https://host:5986/wsman', auth, cert: other.cert, key: other.key }),
    );
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect(err.message).toMatch(/once/);
  });

  it('presents the certificate in the handshake and the profile URI on every request', async () => {
    const s = await echoServer();
    const t = transport({
      url: `https://localhost:${s.port}/wsman`,
      ca: server.ca,
      auth: new CertificateAuthenticator({ cert: alice.cert, key: alice.key }),
    });
    await expect(t.send(soap())).resolves.toContain('<s:Body>alice|true</s:Body>');
    await expect(t.send(soap())).resolves.toContain('<s:Body>alice|true</s:Body>');
    expect(s.requests.map((r) => r.headers.authorization)).toEqual([WSMAN_HTTPS_MUTUAL, WSMAN_HTTPS_MUTUAL]);
    expect(t.mechanism).toBe('certificate');
    const fromPfx = transport({
      url: `https://localhost:${s.port}/wsman`,
      ca: server.ca,
      auth: new CertificateAuthenticator({ pfx, passphrase: 'pfx-Secret-1' }),
    });
    await expect(fromPfx.send(soap())).resolves.toContain('<s:Body>alice|true</s:Body>');
  });

  it('maps a 401 to AuthenticationError PSRP_AUTH_FAILED with a certificate hint', async () => {
    const s = await startServer(
      reply(401, '', { 'www-authenticate': ['Negotiate', 'Basic realm="WSMAN"'] }),
      {
        cert: server.cert,
        key: server.key,
        requestCert: true,
        rejectUnauthorized: false,
      },
    );
    const t = transport({
      url: `https://localhost:${s.port}/wsman`,
      ca: server.ca,
      auth: new CertificateAuthenticator({ cert: other.cert, key: other.key }),
    });
    const err = await t.send(soap()).then(
      () => new Error('resolved'),
      (e: unknown) => e as Error,
    );
    expect(err).toBeInstanceOf(AuthenticationError);
    expect((err as AuthenticationError).code).toBe('PSRP_AUTH_FAILED');
    expect((err as AuthenticationError).mechanism).toBe('certificate');
    expect((err as AuthenticationError).hint).toMatch(/ClientCertificate/);
    expect((err as AuthenticationError).hint).toMatch(/Certificate="true"/);
    expect(s.requests).toHaveLength(1);
  });
});
