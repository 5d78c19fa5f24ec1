/**
 * The lab's GSSAPI sessions: Negotiate, Kerberos and NTLM through the acceptor (gss-acceptor.ts),
 * one security context per TCP connection as HTTP.sys keeps them, and WinRM message encryption
 * (MS-WSMV 2.2.9.1) on an authenticated connection: required over plain HTTP
 * (AllowUnencrypted=false), optional over HTTPS; the answer is sealed like the request.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import {
  decryptMessage,
  encryptedBoundary,
  KERBEROS_ENCRYPTED,
  SPNEGO_ENCRYPTED,
  type SealingContext,
} from '../http/message-encryption.js';
import type { GssAcceptor } from './gss-acceptor.js';

type GssScheme = 'Negotiate' | 'Kerberos' | 'NTLM';

/** Per-connection GSSAPI state (connection-based auth, as HTTP.sys does for NTLM/Kerberos). */
interface GssConnection {
  readonly id: string;
  readonly scheme: GssScheme;
  complete: boolean;
  user: string | undefined;
}

/** What the handshake step decided for a request. */
export type GssHandshake =
  /** Answered here (a 401 leg or a refusal): nothing more to do. */
  | { readonly answered: true }
  /** Go on; `finalToken` (mutual authentication) goes on the answer's WWW-Authenticate. */
  | { readonly answered: false; readonly finalToken: string | undefined };

/** The request body in plain text, and the sealing to answer with; undefined when answered here. */
export interface GssBody {
  readonly body: string;
  readonly sealing: SealingContext | undefined;
}

export class GssSessions {
  readonly #acceptor: GssAcceptor | undefined;
  readonly #mapUser: (principal: string) => string | undefined;
  readonly #connections = new WeakMap<Socket, GssConnection>();
  #nextContext = 1;
  /** See `Lab.gssCounts`. */
  readonly counts = new Map<string, number>();

  constructor(acceptor: GssAcceptor | undefined, mapUser: (principal: string) => string | undefined) {
    this.#acceptor = acceptor;
    this.#mapUser = mapUser;
  }

  #count(k: string): void {
    this.counts.set(k, (this.counts.get(k) ?? 0) + 1);
  }

  #forget(socket: Socket): void {
    const c = this.#connections.get(socket);
    if (!c) return;
    this.#connections.delete(socket);
    this.#acceptor?.drop(c.id);
  }

  /** The lab user this connection authenticated as through GSSAPI, if it did. */
  user(socket: Socket): string | undefined {
    const gss = this.#connections.get(socket);
    return gss?.complete ? gss.user : undefined;
  }

  /**
   * GSSAPI (Negotiate / Kerberos / NTLM): one context per TCP connection. 401 with the acceptor's
   * token while the handshake goes on; the request that completes it is processed and its answer
   * carries the last token (mutual authentication).
   */
  async handshake(
    req: IncomingMessage,
    res: ServerResponse,
    offered: readonly string[],
    unauthorized: () => void,
  ): Promise<GssHandshake> {
    const acceptor = this.#acceptor;
    const gssHeader = /^(Negotiate|Kerberos|NTLM)\s+([A-Za-z0-9+/=]+)\s*$/i.exec(
      req.headers['authorization'] ?? '',
    );
    if (!acceptor || !gssHeader) return { answered: false, finalToken: undefined };
    const scheme = (['Negotiate', 'Kerberos', 'NTLM'] as const).find(
      (s) => s.toLowerCase() === gssHeader[1]!.toLowerCase(),
    )!;
    if (!offered.includes(scheme)) {
      unauthorized();
      return { answered: true };
    }
    let conn = this.#connections.get(req.socket);
    if (!conn || conn.complete || conn.scheme !== scheme) {
      // A new handshake (also one that re-authenticates an authenticated connection).
      this.#forget(req.socket);
      conn = { id: `c${this.#nextContext++}`, scheme, complete: false, user: undefined };
      this.#connections.set(req.socket, conn);
      const socket = req.socket;
      socket.once('close', () => this.#forget(socket));
    }
    this.#count('handshakeLegs');
    let result;
    try {
      result = await acceptor.accept(conn.id, scheme, Buffer.from(gssHeader[2]!, 'base64'));
    } catch {
      // Windows answers a token it refuses with a bare 401 (the schemes again, no token).
      this.#count('authFailed');
      this.#connections.delete(req.socket);
      unauthorized();
      return { answered: true };
    }
    if (!result.complete) {
      res.writeHead(401, { 'www-authenticate': `${scheme} ${result.token.toString('base64')}` }).end();
      return { answered: true };
    }
    const labUser = result.user !== undefined ? this.#mapUser(result.user) : undefined;
    if (labUser === undefined) {
      this.#count('authFailed');
      this.#forget(req.socket);
      unauthorized();
      return { answered: true };
    }
    conn.complete = true;
    conn.user = labUser;
    this.#count('authenticated');
    this.#count(`mech:${result.mech ?? 'unknown'}`);
    return {
      answered: false,
      finalToken: result.token.length > 0 ? `${scheme} ${result.token.toString('base64')}` : undefined,
    };
  }

  /**
   * The request body: unsealed on a GSS-authenticated connection that encrypts, refused in plain
   * text over plain HTTP (Windows' AllowUnencrypted=false answers 500), else as sent.
   */
  async body(
    req: IncomingMessage,
    res: ServerResponse,
    raw: Buffer,
    secure: boolean,
    finalToken: string | undefined,
  ): Promise<GssBody | undefined> {
    const acceptor = this.#acceptor;
    const gss = this.#connections.get(req.socket);
    const gssUser = this.user(req.socket);
    const contentType = req.headers['content-type'];
    if (acceptor && gss && gssUser !== undefined && encryptedBoundary(contentType) !== undefined) {
      const id = gss.id;
      const sealing: SealingContext = {
        protocol: gss.scheme === 'Kerberos' ? KERBEROS_ENCRYPTED : SPNEGO_ENCRYPTED,
        seal: (p) => acceptor.wrap(id, p),
        unseal: (h, d) => acceptor.unwrap(id, h, d),
      };
      try {
        const body = await decryptMessage(sealing, raw, contentType ?? '');
        this.#count('decrypted');
        return { body, sealing };
      } catch {
        // A message that does not unwrap (tampered, wrong key, out of sequence).
        this.#count('unsealFailed');
        res.writeHead(400).end();
        return undefined;
      }
    }
    if (gssUser !== undefined && raw.length === 0) {
      // A handshake-only request (clients that encrypt authenticate with an empty body).
      res.writeHead(200, finalToken ? { 'www-authenticate': finalToken } : {}).end();
      return undefined;
    }
    if (gssUser !== undefined && !secure) {
      // Windows with AllowUnencrypted=false refuses it with HTTP 500 (docs/lab.md).
      this.#count('plaintextRefused');
      res.writeHead(500, finalToken ? { 'www-authenticate': finalToken } : {}).end();
      return undefined;
    }
    return { body: raw.toString('utf8'), sealing: undefined };
  }

  /** Counts a sealed answer. */
  encrypted(): void {
    this.#count('encrypted');
  }

  /** Ends the acceptor process. */
  async close(): Promise<void> {
    await this.#acceptor?.close();
  }
}
