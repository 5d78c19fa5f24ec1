// Kerberos message encryption done in TypeScript against the lab's MIT GSSAPI acceptor (a throw-away
// realm and KDC on loopback): the `kerberos` npm client only authenticates (SPNEGO and krb5 mechs,
// mutual authentication); the ticket session key comes from the FILE: ccache
// (src/http/kerberos-ccache-file.ts), the context keys from our AP-REQ and the server's AP-REP, and
// every WS-Man message is sealed/unsealed by src/auth/kerberos-sealing.ts (RFC 4121 CFX, Windows
// layout). The lab unwraps with gss_unwrap_iov (strict layout and sequence) and wraps its answers
// with gss_wrap_iov, so both directions are checked by MIT.
import { execFile } from 'node:child_process';
import { copyFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Client } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EncType } from '../../src/auth/krb5-crypto.js';
import { kerberosSealer, type KerberosSealingContext } from '../../src/auth/kerberos-sealing.js';
import { parseWrapTokenHeader } from '../../src/auth/kerberos-wrap.js';
import { readServiceTicketKeys } from '../../src/http/kerberos-ccache-file.js';
import type { Lab } from '../../src/lab/lab-server.js';
import type { KerberosClientEnv, TestRealm } from '../../src/lab/test-realm.js';
import { identifyEnvelope } from '../../src/wsman/identify.js';
import { decryptMessage, encryptMessage } from '../../src/http/message-encryption.js';
import {
  ALICE_PASSWORD,
  closeGssLab,
  post,
  startGssLab,
  tokenOf,
  unknownShellDeleteXml,
} from '../helpers/gss-lab.js';
import { loadKerberos, sealingFlags, type KerberosModule } from '../helpers/kerberos-binding.js';

let realm: TestRealm;
let lab: Lab;
let kerberos: KerberosModule;
/** Client environments: the realm's krb5.conf (aes256 tickets), and two aes128 variants. */
const envs: Record<'aes256' | 'aes128' | 'aes128-ticket', KerberosClientEnv> = {} as never;

beforeAll(async () => {
  ({ realm, lab } = await startGssLab());
  const base = await realm.kinit('alice');
  envs.aes256 = base;
  const conf = await readFile(realm.krb5Config, 'utf8');
  const variant = async (name: string, extra: string): Promise<KerberosClientEnv> => {
    const file = join(realm.dir, `krb5-${name}.conf`);
    await writeFile(file, conf.replace('[libdefaults]\n', `[libdefaults]\n${extra}`));
    return { KRB5_CONFIG: file, KRB5CCNAME: `FILE:${join(realm.dir, `ccache-alice-${name}`)}` };
  };
  // Everything aes128 (TGT, service ticket, both subkeys): its own kinit under that krb5.conf.
  envs.aes128 = await variant(
    'aes128',
    '  default_tkt_enctypes = aes128-cts-hmac-sha1-96\n  default_tgs_enctypes = aes128-cts-hmac-sha1-96\n  permitted_enctypes = aes128-cts-hmac-sha1-96\n',
  );
  await new Promise<void>((resolve, reject) => {
    const child = execFile(
      'kinit',
      ['alice@PSRP.TEST'],
      { env: { ...process.env, ...envs.aes128 } },
      (e, _o, err) =>
        e ? reject(new Error(`kinit (Debian krb5-user) failed: ${err || e.message}`)) : resolve(),
    );
    child.stdin?.end(`${ALICE_PASSWORD}\n`);
  });
  // An aes128 service ticket from the aes256 TGT (MIT then makes both subkeys aes128 too).
  envs['aes128-ticket'] = await variant(
    'aes128-ticket',
    '  default_tgs_enctypes = aes128-cts-hmac-sha1-96 aes256-cts-hmac-sha1-96\n',
  );
  await copyFile(
    base.KRB5CCNAME.replace(/^FILE:/, ''),
    envs['aes128-ticket'].KRB5CCNAME.replace(/^FILE:/, ''),
  );
  kerberos = loadKerberos();
});
afterAll(() => closeGssLab(lab, realm));

/** kerberos@7 handshake on `client`'s connection; then the sealing context from the ccache. */
async function authenticate(
  client: Client,
  scheme: 'Negotiate' | 'Kerberos',
  env: KerberosClientEnv,
): Promise<KerberosSealingContext> {
  Object.assign(process.env, env); // MIT reads these when the context is made
  const k = await kerberos.initializeClient('HTTP@localhost', {
    mechOID: scheme === 'Negotiate' ? kerberos.GSS_MECH_OID_SPNEGO : kerberos.GSS_MECH_OID_KRB5,
    gssFlag: sealingFlags(kerberos),
  });
  const first = await k.step('');
  const r = await post(client, { authorization: `${scheme} ${first}` });
  expect(r.status).toBe(200);
  const final = tokenOf(r, scheme);
  expect(final, 'the 200 carries the mutual-authentication token').toBeDefined();
  await k.step(final!);
  expect(k.contextComplete).toBe(true);
  const keys = await readServiceTicketKeys('HTTP/localhost@PSRP.TEST', env);
  return kerberosSealer({ sessionKey: keys, initiatorToken: first, acceptorToken: final!, scheme });
}

const deleteXml = (): string => unknownShellDeleteXml(lab);

describe('Kerberos sealing in TypeScript against MIT (lab over plain http)', () => {
  for (const scheme of ['Negotiate', 'Kerberos'] as const) {
    it(`${scheme}: WS-Man encrypted both ways; a tampered byte and an out-of-order message are refused`, async () => {
      const client = new Client(lab.httpOrigin, { pipelining: 1 });
      try {
        const sealing = await authenticate(client, scheme, envs.aes256);
        expect(sealing.enctype).toBe(EncType.AES256_CTS_HMAC_SHA1_96);
        expect(sealing.acceptorSubkey).toBe(true);
        const decrypted = lab.gssCounts.get('decrypted') ?? 0;

        const identify = await encryptMessage(sealing, identifyEnvelope());
        expect(identify.contentType).toBe(
          `multipart/encrypted;protocol="${sealing.protocol}";boundary="Encrypted Boundary"`,
        );
        const lengthAt = identify.body.indexOf('octet-stream\r\n') + 14;
        expect(identify.body.readUInt32LE(lengthAt)).toBe(60);
        expect(parseWrapTokenHeader(identify.body.subarray(lengthAt + 4, lengthAt + 64))).toMatchObject({
          flags: 0x06,
          ec: 0,
          rrc: 28,
        });
        const a = await post(client, { 'content-type': identify.contentType }, identify.body);
        expect(a.status).toBe(200);
        const ct = String(a.headers['content-type']);
        expect(ct).toBe(`multipart/encrypted;protocol="${sealing.protocol}";boundary="Encrypted Boundary"`);
        expect(await decryptMessage(sealing, a.body, ct)).toContain('IdentifyResponse');

        for (let i = 0; i < 3; i++) {
          const m = await encryptMessage(sealing, deleteXml());
          const d = await post(client, { 'content-type': m.contentType }, m.body);
          expect(d.status).toBe(500); // a SOAP fault for the unknown shell, sealed
          expect(await decryptMessage(sealing, d.body, String(d.headers['content-type']))).toContain(
            '2150858843',
          );
        }
        expect(lab.gssCounts.get('decrypted')).toBe(decrypted + 4);

        // A flipped encrypted byte: MIT's gss_unwrap_iov refuses it.
        const failed = lab.gssCounts.get('unsealFailed') ?? 0;
        const good = await encryptMessage(sealing, identifyEnvelope());
        const tampered = Buffer.from(good.body);
        tampered[lengthAt + 4 + 60 + 3] = tampered[lengthAt + 4 + 60 + 3]! ^ 0x01;
        expect((await post(client, { 'content-type': good.contentType }, tampered)).status).toBe(400);
        expect(lab.gssCounts.get('unsealFailed')).toBe(failed + 1);

        // Out of order: the next two messages sent the other way round.
        const _next = await encryptMessage(sealing, identifyEnvelope());
        const later = await encryptMessage(sealing, identifyEnvelope());
        expect((await post(client, { 'content-type': later.contentType }, later.body)).status).toBe(400);
        expect(lab.gssCounts.get('unsealFailed')).toBe(failed + 2);
      } finally {
        await client.close();
      }
    });
  }

  for (const variant of ['aes128', 'aes128-ticket'] as const) {
    it(`Kerberos with ${variant === 'aes128' ? 'aes128 everywhere' : 'an aes128 service ticket from an aes256 TGT'}: the context key is aes128`, async () => {
      const client = new Client(lab.httpOrigin, { pipelining: 1 });
      try {
        const sealing = await authenticate(client, 'Kerberos', envs[variant]);
        const [key] = await readServiceTicketKeys('HTTP/localhost', envs[variant]);
        expect(key!.enctype).toBe(EncType.AES128_CTS_HMAC_SHA1_96);
        expect(sealing.enctype).toBe(EncType.AES128_CTS_HMAC_SHA1_96);
        for (let i = 0; i < 2; i++) {
          const m = await encryptMessage(sealing, identifyEnvelope());
          const a = await post(client, { 'content-type': m.contentType }, m.body);
          expect(a.status).toBe(200);
          expect(await decryptMessage(sealing, a.body, String(a.headers['content-type']))).toContain(
            'IdentifyResponse',
          );
        }
      } finally {
        await client.close();
      }
    });
  }
});
