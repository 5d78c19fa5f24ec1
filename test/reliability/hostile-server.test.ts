/**
 * Issue 12 end to end: a hostile WS-Man server on loopback answers the pool's first Receive with an
 * rsp:Stream of 1,500,000 spaces and a `!` (ten times the 150,000 spaces that blocked the client
 * for 19 s). RunspacePool.open must fail with a typed error promptly, and delete the shell it made.
 */
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { RunspacePool, type PsrpError } from '../../src/index.js';

const SHELL = '0F0E0D0C-0B0A-4908-8706-050403020100';
const NS =
  'xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" ' +
  'xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd" xmlns:rsp="http://schemas.microsoft.com/wbem/wsman/1/windows/shell"';
const envelope = (action: string, body: string): string =>
  `<s:Envelope ${NS}><s:Header><a:Action>http://schemas.microsoft.com/wbem/wsman/1/windows/shell/${action}</a:Action></s:Header><s:Body>${body}</s:Body></s:Envelope>`;

let server: Server | undefined;
afterEach(async () => {
  const s = server;
  server = undefined;
  if (s) await new Promise((resolve) => s.close(resolve));
});

/** A WS-Man server that creates shells, answers every Receive with `receiveBody`, and logs actions. */
async function hostileServer(receiveBody: string): Promise<{ url: string; actions: string[] }> {
  const actions: string[] = [];
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const action = /<(?:\w+:)?Action[^>]*>[^<]*\/([A-Za-z]+)<\//.exec(body)?.[1] ?? '?';
      actions.push(action);
      let answer: string;
      if (action === 'Create') {
        answer = envelope(
          'CreateResponse',
          `<x:ResourceCreated xmlns:x="http://schemas.xmlsoap.org/ws/2004/09/transfer"><a:ReferenceParameters><w:SelectorSet><w:Selector Name="ShellId">${SHELL}</w:Selector></w:SelectorSet></a:ReferenceParameters></x:ResourceCreated>` +
            `<rsp:Shell><rsp:ShellId>${SHELL}</rsp:ShellId></rsp:Shell>`,
        );
      } else if (action === 'Receive') {
        answer = envelope('ReceiveResponse', `<rsp:ReceiveResponse>${receiveBody}</rsp:ReceiveResponse>`);
      } else {
        answer = envelope(`${action}Response`, '');
      }
      res.writeHead(200, { 'content-type': 'application/soap+xml;charset=UTF-8' }).end(answer);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/wsman`, actions };
}

describe('a hostile WS-Man server cannot freeze the client', () => {
  it('an rsp:Stream of 1,500,000 spaces and "!": PSRP_WSMAN_INVALID_ENVELOPE at once, and the shell is deleted', async () => {
    const { url, actions } = await hostileServer(
      `<rsp:Stream Name="stdout">A${' '.repeat(1_500_000)}!</rsp:Stream>`,
    );
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    const error = await RunspacePool.open({
      uri: url,
      auth: { username: 'u', password: 'p' },
      allowUnencrypted: true,
      openTimeoutMs: 30_000,
    }).then(
      () => undefined,
      (e: unknown) => e as PsrpError,
    );
    const cpu = process.cpuUsage(cpu0);
    const ms = performance.now() - t0;
    expect(error, 'open succeeded').toBeDefined();
    expect(error!.code, String(error)).toBe('PSRP_WSMAN_INVALID_ENVELOPE');
    expect(error!.message).toMatch(/rsp:Stream content is not base64/);
    // The old regular expression needed 19 s for a tenth of this; the whole open (HTTP included)
    // now takes a small fraction of a second of CPU. Generous bounds: the machine is shared.
    expect((cpu.user + cpu.system) / 1000, 'CPU ms of the whole open').toBeLessThan(2000);
    expect(ms, 'wall ms').toBeLessThan(15_000);
    expect(actions[0], actions.join()).toBe('Create');
    expect(actions).toContain('Receive');
    expect(actions.at(-1)).toBe('Delete');
  }, 60_000);
});
