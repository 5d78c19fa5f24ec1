/**
 * Issue 12, transport half: `servername` names the certificate of the configured host only. A
 * server that redirects (with `allowRedirection`) to another host whose certificate does not name
 * that host — but does name the `servername` given for the first one — must not get the
 * Authorization header: the redirect target is verified against its own name.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { HttpTransport, type PsrpError } from '../../src/index.js';
import { createTestCertificate, type TestCertificate } from '../../src/lab/certificate.js';
import { closeAllServers, reply, soap, startServer } from '../http/servers.js';

afterEach(closeAllServers);

let first: TestCertificate;
let target: TestCertificate;
beforeAll(async () => {
  // Both certificates name only `exchange.contoso.test`, never a loopback address.
  first = await createTestCertificate({
    commonName: 'exchange.contoso.test',
    dnsNames: ['exchange.contoso.test'],
    loopbackNames: false,
  });
  target = await createTestCertificate({
    commonName: 'exchange.contoso.test',
    dnsNames: ['exchange.contoso.test'],
    loopbackNames: false,
  });
}, 30_000);

describe('servername with allowRedirection', () => {
  it('applies to the first host only: the redirect target is checked against its own name and gets no Authorization', async () => {
    const other = await startServer(reply(200, soap()), { key: target.key, cert: target.cert });
    const origin = await startServer(
      (_req, res) => {
        res.writeHead(307, { location: `${other.origin}/wsman` });
        res.end();
      },
      { key: first.key, cert: first.cert },
    );
    const t = new HttpTransport({
      url: `${origin.origin}/wsman`,
      servername: 'exchange.contoso.test',
      ca: [first.ca, target.ca],
      allowRedirection: true,
      auth: { username: 'alice', password: 'Secret-for-the-first-host-only' },
    });
    try {
      const e = await t.send(soap()).then(
        () => {
          throw new Error('expected the redirect target to be refused');
        },
        (err: unknown) => err as PsrpError,
      );
      expect(e.code).toBe('PSRP_TLS_NAME_MISMATCH');
      expect(e.message).toContain('127.0.0.1');
      // The first host, which its certificate names through `servername`, was asked with credentials.
      expect(origin.requests).toHaveLength(1);
      expect(origin.requests[0]!.headers.authorization).toMatch(/^Basic /);
      // The redirect target never received a request, let alone the Authorization header.
      expect(other.requests).toHaveLength(0);
    } finally {
      await t.close();
    }
  }, 20_000);

  it('the first host itself is still verified against servername', async () => {
    const origin = await startServer(reply(200, soap()), { key: first.key, cert: first.cert });
    const t = new HttpTransport({
      url: `${origin.origin}/wsman`,
      servername: 'exchange.contoso.test',
      ca: first.ca,
    });
    try {
      expect(await t.send(soap())).toContain('Envelope');
    } finally {
      await t.close();
    }
  }, 20_000);
});
