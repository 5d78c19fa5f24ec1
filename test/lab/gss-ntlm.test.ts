// The lab's GSSAPI acceptor against our NTLM client: gss-ntlmssp (an independent NTLM
// implementation, through MIT's mechglue) verifies our NEGOTIATE/AUTHENTICATE and our sealing
// (MS-NLMP 3.4.3, MS-WSMV 2.2.9.1), over plain http where the lab requires message encryption.
import { Client } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NtlmClientContext } from '../../src/auth/ntlm-context.js';
import { AUTHENTICATE_MIC_OFFSET } from '../../src/auth/ntlm-messages.js';
import { ntlmSealingContext } from '../../src/auth/ntlm-sealing.js';
import type { Lab } from '../../src/lab/lab-server.js';
import type { TestRealm } from '../../src/lab/test-realm.js';
import { identifyEnvelope } from '../../src/wsman/identify.js';
import {
  decryptMessage,
  encryptMessage,
  SPNEGO_ENCRYPTED,
  type SealingContext,
} from '../../src/http/message-encryption.js';
import { PythonInitiator } from '../helpers/gss-initiator.js';
import {
  ALICE_PASSWORD,
  closeGssLab,
  post,
  startGssLab,
  tokenBytesOf as tokenOf,
  unknownShellDeleteXml,
} from '../helpers/gss-lab.js';

const PASSWORD = ALICE_PASSWORD;
let realm: TestRealm;
let lab: Lab;

beforeAll(async () => {
  ({ realm, lab } = await startGssLab());
});
afterAll(() => closeGssLab(lab, realm));

/** A Negotiate NEGOTIATE to the lab, its CHALLENGE fed to a new context: alice's AUTHENTICATE. */
async function authenticateFor(client: Client, password: string): Promise<Buffer> {
  const ctx = new NtlmClientContext({ credentials: { username: 'PSRP\\alice', password } });
  const first = await post(client, { authorization: `Negotiate ${ctx.negotiate().toString('base64')}` });
  return ctx.authenticate(tokenOf(first, 'Negotiate'));
}

describe('lab GSSAPI acceptor: our NTLM client against gss-ntlmssp', () => {
  it('authenticates on one keep-alive connection, then carries sealed WS-Man both ways', async () => {
    const client = new Client(lab.httpOrigin, { pipelining: 1 });
    try {
      const before = lab.gssCounts.get('authenticated') ?? 0;
      const ctx = new NtlmClientContext({
        credentials: { username: 'PSRP\\alice', password: PASSWORD },
        targetName: 'HTTP/localhost',
      });
      const first = await post(client, { authorization: `Negotiate ${ctx.negotiate().toString('base64')}` });
      expect(first.status).toBe(401);
      const challenge = tokenOf(first, 'Negotiate');
      expect(challenge.subarray(0, 8).toString('latin1')).toBe('NTLMSSP\0');
      const authenticate = ctx.authenticate(challenge);
      const sealing = ntlmSealingContext(ctx);
      // The AUTHENTICATE leg already carries a sealed Identify (the keys are known once it is built).
      const identify = await encryptMessage(sealing, identifyEnvelope());
      const second = await post(
        client,
        {
          authorization: `Negotiate ${authenticate.toString('base64')}`,
          'content-type': identify.contentType,
        },
        identify.body,
      );
      expect(second.status).toBe(200);
      const ct = String(second.headers['content-type']);
      expect(ct).toBe(
        'multipart/encrypted;protocol="application/HTTP-SPNEGO-session-encrypted";boundary="Encrypted Boundary"',
      );
      expect(second.body.toString('latin1')).not.toContain('IdentifyResponse');
      const answer = await decryptMessage(sealing, second.body, ct);
      expect(answer).toContain('IdentifyResponse');
      expect(answer).toContain('ProductVersion');

      // Later requests on the connection need no Authorization header (connection-based auth).
      for (let i = 0; i < 3; i++) {
        const m = await encryptMessage(sealing, unknownShellDeleteXml(lab));
        const r = await post(client, { 'content-type': m.contentType }, m.body);
        expect(r.status).toBe(500);
        const text = await decryptMessage(sealing, r.body, String(r.headers['content-type']));
        expect(text).toContain('2150858843'); // invalid selectors: the request was processed
      }
      expect((lab.gssCounts.get('authenticated') ?? 0) - before).toBe(1);
      expect(lab.gssCounts.get('mech:ntlm')).toBeGreaterThanOrEqual(1);

      // A plaintext body on the authenticated plain-http connection is refused (AllowUnencrypted=false).
      const plain = await post(
        client,
        { 'content-type': 'application/soap+xml;charset=UTF-8' },
        identifyEnvelope(),
      );
      expect(plain.status).toBe(500);
      expect(plain.body.length).toBe(0);

      // One flipped sealed byte: gss-ntlmssp's signature check fails, the lab answers 400.
      const good = await encryptMessage(sealing, identifyEnvelope());
      const tampered = Buffer.from(good.body);
      const at = tampered.indexOf('octet-stream\r\n') + 14 + 4 + 16 + 5;
      tampered[at] = tampered[at]! ^ 0x01;
      const failed = lab.gssCounts.get('unsealFailed') ?? 0;
      const bad = await post(client, { 'content-type': good.contentType }, tampered);
      expect(bad.status).toBe(400);
      expect(lab.gssCounts.get('unsealFailed')).toBe(failed + 1);
    } finally {
      await client.close();
    }
  });

  it('accepts the NTLM scheme too, and a raw NTLMSSP token under Negotiate goes to NTLMSSP directly', async () => {
    const client = new Client(lab.httpOrigin, { pipelining: 1 });
    try {
      const ctx = new NtlmClientContext({ credentials: { username: 'PSRP\\alice', password: PASSWORD } });
      const first = await post(client, { authorization: `NTLM ${ctx.negotiate().toString('base64')}` });
      expect(first.status).toBe(401);
      const authenticate = ctx.authenticate(tokenOf(first, 'NTLM'));
      const second = await post(client, { authorization: `NTLM ${authenticate.toString('base64')}` });
      expect(second.status).toBe(200); // empty body: a handshake-only request
      const sealing = ntlmSealingContext(ctx);
      const m = await encryptMessage(sealing, identifyEnvelope());
      const r = await post(client, { 'content-type': m.contentType }, m.body);
      expect(r.status).toBe(200);
      expect(await decryptMessage(sealing, r.body, String(r.headers['content-type']))).toContain(
        'IdentifyResponse',
      );
    } finally {
      await client.close();
    }
  });

  it('SPNEGO-wrapped NTLM (gss-ntlmssp as the initiator): MIT negotiates NTLMSSP inside, the NTLM layout applies', async () => {
    const py = new PythonInitiator({ ...realm.acceptorEnv, KRB5CCNAME: `FILE:${realm.dir}/no-ccache` });
    const client = new Client(lab.httpOrigin, { pipelining: 1 });
    try {
      let token = await py.init('HTTP@localhost', 'spnego', { user: 'PSRP\\alice', password: PASSWORD });
      expect(token[0]).toBe(0x60); // a SPNEGO NegTokenInit, not a raw NTLMSSP token
      let reply = await post(client, { authorization: `Negotiate ${token.toString('base64')}` });
      expect(reply.status).toBe(401);
      const step = await py.step(tokenOf(reply, 'Negotiate'));
      token = step.token;
      const before = lab.gssCounts.get('mech:ntlm') ?? 0;
      reply = await post(client, { authorization: `Negotiate ${token.toString('base64')}` });
      expect(reply.status).toBe(200);
      expect(lab.gssCounts.get('mech:ntlm')).toBe(before + 1);
      const final = await py.step(tokenOf(reply, 'Negotiate')); // NegTokenResp accept-completed + mechListMIC
      expect(final.complete).toBe(true);
      const sealing: SealingContext = {
        protocol: SPNEGO_ENCRYPTED,
        seal: async (p) => {
          const t = await py.wrap(p);
          return { header: t.subarray(0, 16), data: t.subarray(16) };
        },
        unseal: (h, d) => py.unwrap(Buffer.concat([h, d])),
      };
      const m = await encryptMessage(sealing, identifyEnvelope());
      const r = await post(client, { 'content-type': m.contentType }, m.body);
      expect(r.status).toBe(200);
      expect(await decryptMessage(sealing, r.body, String(r.headers['content-type']))).toContain(
        'IdentifyResponse',
      );
    } finally {
      py.close();
      await client.close();
    }
  });

  it('answers a wrong password with a bare 401 (no token), as Windows does', async () => {
    const client = new Client(lab.httpOrigin, { pipelining: 1 });
    try {
      const failed = lab.gssCounts.get('authFailed') ?? 0;
      const authenticate = await authenticateFor(client, 'wrong');
      const second = await post(client, { authorization: `Negotiate ${authenticate.toString('base64')}` });
      expect(second.status).toBe(401);
      expect(second.headers['www-authenticate']).toEqual([
        'Negotiate',
        'Kerberos',
        'NTLM',
        'Basic realm="WSMAN"',
      ]);
      expect(lab.gssCounts.get('authFailed')).toBe(failed + 1);
    } finally {
      await client.close();
    }
  });

  it('refuses an AUTHENTICATE whose MIC was altered (gss-ntlmssp verifies the MIC)', async () => {
    const client = new Client(lab.httpOrigin, { pipelining: 1 });
    try {
      const authenticate = await authenticateFor(client, PASSWORD);
      authenticate[AUTHENTICATE_MIC_OFFSET] = authenticate[AUTHENTICATE_MIC_OFFSET]! ^ 0xff; // MS-NLMP 2.2.1.3
      const second = await post(client, { authorization: `Negotiate ${authenticate.toString('base64')}` });
      expect(second.status).toBe(401);
    } finally {
      await client.close();
    }
  });
});
