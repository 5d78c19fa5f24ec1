import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ProtocolError } from '../../src/index.js';
import {
  decryptMessage,
  encryptedBoundary,
  encryptMessage,
  SPNEGO_ENCRYPTED,
  type SealingContext,
} from '../../src/http/message-encryption.js';

/** A stand-in context: XOR with a key stream and a 16-byte MD5 signature (no security, just framing). */
function xorContext(): SealingContext {
  const ks = (n: number): Buffer => Buffer.from(Array.from({ length: n }, (_, i) => (i * 31 + 7) & 0xff));
  return {
    protocol: SPNEGO_ENCRYPTED,
    seal(plain) {
      const k = ks(plain.length);
      const data = Buffer.from(plain.map((b, i) => b ^ k[i]!));
      return { header: createHash('md5').update(plain).digest(), data };
    },
    unseal(header, data) {
      const k = ks(data.length);
      const plain = Buffer.from(data.map((b, i) => b ^ k[i]!));
      if (!createHash('md5').update(plain).digest().equals(Buffer.from(header)))
        throw new Error('bad signature');
      return plain;
    },
  };
}

const ENVELOPE =
  '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body>héllo ✓</s:Body></s:Envelope>';

describe('WinRM message encryption framing (MS-WSMV 2.2.9.1)', () => {
  it('frames a sealed envelope as multipart/encrypted and back', async () => {
    const ctx = xorContext();
    const { body, contentType } = await encryptMessage(ctx, ENVELOPE);
    expect(contentType).toBe(
      'multipart/encrypted;protocol="application/HTTP-SPNEGO-session-encrypted";boundary="Encrypted Boundary"',
    );
    const text = body.toString('latin1');
    expect(
      text.startsWith(
        '--Encrypted Boundary\r\n\tContent-Type: application/HTTP-SPNEGO-session-encrypted\r\n',
      ),
    ).toBe(true);
    expect(text).toContain(
      `\tOriginalContent: type=application/soap+xml;charset=UTF-8;Length=${Buffer.byteLength(ENVELOPE)}\r\n`,
    );
    expect(text).toContain(
      '--Encrypted Boundary\r\n\tContent-Type: application/octet-stream\r\n\x10\x00\x00\x00',
    );
    expect(text.endsWith('--Encrypted Boundary--\r\n')).toBe(true);
    expect(text).not.toContain('héllo');
    expect(await decryptMessage(ctx, body, contentType)).toBe(ENVELOPE);
  });

  it('takes the boundary from the Content-Type and joins multi-encrypted parts', async () => {
    const ctx = xorContext();
    const a = (await encryptMessage(ctx, '<a>first</a>')).body
      .toString('latin1')
      .replace('--Encrypted Boundary--\r\n', '');
    const b = (await encryptMessage(ctx, '<b>second</b>')).body.toString('latin1');
    const joined = Buffer.from((a + b).replace(/Encrypted Boundary/g, 'Other_Boundary'), 'latin1');
    expect(
      await decryptMessage(
        ctx,
        joined,
        'multipart/x-multi-encrypted;protocol="application/HTTP-CredSSP-session-encrypted";boundary="Other_Boundary"',
      ),
    ).toBe('<a>first</a><b>second</b>');
    expect(encryptedBoundary('multipart/encrypted;boundary=Plain')).toBe('Plain');
    expect(encryptedBoundary('application/soap+xml')).toBeUndefined();
  });

  it('is not cut short by sealed bytes that contain the boundary text', async () => {
    const identity: SealingContext = {
      protocol: SPNEGO_ENCRYPTED,
      seal: (p) => ({ header: new Uint8Array(16), data: p }),
      unseal: (_h, d) => d,
    };
    const tricky = 'x--Encrypted Boundary--\r\ny';
    const { body, contentType } = await encryptMessage(identity, tricky);
    expect(await decryptMessage(identity, body, contentType)).toBe(tricky);
  });

  it('rejects malformed framing, wrong lengths and tampering with PSRP_ENCRYPTION_INVALID', async () => {
    const ctx = xorContext();
    const { body, contentType } = await encryptMessage(ctx, ENVELOPE);
    const cases: [Buffer, string][] = [
      [body, 'application/soap+xml'],
      [Buffer.from('--Encrypted Boundary\r\n\tContent-Type: x\r\n'), contentType],
      [Buffer.from(body.toString('latin1').replace(/Length=\d+/, 'Length=3'), 'latin1'), contentType],
      [Buffer.from(body.toString('latin1').replace('OriginalContent', 'Original'), 'latin1'), contentType],
      [body.subarray(0, body.length - 40), contentType],
      [
        Buffer.from(body.toString('latin1').replace('\x10\x00\x00\x00', '\xff\xff\x00\x00'), 'latin1'),
        contentType,
      ],
      [Buffer.from(''), contentType],
    ];
    const tampered = Buffer.from(body);
    tampered[tampered.length - 30] = tampered[tampered.length - 30]! ^ 1;
    cases.push([tampered, contentType]);
    for (const [b, ct] of cases) {
      let err: unknown;
      try {
        await decryptMessage(ctx, b, ct);
      } catch (e) {
        err = e;
      }
      expect(err, b.toString('latin1').slice(0, 60)).toBeInstanceOf(ProtocolError);
      expect((err as ProtocolError).code).toBe('PSRP_ENCRYPTION_INVALID');
    }
  });

  it("reads Exchange's variant with a space after the dashes (`-- Encrypted Boundary`)", async () => {
    const ctx = xorContext();
    const { body, contentType } = await encryptMessage(ctx, ENVELOPE);
    const exchange = Buffer.from(
      body.toString('latin1').replace(/--Encrypted Boundary/g, '-- Encrypted Boundary'),
      'latin1',
    );
    expect(exchange.toString('latin1')).toContain('-- Encrypted Boundary--');
    expect(await decryptMessage(ctx, exchange, contentType)).toBe(ENVELOPE);
  });
});
