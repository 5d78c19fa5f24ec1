/**
 * Issue 13, tracing: the protocol trace names each PSRP message (type, size, pool, pipeline) of an
 * open and a command against the lab, in order; the full-message dump shows every envelope and
 * message with every credential redacted (Basic Authorization, a PSCredential's SecureString, a
 * password passed as a plain string, the session key); and nothing is decoded while tracing is off.
 */
import diagnosticsChannel from 'node:diagnostics_channel';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLab, type Lab } from '../../src/lab/lab-server.js';
import {
  createPSObject,
  HttpTransport,
  PSSecureString,
  RunspacePool,
  traceTo,
  type WSManTransport,
} from '../../src/index.js';
import { requirePwsh } from '../helpers/pwsh.js';

let lab: Lab;
beforeAll(async () => {
  requirePwsh();
  lab = await startLab();
}, 60_000);
afterAll(async () => {
  await lab?.close();
});

/** Keeps every envelope sent and received, to show what the dump left out. */
class RecordingTransport implements WSManTransport {
  readonly wire: string[] = [];
  constructor(readonly inner: HttpTransport) {}
  get url(): string {
    return this.inner.url;
  }
  async send(envelope: string, options?: Parameters<WSManTransport['send']>[1]): Promise<string> {
    this.wire.push(envelope);
    const r = await this.inner.send(envelope, options);
    this.wire.push(r);
    return r;
  }
  redact(text: string): string {
    return this.inner.redact(text);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

const transport = (): HttpTransport =>
  new HttpTransport({ url: lab.url, auth: { username: 'admin', password: lab.users['admin']! }, ca: lab.ca });

/** The message lines of a trace: `>> TYPE` / `<< TYPE`. */
const messageLines = (lines: string[]): string[] =>
  lines.flatMap((l) => {
    const m = /^psrp \+\s*\d+ms\s+(>>|<<) (\w+) (\d+) B pool=(\S+)(?: pipeline=(\S+))?$/.exec(l);
    return m === null ? [] : [`${m[1]} ${m[2]}${m[5] !== undefined ? ' (pipeline)' : ''}`];
  });

describe('protocol trace of PSRP messages (the lab, real pwsh)', () => {
  it('shows the message types of an open and a command, in order, with sizes, pool and pipeline, and command ids', async () => {
    const lines: string[] = [];
    const stop = traceTo((l) => lines.push(l));
    try {
      await using pool = await RunspacePool.open({ transport: transport() });
      const r = await pool.powershell().addScript('1..3').invoke();
      expect(r.output).toEqual([1, 2, 3]);
    } finally {
      stop();
    }
    const msgs = messageLines(lines);
    // MS-PSRP 3.1.4.1 (open), 3.1.4.3 (a pipeline): in the order the wire carried them.
    expect(msgs.slice(0, 2)).toEqual(['>> SESSION_CAPABILITY', '>> INIT_RUNSPACEPOOL']);
    expect(msgs).toContain('<< SESSION_CAPABILITY');
    expect(msgs).toContain('<< APPLICATION_PRIVATE_DATA');
    const opened = msgs.indexOf('<< RUNSPACEPOOL_STATE');
    const created = msgs.indexOf('>> CREATE_PIPELINE (pipeline)');
    const output = msgs.indexOf('<< PIPELINE_OUTPUT (pipeline)');
    const state = msgs.indexOf('<< PIPELINE_STATE (pipeline)');
    expect(opened).toBeGreaterThan(1);
    expect(created).toBeGreaterThan(opened);
    expect(output).toBeGreaterThan(created);
    expect(msgs.filter((m) => m === '<< PIPELINE_OUTPUT (pipeline)')).toHaveLength(3);
    expect(state).toBeGreaterThan(msgs.lastIndexOf('<< PIPELINE_OUTPUT (pipeline)'));
    // The pipeline's id on its messages and as the WS-Man command id of Command and Receive.
    const pipelineShort =
      /^psrp .*>> CREATE_PIPELINE \d+ B pool=\S+ pipeline=(\S+)$/m.exec(lines.join('\n'))?.[1] ?? 'missing';
    expect(
      lines.filter((l) => l.includes(`<< PIPELINE_OUTPUT`) && l.endsWith(`pipeline=${pipelineShort}`)),
    ).toHaveLength(3);
    expect(
      lines.some((l) => new RegExp(`-> Command shell=\\w{8} command=${pipelineShort} \\d+ B`).test(l)),
    ).toBe(true);
    expect(
      lines.some((l) => new RegExp(`<- Receive shell=\\w{8} command=${pipelineShort} ok in \\d+ ms`).test(l)),
    ).toBe(true);
    // No envelope or CLIXML without { messages: true }.
    expect(lines.join('\n')).not.toContain('<s:Envelope');
    expect(lines.join('\n')).not.toContain('<Obj');
  }, 60_000);

  it('dumps envelopes and messages with the Basic credential, a PSCredential, a plain password and the session key redacted', async () => {
    const credPassword = 'Cr3d-P@ssw0rd-7731';
    const plainPassword = 'Plain-Pa55-9924';
    const rec = new RecordingTransport(transport());
    const lines: string[] = [];
    const stop = traceTo((l) => lines.push(l), { messages: true });
    try {
      await using pool = await RunspacePool.open({ transport: rec });
      const credential = createPSObject({
        typeNames: ['System.Management.Automation.PSCredential', 'System.Object'],
        properties: { UserName: 'contoso\\alice', Password: PSSecureString.fromPlainText(credPassword) },
      });
      const r = await pool
        .powershell()
        .addScript(
          'param($Credential, $Password) "$($Credential.UserName) $($Credential.GetNetworkCredential().Password.Length) $($Password.Length)"',
        )
        .addParameter('Credential', credential)
        .addParameter('Password', plainPassword)
        .invoke();
      expect(r.output).toEqual([`contoso\\alice ${credPassword.length} ${plainPassword.length}`]);
    } finally {
      stop();
    }
    const dump = lines.join('\n');
    const adminPassword = lab.users['admin']!;
    // What the dump shows.
    expect(dump).toContain('<s:Envelope');
    expect(dump).toMatch(/<creationXml[^>]*>\[\d+ bytes of PSRP data\]<\/creationXml>/);
    expect(dump).toContain('authorization: [redacted]');
    expect(dump).toContain('>> PUBLIC_KEY');
    expect(dump).toContain('<< ENCRYPTED_SESSION_KEY');
    expect(dump).toContain('<S N="EncryptedSessionKey">[redacted]</S>');
    expect(dump).toContain('<SS N="Password">[redacted]</SS>');
    expect(dump).toMatch(/<S N="N">Password<\/S>\s*<S N="V">\[redacted\]<\/S>/);
    expect(dump).toContain('contoso\\alice');
    // What it never shows.
    for (const secret of [
      adminPassword,
      Buffer.from(`admin:${adminPassword}`).toString('base64'),
      credPassword,
      plainPassword,
    ])
      expect(dump).not.toContain(secret);
    // The PSCredential's encrypted password and the encrypted session key were on the wire, not in the dump.
    const wireText = rec.wire
      .flatMap((xml) =>
        [...xml.matchAll(/>([A-Za-z0-9+/=]{40,})</g)].map((m) =>
          Buffer.from(m[1]!, 'base64').toString('latin1'),
        ),
      )
      .join('\n');
    const ciphertexts = [
      ...wireText.matchAll(/<SS N="Password">([^<]+)<\/SS>|<S N="EncryptedSessionKey">([^<]+)<\/S>/g),
    ].map((m) => m[1] ?? m[2]!);
    expect(ciphertexts.length).toBeGreaterThanOrEqual(2);
    for (const c of ciphertexts) expect(dump).not.toContain(c);
    expect(wireText).toContain(plainPassword); // it did travel as plain text
  }, 60_000);

  it('decodes nothing while nothing subscribes to psrp:wsman:message', async () => {
    expect(diagnosticsChannel.channel('psrp:wsman:message').hasSubscribers).toBe(false);
    const t = transport();
    await using pool = await RunspacePool.open({ transport: t });
    const conn = (pool as unknown as { connection: { wire?: unknown } }).connection;
    await pool.powershell().addScript('1').invoke();
    expect(conn).toBeDefined();
    expect(conn.wire).toBeUndefined();
  }, 60_000);
});
