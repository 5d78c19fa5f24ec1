/**
 * Issue 12, transport half: no shell left behind, and no Receive loop without an end. The client
 * proposes the ShellId in the Create body (MS-WSMV 2.2.4.37 `rsp:Shell/@ShellId`, as Windows
 * clients do), so whatever a hostile server answers to Create — garbage, an HTML page, a
 * CreateResponse without a ShellId — it can Delete the shell the server may have made. A command
 * that WS-Man says is Done without a final PSRP pipeline state ends with a typed error, and so does
 * a pool whose own Receive ends or whose shell is gone.
 */
import type { ServerResponse } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import {
  PipelineFailedError,
  RunspacePool,
  RunspacePoolBrokenError,
  type PsrpError,
} from '../../src/index.js';
import { startHostileServer, type HostileRequest } from '../helpers/hostile-wsman-server.js';
import { closeAllServers } from '../http/servers.js';

afterEach(closeAllServers);

async function failure(p: Promise<unknown>): Promise<PsrpError> {
  return p.then(
    (v) => {
      throw new Error(`expected a rejection, got ${JSON.stringify(v)}`);
    },
    (e: unknown) => e as PsrpError,
  );
}

const relatesTo = (req: HostileRequest): string =>
  /<(?:[\w.-]+:)?MessageID>([^<]+)</.exec(req.body)?.[1] ?? '';
const soap = (req: HostileRequest, action: string, body: string): string =>
  `<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:rsp="http://schemas.microsoft.com/wbem/wsman/1/windows/shell">` +
  `<s:Header><a:Action>${action}</a:Action><a:RelatesTo>${relatesTo(req)}</a:RelatesTo></s:Header><s:Body>${body}</s:Body></s:Envelope>`;

const CREATE_ANSWERS: readonly {
  name: string;
  answer: (req: HostileRequest, res: ServerResponse) => void;
}[] = [
  {
    name: 'garbage',
    answer: (_req, res) =>
      res.writeHead(200, { 'content-type': 'application/soap+xml' }).end('\u0000\u0001garbage{]'),
  },
  {
    name: 'an HTML page',
    answer: (_req, res) =>
      res
        .writeHead(200, { 'content-type': 'text/html' })
        .end('<!DOCTYPE html><html><body><h1>Welcome</h1></body></html>'),
  },
  {
    name: 'a CreateResponse without a ShellId',
    answer: (req, res) =>
      res
        .writeHead(200, { 'content-type': 'application/soap+xml' })
        .end(
          soap(
            req,
            'http://schemas.xmlsoap.org/ws/2004/09/transfer/CreateResponse',
            '<x:ResourceCreated xmlns:x="http://schemas.xmlsoap.org/ws/2004/09/transfer"/>',
          ),
        ),
  },
];

describe('a Create answered with something unusable still deletes the shell the client proposed', () => {
  for (const { name, answer } of CREATE_ANSWERS) {
    it(`Create answered with ${name}: typed error, one Delete naming the proposed ShellId`, async () => {
      const server = await startHostileServer();
      server.hostile((req, res) => {
        if (req.action !== 'Create') return false;
        void req.honest(); // the server did make the shell, then answered badly
        answer(req, res);
        return true;
      });
      const e = await failure(RunspacePool.open({ uri: server.url, cleanupTimeoutMs: 2_000 }));
      expect(e.code).toMatch(/^PSRP_(WSMAN_INVALID_ENVELOPE|XML_)/);
      expect(server.count('Create')).toBe(1);
      expect(server.proposedShellIds).toHaveLength(1);
      expect(server.count('Delete')).toBe(1);
      expect(server.deletedShellIds).toEqual(server.proposedShellIds);
      expect(server.fake.deleted).toBe(1);
    }, 20_000);
  }

  it('a Create the server refused (a WS-Man fault) sends no Delete', async () => {
    const server = await startHostileServer();
    server.hostile((req, res) => {
      if (req.action !== 'Create') return false;
      res
        .writeHead(500, { 'content-type': 'application/soap+xml' })
        .end(
          soap(
            req,
            'http://schemas.dmtf.org/wbem/wsman/1/wsman/fault',
            '<s:Fault><s:Code><s:Value>s:Receiver</s:Value><s:Subcode><s:Value>w:InternalError</s:Value></s:Subcode></s:Code><s:Reason><s:Text xml:lang="en-US">quota</s:Text></s:Reason></s:Fault>',
          ),
        );
      return true;
    });
    const e = await failure(RunspacePool.open({ uri: server.url }));
    expect(e.name).toBe('WSManFaultError');
    expect(server.count('Create')).toBe(1);
    expect(server.count('Delete')).toBe(0);
  }, 20_000);
});

describe('a Receive loop always ends', () => {
  it('CommandState Done without a final PIPELINE_STATE: invoke() rejects (PSRP_PIPELINE_ENDED_WITHOUT_STATE) after one Receive', async () => {
    const server = await startHostileServer({ planner: () => ({ output: ['a'] }) });
    const pool = await RunspacePool.open({ uri: server.url, operationTimeoutSeconds: 1 });
    server.hostile((req, res) => {
      if (!(req.action === 'Receive' && /CommandId="([^"]+)"/.test(req.body))) return false;
      const id = /CommandId="([^"]+)"/.exec(req.body)![1]!;
      res
        .writeHead(200, { 'content-type': 'application/soap+xml' })
        .end(
          soap(
            req,
            'http://schemas.microsoft.com/wbem/wsman/1/windows/shell/ReceiveResponse',
            `<rsp:ReceiveResponse><rsp:CommandState CommandId="${id}" State="http://schemas.microsoft.com/wbem/wsman/1/windows/shell/CommandState/Done"/></rsp:ReceiveResponse>`,
          ),
        );
      return true;
    });
    const before = server.count('Receive');
    const started = performance.now();
    const e = await failure(pool.powershell().addCommand('Get-Thing').invoke());
    expect(e).toBeInstanceOf(PipelineFailedError);
    expect(e.code).toBe('PSRP_PIPELINE_ENDED_WITHOUT_STATE');
    expect(performance.now() - started).toBeLessThan(3_000);
    expect(server.count('Receive') - before).toBe(1); // was 69,009 in 45 s
    server.hostile(undefined);
    expect((await pool.powershell().addCommand('Get-Thing').invoke()).output).toEqual(['a']); // the pool is fine
    await pool.close();
    expect(server.count('Delete')).toBe(server.count('Create'));
  }, 20_000);

  it('the pool’s own Receive ends (CommandState Done) while opening: RunspacePoolBrokenError, the shell deleted', async () => {
    const server = await startHostileServer();
    server.hostile((req, res) => {
      if (!(req.action === 'Receive' && !/CommandId=/.test(req.body))) return false;
      res
        .writeHead(200, { 'content-type': 'application/soap+xml' })
        .end(
          soap(
            req,
            'http://schemas.microsoft.com/wbem/wsman/1/windows/shell/ReceiveResponse',
            '<rsp:ReceiveResponse><rsp:CommandState State="http://schemas.microsoft.com/wbem/wsman/1/windows/shell/CommandState/Done"/></rsp:ReceiveResponse>',
          ),
        );
      return true;
    });
    const started = performance.now();
    const e = await failure(RunspacePool.open({ uri: server.url, openTimeoutMs: 30_000 }));
    expect(e).toBeInstanceOf(RunspacePoolBrokenError);
    expect(e.code).toBe('PSRP_RUNSPACE_POOL_BROKEN');
    expect(performance.now() - started).toBeLessThan(3_000);
    expect(server.count('Receive')).toBe(1);
    expect(server.count('Delete')).toBe(1);
  }, 20_000);

  it('the pool’s shell is gone (ShellNotFound on its Receive): RunspacePoolBrokenError, then the pool refuses work', async () => {
    const server = await startHostileServer();
    server.hostile((req, res) => {
      if (!(req.action === 'Receive' && !/CommandId=/.test(req.body))) return false;
      res
        .writeHead(500, { 'content-type': 'application/soap+xml' })
        .end(
          soap(
            req,
            'http://schemas.dmtf.org/wbem/wsman/1/wsman/fault',
            '<s:Fault><s:Code><s:Value>s:Sender</s:Value><s:Subcode><s:Value>w:InvalidSelectors</s:Value></s:Subcode></s:Code><s:Reason><s:Text xml:lang="en-US">The request for the Windows Remote Shell with ShellId X failed because the shell was not found on the server.</s:Text></s:Reason><s:Detail><f:WSManFault xmlns:f="http://schemas.microsoft.com/wbem/wsman/1/wsmanfault" Code="2150858843" Machine="h"><f:Message>The request for the Windows Remote Shell failed because the shell was not found on the server.</f:Message></f:WSManFault></s:Detail></s:Fault>',
          ),
        );
      return true;
    });
    const e = await failure(RunspacePool.open({ uri: server.url, openTimeoutMs: 30_000 }));
    expect(e).toBeInstanceOf(RunspacePoolBrokenError);
    expect((e.cause as PsrpError).code).toBe('PSRP_WSMAN_SHELL_NOT_FOUND');
    expect(server.count('Receive')).toBe(1);
    expect(server.count('Delete')).toBe(1);
  }, 20_000);
});
