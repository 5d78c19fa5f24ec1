import { createPrivateKey, X509Certificate } from 'node:crypto';
import { createServer } from 'node:https';
import type { Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { connect } from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../src/errors.js';
import { createClientCertificate, createTestCertificate, createTestCertificateAuthority } from '../../src/lab/certificate.js';
import type { TestCertificate } from '../../src/lab/certificate.js';

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

/** Serves `c` on loopback and returns the TLS verification outcome of a client trusting `ca`. */
async function handshake(c: TestCertificate, ca: string, servername = 'localhost'): Promise<string> {
  const server = createServer({ cert: c.cert, key: c.key }, (_req, res) => res.end('ok'));
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1', servername, ca }, () => {
      socket.end();
      resolve('trusted');
    });
    socket.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
  });
}

describe('createTestCertificate', () => {
  it('makes a self-signed certificate for localhost and loopback addresses that verifies against itself', async () => {
    const c = await createTestCertificate();
    expect(c.ca).toBe(c.cert);
    const x = new X509Certificate(c.cert);
    expect(x.subjectAltName).toContain('DNS:localhost');
    expect(x.subjectAltName).toContain('IP Address:127.0.0.1');
    expect(x.checkHost('localhost')).toBe('localhost');
    expect(x.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(new Date(x.validTo).getTime()).toBeGreaterThan(Date.now() + 86_400_000);
    expect(c.key).toMatch(/-----BEGIN PRIVATE KEY-----/);
    expect(x.checkPrivateKey((await import('node:crypto')).createPrivateKey(c.key))).toBe(true);
    expect(await handshake(c, c.ca)).toBe('trusted');
  });

  it('adds extra DNS names and IPs, and a name outside the SAN fails the handshake', async () => {
    const c = await createTestCertificate({ dnsNames: ['second.test'], ipAddresses: ['10.1.2.3'] });
    expect(c.subjectAltNames).toEqual(expect.arrayContaining(['localhost', 'second.test', '127.0.0.1', '10.1.2.3']));
    expect(await handshake(c, c.ca, 'second.test')).toBe('trusted');
    expect(await handshake(c, c.ca, 'other.test')).toBe('ERR_TLS_CERT_ALTNAME_INVALID');
  });

  it('makes a CA and a leaf it signed: trusted through the CA, untrusted without it', async () => {
    const c = await createTestCertificate({ signedByCa: true });
    expect(c.ca).not.toBe(c.cert);
    const leaf = new X509Certificate(c.cert);
    const ca = new X509Certificate(c.ca);
    expect(leaf.checkIssued(ca)).toBe(true);
    expect(ca.ca).toBe(true);
    expect(leaf.ca).toBe(false);
    expect(await handshake(c, c.ca)).toBe('trusted');
    const other = await createTestCertificate();
    expect(await handshake(c, other.ca)).toBe('UNABLE_TO_VERIFY_LEAF_SIGNATURE');
  });

  it('makes expired certificates (self-signed and CA-signed)', async () => {
    for (const signedByCa of [false, true]) {
      const c = await createTestCertificate({ expired: true, signedByCa });
      const x = new X509Certificate(c.cert);
      expect(new Date(x.validTo).getTime()).toBeLessThan(Date.now());
      expect(await handshake(c, c.ca)).toBe('CERT_HAS_EXPIRED');
    }
  });

  it('refuses names that are not DNS names or IP addresses', async () => {
    await expect(createTestCertificate({ dnsNames: ['bad,DNS:evil'] })).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(createTestCertificate({ ipAddresses: ['300.1.1.1'] })).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(createTestCertificate({ commonName: 'a/CN=b' })).rejects.toBeInstanceOf(InvalidArgumentError);
  });
});

describe('createClientCertificate', () => {
  it('makes a client certificate for a user: CN, UPN otherName, EKU clientAuth, signed by the given CA', async () => {
    const ca = await createTestCertificateAuthority();
    const caX = new X509Certificate(ca.cert);
    expect(caX.ca).toBe(true);
    const c = await createClientCertificate({ user: 'alice', issuer: ca });
    const x = new X509Certificate(c.cert);
    expect(x.subject).toBe('CN=alice');
    expect(x.subjectAltName).toBe('othername:UPN:alice@localhost');
    expect(x.keyUsage).toEqual(['1.3.6.1.5.5.7.3.2']);
    expect(x.ca).toBe(false);
    expect(x.checkIssued(caX) && x.verify(caX.publicKey)).toBe(true);
    expect(x.checkPrivateKey(createPrivateKey(c.key))).toBe(true);
    expect(c.ca).toBe(ca.cert);
    expect(c.subjectAltNames).toEqual(['alice@localhost']);
  });

  it('self-signs without an issuer, takes another UPN or none, refuses odd names', async () => {
    const c = await createClientCertificate({ user: 'bob', upn: 'bob@contoso.com' });
    const x = new X509Certificate(c.cert);
    expect(x.issuer).toBe('CN=bob');
    expect(x.subjectAltName).toBe('othername:UPN:bob@contoso.com');
    expect(new X509Certificate((await createClientCertificate({ user: 'carol', upn: false })).cert).subjectAltName).toBeUndefined();
    await expect(createClientCertificate({ user: 'a/CN=b' })).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(createClientCertificate({ user: 'a', upn: 'x,DNS:evil@y' })).rejects.toBeInstanceOf(InvalidArgumentError);
  });
});
