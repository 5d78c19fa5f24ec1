/**
 * The network probes of a diagnosis (its own I/O on purpose: a diagnosis must see what the transport
 * hides, such as the certificate of a connection that failed verification), and how their errors read.
 */
import { isIP, connect as tcpConnect } from 'node:net';
import { connect as tlsConnect, rootCertificates, type PeerCertificate } from 'node:tls';
import { AuthenticationError, TransportError } from '../../index.js';

export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(Object.assign(new Error(`${what} did not answer within ${ms} ms`), { code: 'ETIMEDOUT' })),
        ms,
      );
    }),
  ]).finally(() => clearTimeout(timer));
}

export const errCode = (e: unknown): string => String((e as { code?: unknown }).code ?? 'ERROR');
export const errMessage = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/** `text` cut to at most about `max` characters at the end of a sentence (or a clause), never mid-sentence without `…`. */
export function clip(text: string, max: number): string {
  if (text.length <= max) return text;
  const head = text.slice(0, max);
  const end = Math.max(head.lastIndexOf('. '), head.lastIndexOf('; '), head.lastIndexOf(').'));
  if (end >= max / 2) return head.slice(0, end + (head[end] === ')' ? 2 : 1));
  return `${head.slice(0, max - 1).trimEnd()}…`;
}

/** The fix a transport or authentication error carries, if any. */
export function hintOf(e: unknown): string | undefined {
  return e instanceof TransportError || e instanceof AuthenticationError ? e.hint : undefined;
}

export interface TlsFacts {
  readonly authorized: boolean;
  readonly authorizationError: string | undefined;
  readonly cert: PeerCertificate | undefined;
  readonly protocol: string | null;
}

/** A TLS handshake that does not reject an untrusted certificate, to report on it. */
export function probeTls(
  host: string,
  address: string,
  port: number,
  ca: readonly (string | Buffer)[],
  timeoutMs: number,
): Promise<TlsFacts> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({
      host: address,
      port,
      ...(isIP(host) ? {} : { servername: host }),
      rejectUnauthorized: false,
      ...(ca.length > 0 ? { ca: [...rootCertificates, ...ca] } : {}),
      timeout: timeoutMs,
    });
    socket.once('secureConnect', () => {
      const cert = socket.getPeerCertificate();
      const err = socket.authorizationError as unknown;
      resolve({
        authorized: socket.authorized,
        authorizationError:
          err === null || err === undefined ? undefined : typeof err === 'string' ? err : errCode(err),
        cert: cert && Object.keys(cert).length > 0 ? cert : undefined,
        protocol: socket.getProtocol(),
      });
      socket.destroy();
    });
    socket.once('timeout', () => {
      socket.destroy();
      reject(Object.assign(new Error('TLS handshake timed out'), { code: 'ETIMEDOUT' }));
    });
    socket.once('error', reject);
  });
}

/** A TCP connect; resolves with the milliseconds it took. */
export function probeTcp(address: string, port: number, timeoutMs: number): Promise<number> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const socket = tcpConnect({ host: address, port, timeout: timeoutMs });
    socket.once('connect', () => {
      socket.destroy();
      resolve(Math.round(performance.now() - started));
    });
    socket.once('timeout', () => {
      socket.destroy();
      reject(Object.assign(new Error('connect timed out'), { code: 'ETIMEDOUT' }));
    });
    socket.once('error', reject);
  });
}
