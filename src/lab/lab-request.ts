/**
 * The lab's HTTP request listener: `/adminapi/…` goes to the Exchange Online surface; POSTs to
 * `/wsman` and `/PowerShell/` pass the Exchange front end, authentication (GSSAPI handshake and
 * message sealing, Basic, client certificates), Identify, fault injection and the request size
 * quota, then the WS-Management handler; the answer is sealed when the request was.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { encryptMessage } from '../http/message-encryption.js';
import type { LabAccounts } from './lab-accounts.js';
import { answerFrontEnd, answerUnauthorized, injectFault, type LabBehaviours } from './lab-behaviours.js';
import { checkRequestSize, type LabLimits } from './lab-quotas.js';
import type { GssSessions } from './gss-sessions.js';
import type { LabExoSurface } from './exo-admin-api.js';
import { identifyResponse, parseLabRequest } from './wsman-server-codec.js';
import { quota } from './lab-quotas.js';
import type { createWSManHandler } from './wsman-handler.js';

/** What the listener needs from the lab. */
export interface LabRequestContext {
  readonly exo: LabExoSurface;
  readonly behaviours: LabBehaviours;
  readonly limits: LabLimits;
  readonly accounts: LabAccounts;
  readonly gssSessions: GssSessions;
  /** Whether the lab accepts client certificates. */
  readonly clientCa: boolean;
  readonly requestCounts: Map<string, number>;
  readonly fired: (name: string) => void;
  readonly handle: ReturnType<typeof createWSManHandler>;
  /** Requests being handled now (for `lab.stats()`). */
  readonly inFlight: { count: number };
}

/** The request listener of the HTTPS (`secure`) or plain-HTTP server. */
export function labListener(
  ctx: LabRequestContext,
  secure: boolean,
): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        const raw = Buffer.concat(chunks);
        if (/^\/adminapi\//i.test(req.url ?? '')) {
          await ctx.exo.handle(req, res, raw, secure);
          return;
        }
        await handleWsmanRequest(ctx, req, res, raw, secure);
      })();
    });
  };
}

/** A request to `/wsman` or `/PowerShell/`. */
async function handleWsmanRequest(
  ctx: LabRequestContext,
  req: IncomingMessage,
  res: ServerResponse,
  raw: Buffer,
  secure: boolean,
): Promise<void> {
  const { behaviours, gssSessions, accounts, limits, fired } = ctx;
  const exchange = /^\/powershell\/?(\?.*)?$/i.test(req.url ?? '');
  if (req.method !== 'POST' || (!exchange && !/^\/wsman\/?(\?.*)?$/i.test(req.url ?? ''))) {
    res.writeHead(404).end();
    return;
  }
  if (exchange && answerFrontEnd(behaviours, req, res, secure)) return;
  const unauthorized = (): void => answerUnauthorized(behaviours, res, exchange);

  const handshake = await gssSessions.handshake(req, res, behaviours.authSchemes, unauthorized);
  if (handshake.answered) return;
  const { finalToken } = handshake;
  const opened = await gssSessions.body(req, res, raw, secure, finalToken);
  if (!opened) return;
  const { body, sealing } = opened;
  const reply = async (
    status: number,
    text: string,
    headers: Record<string, string | string[]> = {},
  ): Promise<void> => {
    const h: Record<string, string | string[]> = { ...headers };
    if (finalToken) h['www-authenticate'] = finalToken;
    if (sealing) {
      const enc = await encryptMessage(sealing, text);
      gssSessions.encrypted();
      res.writeHead(status, { ...h, 'content-type': enc.contentType }).end(enc.body);
    } else {
      res.writeHead(status, { ...h, 'content-type': 'application/soap+xml;charset=UTF-8' }).end(text);
    }
  };

  const user =
    gssSessions.user(req.socket) ??
    accounts.authorized(req, {
      clientCa: ctx.clientCa,
      basic: behaviours.authSchemes.includes('Basic'),
    });
  const identify = /<(?:[\w.-]+:)?Identify\s*\/?>/.test(body);
  if (identify && (user || (!exchange && req.headers['wsmanidentify'] === 'unauthenticated'))) {
    ctx.requestCounts.set('Identify', (ctx.requestCounts.get('Identify') ?? 0) + 1);
    await reply(200, identifyResponse(user !== undefined));
    return;
  }
  if (!user) {
    unauthorized();
    return;
  }
  try {
    const request = parseLabRequest(body);
    if (await injectFault(behaviours.faults, fired, request, req, res)) return;
    const tooLarge = checkRequestSize(limits, Buffer.byteLength(body));
    if (tooLarge) {
      await reply(500, quota(request, tooLarge));
      return;
    }
    const cookies: string[] = [];
    ctx.inFlight.count++;
    const out = await ctx
      .handle(request, user, exchange, req.headers.cookie ?? '', (c) => cookies.push(c))
      .finally(() => ctx.inFlight.count--);
    const status = out.includes('<s:Fault>') ? 500 : 200;
    await reply(status, out, cookies.length > 0 ? { 'set-cookie': cookies } : {});
  } catch (e) {
    res.writeHead(500, { 'content-type': 'text/plain' }).end(`lab error: ${(e as Error).message}`);
  }
}
