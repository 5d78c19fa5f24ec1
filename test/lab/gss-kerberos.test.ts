// Kerberos against the lab's GSSAPI acceptor (MIT krb5, a throw-away realm and KDC on loopback):
// the `kerberos` npm binding's handshake for Negotiate (SPNEGO) and Kerberos, MIT's RFC 4121 Wrap
// tokens converted to Windows' layout by src/auth/kerberos-wrap.ts (MS-WSMV 2.2.9.1.1.2.2) and
// carried encrypted over plain http both ways, and the errors MIT gives for a missing SPN or user.
import { Client } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  fromWindowsWrapLayout,
  parseWrapTokenHeader,
  toWindowsWrapLayout,
} from '../../src/auth/kerberos-wrap.js';
import { GssAcceptor } from '../../src/lab/gss-acceptor.js';
import type { Lab } from '../../src/lab/lab-server.js';
import type { KerberosClientEnv, TestRealm } from '../../src/lab/test-realm.js';
import { identifyEnvelope } from '../../src/wsman/identify.js';
import {
  decryptMessage,
  encryptMessage,
  KERBEROS_ENCRYPTED,
  SPNEGO_ENCRYPTED,
  type SealingContext,
} from '../../src/http/message-encryption.js';
import { PythonInitiator } from '../helpers/gss-initiator.js';
import {
  ALICE_PASSWORD,
  closeGssLab,
  post,
  startGssLab,
  tokenOf,
  unknownShellDeleteXml,
} from '../helpers/gss-lab.js';
import {
  loadKerberos,
  sealingFlags,
  type KerberosClient,
  type KerberosModule,
} from '../helpers/kerberos-binding.js';

let realm: TestRealm;
let lab: Lab;
let clientEnv: KerberosClientEnv;
let kerberos: KerberosModule;

beforeAll(async () => {
  ({ realm, lab } = await startGssLab({ alice: ALICE_PASSWORD, carol: 'Car0l-Passw0rd!' }));
  clientEnv = await realm.kinit('alice');
  // MIT reads KRB5_CONFIG / KRB5CCNAME when each context is made, so setting them in this worker
  // process before the first GSSAPI call is enough (vitest runs each file in its own process).
  Object.assign(process.env, clientEnv);
  kerberos = loadKerberos();
});
afterAll(() => closeGssLab(lab, realm));

/** A kerberos npm krb5 context authenticated against a GssAcceptor of its own, as context `c`. */
async function acceptedContext(acceptor: GssAcceptor): Promise<KerberosClient> {
  const k = await kerberos.initializeClient('HTTP@localhost', {
    mechOID: kerberos.GSS_MECH_OID_KRB5,
    gssFlag: sealingFlags(kerberos),
  });
  const r = await acceptor.accept('c', 'Kerberos', Buffer.from(await k.step(''), 'base64'));
  expect(r).toMatchObject({ complete: true, user: 'alice@PSRP.TEST', mech: 'krb5' });
  await k.step(r.token.toString('base64'));
  return k;
}

describe('lab GSSAPI acceptor: Kerberos', () => {
  for (const [scheme, mech] of [
    ['Negotiate', 'spnego'],
    ['Kerberos', 'krb5'],
  ] as const) {
    it(`${scheme}: the kerberos npm client authenticates in one leg with mutual authentication`, async () => {
      const client = new Client(lab.httpOrigin, { pipelining: 1 });
      try {
        const k = await kerberos.initializeClient('HTTP@localhost', {
          mechOID: mech === 'spnego' ? kerberos.GSS_MECH_OID_SPNEGO : kerberos.GSS_MECH_OID_KRB5,
          gssFlag: sealingFlags(kerberos),
        });
        const before = lab.gssCounts.get('mech:krb5') ?? 0;
        const r = await post(client, { authorization: `${scheme} ${await k.step('')}` });
        expect(r.status).toBe(200); // an empty body: the handshake-only answer
        const final = tokenOf(r, scheme);
        expect(final, 'the 200 carries the mutual-authentication token').toBeDefined();
        await k.step(final!);
        expect(k.contextComplete).toBe(true);
        expect(lab.gssCounts.get('mech:krb5')).toBe(before + 1);
        // A plaintext envelope on the authenticated plain-http connection is refused.
        const plain = await post(
          client,
          { 'content-type': 'application/soap+xml;charset=UTF-8' },
          identifyEnvelope(),
        );
        expect(plain.status).toBe(500);
      } finally {
        await client.close();
      }
    });

    it(`${scheme}: gss_wrap tokens converted to Windows' layout carry WS-Man encrypted both ways`, async () => {
      const py = new PythonInitiator(clientEnv);
      const client = new Client(lab.httpOrigin, { pipelining: 1 });
      try {
        const first = await py.init('HTTP@localhost', mech);
        const sealing: SealingContext = {
          protocol: scheme === 'Kerberos' ? KERBEROS_ENCRYPTED : SPNEGO_ENCRYPTED,
          seal: async (p) => toWindowsWrapLayout(await py.wrap(p), p.length),
          unseal: (h, d) => py.unwrap(fromWindowsWrapLayout(h, d)),
        };
        const r = await post(client, { authorization: `${scheme} ${first.toString('base64')}` });
        expect(r.status).toBe(200);
        expect((await py.step(Buffer.from(tokenOf(r, scheme)!, 'base64'))).complete).toBe(true);

        const identify = await encryptMessage(sealing, identifyEnvelope());
        // MS-WSMV 2.2.9.1.1.2.2: the length field says 60 (token header + rotated trailer + confounder).
        expect(identify.body.readUInt32LE(identify.body.indexOf('octet-stream\r\n') + 14)).toBe(60);
        const a = await post(client, { 'content-type': identify.contentType }, identify.body);
        expect(a.status).toBe(200);
        const ct = String(a.headers['content-type']);
        expect(ct).toBe(`multipart/encrypted;protocol="${sealing.protocol}";boundary="Encrypted Boundary"`);
        expect(await decryptMessage(sealing, a.body, ct)).toContain('IdentifyResponse');

        for (let i = 0; i < 3; i++) {
          const m = await encryptMessage(sealing, unknownShellDeleteXml(lab));
          const d = await post(client, { 'content-type': m.contentType }, m.body);
          expect(d.status).toBe(500);
          expect(await decryptMessage(sealing, d.body, String(d.headers['content-type']))).toContain(
            '2150858843',
          );
        }

        // The layout a non-Windows peer would send (RRC 0, trailer after the data) does not unwrap.
        const failed = lab.gssCounts.get('unsealFailed') ?? 0;
        const plainToken = await py.wrap(Buffer.from(identifyEnvelope()));
        const wrongLayout: SealingContext = {
          ...sealing,
          seal: () => ({ header: plainToken.subarray(0, 60), data: plainToken.subarray(60) }),
        };
        const w = await encryptMessage(wrongLayout, identifyEnvelope());
        expect((await post(client, { 'content-type': w.contentType }, w.body)).status).toBe(400);
        // A flipped encrypted byte does not unwrap either.
        const good = await encryptMessage(sealing, identifyEnvelope());
        const tampered = Buffer.from(good.body);
        const at = tampered.indexOf('octet-stream\r\n') + 14 + 4 + 60 + 3;
        tampered[at] = tampered[at]! ^ 0x01;
        expect((await post(client, { 'content-type': good.contentType }, tampered)).status).toBe(400);
        expect(lab.gssCounts.get('unsealFailed')).toBe(failed + 2);
      } finally {
        py.close();
        await client.close();
      }
    });
  }

  it('the kerberos npm client unwraps a Windows-layout message (RRC 28) joined back into one token', async () => {
    const acceptor = await GssAcceptor.start({ env: realm.acceptorEnv });
    try {
      const k = await acceptedContext(acceptor);
      // (Not an empty message: kerberos@7's unwrap() of an empty plaintext fails in its native callback.)
      for (const text of ['first answer', 'second answer', 'x'.repeat(5000)]) {
        const { header, data } = await acceptor.wrap('c', Buffer.from(text));
        expect(header.length).toBe(60);
        expect(data.length).toBe(Buffer.byteLength(text));
        expect(parseWrapTokenHeader(header)).toMatchObject({ ec: 0, rrc: 28 });
        const joined = Buffer.from(fromWindowsWrapLayout(header, data)).toString('base64');
        expect(Buffer.from(await k.unwrap(joined), 'base64').toString()).toBe(text);
      }
    } finally {
      await acceptor.close();
    }
  });

  it('kerberos@7 cannot seal WinRM messages: its Unix wrap() wraps a SASL security-layer header, not the data', async () => {
    // kerberos_unix.cc passes options.user as "" when absent, so authenticate_gss_client_wrap always
    // takes its SASL branch: the wrapped plaintext is 4 bytes + the user name, whatever data is given.
    // When this fails, the binding was fixed and the client may use wrap() for message encryption.
    const acceptor = await GssAcceptor.start({ env: realm.acceptorEnv });
    try {
      const k = await acceptedContext(acceptor);
      const data = Buffer.from('<s:Envelope>twenty-seven</s:Envelope>');
      const token = Buffer.from(await k.wrap(data.toString('base64'), { protect: true }), 'base64');
      expect(token.length).toBe(16 + 16 + 4 + 16 + 12); // 4 bytes of plaintext, not data.length
      expect(() => toWindowsWrapLayout(token, data.length)).toThrow(/does not fit/);
    } finally {
      await acceptor.close();
    }
  });

  it('errors: a missing SPN, an unknown user, a principal that is no lab user', async () => {
    const k = await kerberos.initializeClient('HTTP@127.0.0.1', {
      mechOID: kerberos.GSS_MECH_OID_KRB5,
      gssFlag: sealingFlags(kerberos),
    });
    await expect(k.step('')).rejects.toThrow(
      'Unspecified GSS failure.  Minor code may provide more information: Server HTTP/127.0.0.1@PSRP.TEST not found in Kerberos database',
    );
    await expect(realm.kinit('bob', 'whatever')).rejects.toThrow(
      "kinit: Client 'bob@PSRP.TEST' not found in Kerberos database while getting initial credentials",
    );
    await expect(realm.kinit('alice', 'wrong')).rejects.toThrow(
      'kinit: Password incorrect while getting initial credentials',
    );

    // carol is in the realm but not a lab user: the lab refuses her with a bare 401.
    const carol = await realm.kinit('carol');
    const py = new PythonInitiator(carol);
    const client = new Client(lab.httpOrigin, { pipelining: 1 });
    try {
      const failed = lab.gssCounts.get('authFailed') ?? 0;
      const r = await post(client, {
        authorization: `Kerberos ${(await py.init('HTTP@localhost', 'krb5')).toString('base64')}`,
      });
      expect(r.status).toBe(401);
      expect(r.headers['www-authenticate']).toEqual(['Negotiate', 'Kerberos', 'NTLM', 'Basic realm="WSMAN"']);
      expect(lab.gssCounts.get('authFailed')).toBe(failed + 1);
    } finally {
      py.close();
      await client.close();
    }
  });
});
