// Interoperability proof: our SPNEGO/NTLM client against a real, independent implementation, MIT
// krb5 1.20's SPNEGO mechanism with gss-ntlmssp 1.2 as the NTLM mechanism, as the ACCEPTOR
// (python3-gssapi in /usr/bin/python3, test/helpers/gss-acceptor.py). Tokens and wrapped messages
// cross over JSON lines. Fails (does not skip) when python3-gssapi or gss-ntlmssp is missing.
//
// What this pins down (docs/auth.md, "SPNEGO"):
// - the handshake completes, the acceptor names NTLMSSP and CONTOSO\alice, and we verify its
//   mechListMIC (both MICs use sequence number 0, so wrapped messages start at 1);
// - gss_wrap output is the 16-byte NTLM signature followed by the sealed data, i.e. exactly the
//   `header ‖ data` of WinRM message encryption; several messages each way, interleaved;
// - refusals: wrong password, a tampered client mechListMIC, a tampered NTLM MIC;
// - MIT does not insist on the client's mechListMIC, and gss-ntlmssp does not insist on the NTLM
//   MIC / MsvAvFlags (it checks them when present);
// - raw NTLMSSP (no SPNEGO) reaches gss-ntlmssp only when the acceptor credential is not limited
//   to SPNEGO (the mechglue routes it by its NTLMSSP signature, bypassing SPNEGO).
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { NtlmAuthenticator } from '../../src/http/ntlm-authenticator.js';
import { NtlmClientContext } from '../../src/auth/ntlm-context.js';
import { AvId, buildChallengeMessage, parseChallengeMessage } from '../../src/auth/ntlm-messages.js';
import { SpnegoNtlmClientContext } from '../../src/auth/spnego-ntlm-context.js';
import { decodeNegTokenResp, encodeNegTokenResp, MechOid } from '../../src/auth/spnego.js';
import { ntlmSealingContext } from '../../src/auth/ntlm-sealing.js';
import { GssAcceptor, requireGssNtlmssp } from '../helpers/gss-acceptor.js';

const USERS = ['CONTOSO:alice:Pa55-w0rd!'];
const credentials = { username: 'CONTOSO\\alice', password: 'Pa55-w0rd!' };

const acceptors: GssAcceptor[] = [];
async function acceptor(mode: 'spnego' | 'default' = 'spnego'): Promise<GssAcceptor> {
  const a = await GssAcceptor.start(USERS, mode);
  acceptors.push(a);
  return a;
}
afterEach(() => {
  for (const a of acceptors.splice(0)) a.close();
});

beforeAll(() => {
  // Throws with the Debian packages to install; never a skip.
  requireGssNtlmssp();
});

function client(password = credentials.password): SpnegoNtlmClientContext {
  return new SpnegoNtlmClientContext({
    credentials: { ...credentials, password },
    targetName: 'HTTP/server.test',
  });
}

/** NegTokenInit → accept-incomplete+CHALLENGE; returns our AUTHENTICATE token. */
async function firstLegs(c: SpnegoNtlmClientContext, gss: GssAcceptor): Promise<Buffer> {
  const r1 = await gss.step(c.initialToken());
  expect(r1.complete).toBe(false);
  const resp = decodeNegTokenResp(r1.token!);
  expect(resp.negState).toBe('accept-incomplete');
  expect(resp.supportedMech).toBe(MechOid.NTLMSSP);
  return c.step(r1.token)!;
}

function errorOf(f: () => unknown): { code?: string } | undefined {
  try {
    f();
  } catch (err) {
    return err as { code?: string };
  }
  return undefined;
}

describe('SPNEGO + NTLM against MIT krb5 SPNEGO and gss-ntlmssp', () => {
  it('completes the handshake with mechListMICs both ways, then seals and unseals 6 messages each way', async () => {
    const gss = await acceptor();
    const c = client();
    const r2 = await gss.step(await firstLegs(c, gss));
    expect(r2.complete).toBe(true);
    expect(r2.mech).toBe(MechOid.NTLMSSP);
    expect(r2.initiator?.replace(/\0$/, '')).toBe('CONTOSO\\alice');
    const final = decodeNegTokenResp(r2.token!);
    expect(final.negState).toBe('accept-completed');
    expect(Buffer.from(final.mechListMIC!).readUInt32LE(12)).toBe(0);
    expect(c.step(r2.token)).toBeUndefined(); // verifies MIT's mechListMIC
    expect(c.established).toBe(true);

    for (let i = 0; i < 6; i++) {
      const text = `<s:Envelope>${'x'.repeat(i * 100)}request ${i}</s:Envelope>`;
      const { header: signature, data: sealed } = c.seal(Buffer.from(text));
      // gss_unwrap takes signature ‖ sealed data.
      const un = await gss.unwrap(Buffer.concat([signature, sealed]));
      expect(un.data.toString()).toBe(text);
      expect(un.encrypted).toBe(true);

      const reply = `<s:Envelope>response ${i} ${'y'.repeat(i * 50)}</s:Envelope>`;
      const wrapped = await gss.wrap(Buffer.from(reply));
      // gss-ntlmssp's gss_wrap output: NTLMSSP_MESSAGE_SIGNATURE (version 1, checksum, SeqNum) first.
      expect(wrapped.length).toBe(16 + Buffer.byteLength(reply));
      expect(wrapped.readUInt32LE(0)).toBe(1);
      expect(wrapped.readUInt32LE(12)).toBe(i + 1);
      expect(c.unseal(wrapped.subarray(0, 16), wrapped.subarray(16)).toString()).toBe(reply);
    }
    // Two in a row each way.
    const a = c.seal(Buffer.from('a'));
    const b = c.seal(Buffer.from('b'));
    expect((await gss.unwrap(Buffer.concat([a.header, a.data]))).data.toString()).toBe('a');
    expect((await gss.unwrap(Buffer.concat([b.header, b.data]))).data.toString()).toBe('b');
    const w1 = await gss.wrap(Buffer.from('c'));
    const w2 = await gss.wrap(Buffer.from('d'));
    expect(c.unseal(w1.subarray(0, 16), w1.subarray(16)).toString()).toBe('c');
    expect(c.unseal(w2.subarray(0, 16), w2.subarray(16)).toString()).toBe('d');
  });

  it('frames WinRM message encryption headers that gss_unwrap accepts (ntlmSealingContext)', async () => {
    const gss = await acceptor();
    const c = client();
    expect(c.step((await gss.step(await firstLegs(c, gss))).token)).toBeUndefined();
    const sealing = ntlmSealingContext(c);
    expect(sealing.protocol).toBe('application/HTTP-SPNEGO-session-encrypted');
    for (let i = 0; i < 3; i++) {
      const { header, data } = sealing.seal(Buffer.from(`body ${i}`));
      expect(header).toHaveLength(16);
      expect((await gss.unwrap(Buffer.concat([header, data]))).data.toString()).toBe(`body ${i}`);
      const w = await gss.wrap(Buffer.from(`answer ${i}`));
      expect(Buffer.from(sealing.unseal(w.subarray(0, 16), w.subarray(16))).toString()).toBe(`answer ${i}`);
    }
  });

  it('is refused with a wrong password', async () => {
    const gss = await acceptor();
    await expect(gss.step(await firstLegs(client('wrong'), gss))).rejects.toThrow(/GSS acceptor: GSSError/);
  });

  it('is refused when our mechListMIC is tampered with', async () => {
    const gss = await acceptor();
    const resp = decodeNegTokenResp(await firstLegs(client(), gss));
    const mic = Buffer.from(resp.mechListMIC!);
    mic[6]! ^= 0x01;
    await expect(gss.step(encodeNegTokenResp({ ...resp, mechListMIC: mic }))).rejects.toThrow(/BadMICError/);
  });

  it('is refused when the NTLM MIC of the AUTHENTICATE is tampered with (gss-ntlmssp checks it)', async () => {
    const gss = await acceptor();
    const resp = decodeNegTokenResp(await firstLegs(client(), gss));
    const auth = Buffer.from(resp.responseToken!);
    auth[72]! ^= 0x01; // MS-NLMP 2.2.1.3 MIC at offset 72
    await expect(gss.step(encodeNegTokenResp({ ...resp, responseToken: auth }))).rejects.toThrow(
      /InvalidTokenError/,
    );
  });

  it('we refuse MIT’s accept-completed when its mechListMIC is tampered with', async () => {
    const gss = await acceptor();
    const c = client();
    const final = decodeNegTokenResp((await gss.step(await firstLegs(c, gss))).token!);
    const mic = Buffer.from(final.mechListMIC!);
    mic[4]! ^= 0x80;
    expect(errorOf(() => c.step(encodeNegTokenResp({ ...final, mechListMIC: mic })))?.code).toBe(
      'PSRP_SPNEGO_MIC_INVALID',
    );
  });

  it('MIT completes without a client mechListMIC and then sends none (we refuse that)', async () => {
    const gss = await acceptor();
    const c = client();
    const resp = decodeNegTokenResp(await firstLegs(c, gss));
    const r2 = await gss.step(
      encodeNegTokenResp({ negState: 'accept-incomplete', responseToken: resp.responseToken! }),
    );
    expect(r2.complete).toBe(true);
    expect(decodeNegTokenResp(r2.token!)).toEqual({ negState: 'accept-completed' });
    // We did send one: a server that answers without its own is refused.
    expect(errorOf(() => c.step(r2.token))?.code).toBe('PSRP_SPNEGO_MIC_INVALID');
    // Without any mechListMIC exchange gss-ntlmssp wraps from sequence number 0.
    expect((await gss.wrap(Buffer.from('x'))).readUInt32LE(12)).toBe(0);
  });

  it('gss-ntlmssp accepts an AUTHENTICATE without NTLM MIC and MsvAvFlags (not required)', async () => {
    const gss = await acceptor();
    const c = client();
    const r1 = decodeNegTokenResp((await gss.step(c.initialToken())).token!);
    // Hide MsvAvTimestamp from our client: it then sends no MIC and no MsvAvFlags (MS-NLMP 3.1.5.1.2).
    const ch = parseChallengeMessage(r1.responseToken!);
    expect(ch.avPairs.some((p) => p.id === AvId.Timestamp)).toBe(true);
    const stripped = buildChallengeMessage({
      flags: ch.flags,
      serverChallenge: ch.serverChallenge,
      targetName: ch.targetName,
      avPairs: ch.avPairs.filter((p) => p.id !== AvId.Timestamp && p.id !== AvId.EOL),
      ...(ch.version ? { version: ch.version } : {}),
    });
    const t2 = c.step(encodeNegTokenResp({ ...r1, responseToken: stripped }))!;
    const r2 = await gss.step(t2);
    expect(r2.complete).toBe(true);
    expect(c.step(r2.token)).toBeUndefined();
    const { header: signature, data: sealed } = c.seal(Buffer.from('no MIC'));
    expect((await gss.unwrap(Buffer.concat([signature, sealed]))).data.toString()).toBe('no MIC');
  });

  it('raw NTLMSSP under an SPNEGO-only acceptor credential is refused', async () => {
    const gss = await acceptor('spnego');
    const ntlm = new NtlmClientContext({ credentials });
    await expect(gss.step(ntlm.negotiate())).rejects.toThrow(/MissingCredentialsError/);
  });

  it('raw NTLMSSP with the default credential goes straight to gss-ntlmssp (no SPNEGO, sequence from 0)', async () => {
    const gss = await acceptor('default');
    const ntlm = new NtlmClientContext({ credentials });
    const r1 = await gss.step(ntlm.negotiate());
    expect(r1.token!.subarray(0, 8).toString('latin1')).toBe('NTLMSSP\0');
    const r2 = await gss.step(ntlm.authenticate(r1.token!));
    expect(r2).toMatchObject({ complete: true, token: undefined, mech: MechOid.NTLMSSP });
    const { header: signature, data: sealed } = ntlm.seal(Buffer.from('raw'));
    expect(signature.readUInt32LE(12)).toBe(0);
    expect((await gss.unwrap(Buffer.concat([signature, sealed]))).data.toString()).toBe('raw');
    const w = await gss.wrap(Buffer.from('back'));
    expect(w.readUInt32LE(12)).toBe(0);
    expect(ntlm.unseal(w.subarray(0, 16), w.subarray(16)).toString()).toBe('back');
  });

  it('SPNEGO also works with the default credential', async () => {
    const gss = await acceptor('default');
    const c = client();
    expect(c.step((await gss.step(await firstLegs(c, gss))).token)).toBeUndefined();
  });
});

describe('prerequisites', () => {
  it('fail loudly, naming the Debian packages, when python3-gssapi or gss-ntlmssp is missing', () => {
    expect(() => requireGssNtlmssp('/nonexistent/python3')).toThrow(/python3-gssapi and gss-ntlmssp/);
    // /bin/false exits 1, as a python without the gssapi module does.
    expect(() => requireGssNtlmssp('/bin/false')).toThrow(/cannot import gssapi: install .*python3-gssapi/);
    expect(() => requireGssNtlmssp(undefined, '/nonexistent/mech.d')).toThrow(
      /gss-ntlmssp is not registered .*apt-get install python3-gssapi gss-ntlmssp/,
    );
  });
});

describe('NtlmAuthenticator (HTTP Negotiate headers) against MIT', () => {
  const url = new URL('http://server.test:5985/wsman');

  /** The 401 dance with the acceptor behind a fake HTTP server; returns the final status. */
  async function dance(auth: NtlmAuthenticator, gss: GssAcceptor): Promise<number> {
    let header = auth.respond({ method: 'POST', url, wwwAuthenticate: ['Negotiate'], attempt: 0 });
    for (let attempt = 1; header !== undefined; attempt++) {
      const token = Buffer.from(/^Negotiate (\S+)$/.exec(header)![1]!, 'base64');
      let step;
      try {
        step = await gss.step(token);
      } catch {
        return 401;
      }
      const www = step.token ? [`Negotiate ${step.token.toString('base64')}`] : [];
      if (step.complete) {
        auth.complete({ method: 'POST', url, status: 200, wwwAuthenticate: www });
        return 200;
      }
      header = auth.respond({ method: 'POST', url, wwwAuthenticate: www, attempt });
    }
    return 401;
  }

  it('authenticates with SPNEGO by default and its context seals for gss_unwrap', async () => {
    const gss = await acceptor('spnego');
    const auth = new NtlmAuthenticator({ credentials });
    expect(await dance(auth, gss)).toBe(200);
    const ctx = auth.context;
    expect(ctx).toBeInstanceOf(SpnegoNtlmClientContext);
    const { header: signature, data: sealed } = ctx!.seal(Buffer.from('<s:Envelope/>'));
    expect((await gss.unwrap(Buffer.concat([signature, sealed]))).data.toString()).toBe('<s:Envelope/>');
  });

  it('with spnego: false it fails against an SPNEGO-only credential and works with the default one', async () => {
    const strict = await acceptor('spnego');
    expect(await dance(new NtlmAuthenticator({ credentials, spnego: false }), strict)).toBe(401);
    const lenient = await acceptor('default');
    const auth = new NtlmAuthenticator({ credentials, spnego: false });
    expect(await dance(auth, lenient)).toBe(200);
    expect(auth.context).toBeInstanceOf(NtlmClientContext);
  });
});
