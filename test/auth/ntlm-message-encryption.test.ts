// NTLM sealing inside WinRM's multipart/encrypted framing, both directions, with the test acceptor.
import { describe, expect, it } from 'vitest';
import { NtlmClientContext, ntlmTargetName } from '../../src/auth/ntlm-context.js';
import { ntlmSealingContext } from '../../src/auth/ntlm-sealing.js';
import { ProtocolError } from '../../src/errors.js';
import { decryptMessage, encryptMessage } from '../../src/http/message-encryption.js';
import { TestNtlmAcceptor } from '../helpers/ntlm-acceptor.js';

function pair(): {
  client: ReturnType<typeof ntlmSealingContext>;
  server: ReturnType<typeof ntlmSealingContext>;
} {
  const client = new NtlmClientContext({
    credentials: { username: 'CONTOSO\\bob', password: 'S3cret!' },
    targetName: ntlmTargetName('cas.contoso.test'),
  });
  const server = new TestNtlmAcceptor({
    user: 'bob',
    domain: 'CONTOSO',
    password: 'S3cret!',
    targetName: 'HTTP/cas.contoso.test',
  });
  server.accept(client.authenticate(server.challenge(client.negotiate())));
  return { client: ntlmSealingContext(client), server: ntlmSealingContext(server) };
}

const envelope = (i: number): string =>
  `<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body>request ${i} ${'x'.repeat(i * 37)}</s:Body></s:Envelope>`;

describe('NTLM message encryption (MS-WSMV 2.2.9.1 with MS-NLMP sealing)', () => {
  it('carries requests and responses in order, with 16-byte NTLM signatures as headers', async () => {
    const { client, server } = pair();
    for (let i = 0; i < 20; i++) {
      const request = await encryptMessage(client, envelope(i));
      expect(request.body.toString('latin1')).not.toContain(`request ${i}`);
      expect(request.body.readUInt32LE(request.body.indexOf('octet-stream\r\n') + 14)).toBe(16);
      expect(await decryptMessage(server, request.body, request.contentType)).toBe(envelope(i));
      const response = await encryptMessage(server, `<answer n="${i}"/>`);
      expect(await decryptMessage(client, response.body, response.contentType)).toBe(`<answer n="${i}"/>`);
    }
  });

  it('refuses a replayed or reordered message (sequence numbers) with PSRP_ENCRYPTION_INVALID', async () => {
    const { client, server } = pair();
    const first = await encryptMessage(client, envelope(1));
    const second = await encryptMessage(client, envelope(2));
    await expect(decryptMessage(server, second.body, second.contentType)).rejects.toThrow(ProtocolError);
    const { client: c2, server: s2 } = pair();
    const m = await encryptMessage(c2, envelope(3));
    expect(await decryptMessage(s2, m.body, m.contentType)).toBe(envelope(3));
    try {
      await decryptMessage(s2, m.body, m.contentType);
      expect.unreachable();
    } catch (e) {
      expect((e as ProtocolError).code).toBe('PSRP_ENCRYPTION_INVALID');
    }
    void first;
  });
});
