/**
 * Issue 12, transport half: no secret in any error. A hostile server echoes the request — its
 * Authorization header, the base64 payload, the decoded `user:password`, the password alone — in
 * every shape a server or a proxy answers with (a 400 and a 500 SOAP fault, a 200 that is not XML,
 * a 502 text page). No field of the error the public client throws, its stack, its JSON, nor any
 * diagnostics-channel event may show any of them.
 */
import diagnosticsChannel from 'node:diagnostics_channel';
import type { ServerResponse } from 'node:http';
import { inspect } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { RunspacePool, type PsrpError } from '../../src/index.js';
import { startHostileServer, type HostileRequest } from '../helpers/hostile-wsman-server.js';
import { closeAllServers } from '../http/servers.js';

afterEach(closeAllServers);

const USER = 'CONTOSO\\svc-exchange';
// Characters that XML escapes and that base64 turns into '+' and '/': every spelling must go.
const PASSWORD = `Pa55&w<rd>"q'uote:colon~?>>`;
const PAIR = `${USER}:${PASSWORD}`;
const TOKEN = Buffer.from(PAIR, 'utf8').toString('base64');
const HEADER = `Basic ${TOKEN}`;
const SECRETS = { header: HEADER, token: TOKEN, pair: PAIR, password: PASSWORD };

const xml = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** What the server echoes: every credential form, raw lines as a naive error page would. */
function echo(req: HostileRequest): string {
  const auth = String(req.recorded.headers.authorization ?? '');
  const decoded = Buffer.from(auth.replace(/^Basic /, ''), 'base64').toString('utf8');
  return `Request was:\nAuthorization: ${auth}\ncredentials ${decoded}\npassword=${decoded.slice(decoded.indexOf(':') + 1)} token ${auth.slice(6)}`;
}

function fault(req: HostileRequest): string {
  const relates = /<(?:[\w.-]+:)?MessageID>([^<]+)</.exec(req.body)?.[1] ?? '';
  const text = xml(echo(req));
  return (
    `<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing">` +
    `<s:Header><a:Action>http://schemas.dmtf.org/wbem/wsman/1/wsman/fault</a:Action><a:RelatesTo>${relates}</a:RelatesTo></s:Header>` +
    `<s:Body><s:Fault><s:Code><s:Value>s:Sender</s:Value><s:Subcode><s:Value>w:InvalidOptions</s:Value></s:Subcode></s:Code>` +
    `<s:Reason><s:Text xml:lang="en-US">${text}</s:Text></s:Reason><s:Detail><f:WSManFault xmlns:f="http://schemas.microsoft.com/wbem/wsman/1/wsmanfault" Code="2150858843" Machine="${xml(req.recorded.headers.authorization ?? '')}">` +
    `<f:Message>${text}<f:ProviderFault provider="x" path="${xml(PASSWORD)}">${text}</f:ProviderFault></f:Message></f:WSManFault></s:Detail></s:Fault></s:Body></s:Envelope>`
  );
}

interface Shape {
  readonly name: string;
  readonly answer: (req: HostileRequest, res: ServerResponse) => void;
  readonly code: RegExp;
  /** Deletes expected after the failed Create: 0 when the answer proves no shell was made. */
  readonly deletes: number;
}

const SHAPES: readonly Shape[] = [
  {
    name: 'a 400 SOAP fault quoting the request',
    answer: (req, res) =>
      res.writeHead(400, { 'content-type': 'application/soap+xml;charset=UTF-8' }).end(fault(req)),
    code: /^PSRP_HTTP_BAD_REQUEST$/,
    deletes: 0,
  },
  {
    name: 'a 500 SOAP fault quoting the request',
    answer: (req, res) =>
      res.writeHead(500, { 'content-type': 'application/soap+xml;charset=UTF-8' }).end(fault(req)),
    code: /^PSRP_WSMAN_/,
    deletes: 0,
  },
  {
    name: 'a 200 whose body is not XML',
    answer: (req, res) => res.writeHead(200, { 'content-type': 'text/plain' }).end(echo(req)),
    code: /^PSRP_WSMAN_INVALID_ENVELOPE$/,
    deletes: 1,
  },
  {
    name: 'a 200 SOAP fault quoting the request',
    answer: (req, res) =>
      res.writeHead(200, { 'content-type': 'application/soap+xml;charset=UTF-8' }).end(fault(req)),
    code: /^PSRP_WSMAN_/,
    deletes: 0,
  },
  {
    name: 'a 502 text page from a proxy',
    answer: (req, res) =>
      res
        .writeHead(502, { 'content-type': 'text/html' })
        .end(`<html><body><pre>${echo(req)}</pre></body></html>`),
    code: /^PSRP_HTTP_BAD_GATEWAY$/,
    deletes: 1,
  },
];

/** Every way an error is shown or logged. */
function views(err: unknown): Record<string, string> {
  if (err === undefined) return {};
  const e = err as Error;
  return {
    inspect: inspect(err, { depth: 10 }),
    json: JSON.stringify(err, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)),
    stack: String(e.stack),
    message: e.message,
    string: String(err),
  };
}

describe('a server that echoes the request cannot expose the credentials', () => {
  for (const shape of SHAPES) {
    it(`${shape.name}: typed error, no credential in any field, stack, JSON or diagnostics event`, async () => {
      const server = await startHostileServer();
      server.hostile((req, res) => {
        if (req.action !== 'Create') return false;
        shape.answer(req, res);
        return true;
      });
      const events: unknown[] = [];
      const listen = (message: unknown): void => {
        events.push(message);
      };
      const names = ['psrp:http:exchange', 'psrp:wsman:request', 'psrp:wsman:response', 'psrp:wsman:message'];
      for (const n of names) diagnosticsChannel.subscribe(n, listen);
      let err: PsrpError;
      try {
        err = await RunspacePool.open({
          uri: server.url,
          auth: { username: USER, password: PASSWORD },
          allowUnencrypted: true,
          cleanupTimeoutMs: 2_000,
        }).then(
          () => {
            throw new Error('expected the open to fail');
          },
          (e: unknown) => e as PsrpError,
        );
      } finally {
        for (const n of names) diagnosticsChannel.unsubscribe(n, listen);
      }
      // The server really did see (and echo) the credentials.
      expect(server.authorizations[0]).toBe(HEADER);
      expect(err.code).toMatch(shape.code);
      for (const [view, text] of Object.entries({ ...views(err), events: JSON.stringify(events) })) {
        for (const [what, secret] of Object.entries(SECRETS)) {
          expect(text.includes(secret), `${view} shows the ${what}`).toBe(false);
        }
      }
      // The error still says what happened.
      expect(err.message.length).toBeGreaterThan(10);
      expect(server.count('Create')).toBe(1);
      expect(server.count('Delete')).toBe(shape.deletes);
    }, 20_000);
  }
});
