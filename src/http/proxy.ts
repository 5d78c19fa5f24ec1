/**
 * HTTP(S) proxies for the WinRM transport: which proxy (if any) serves a target origin, and a
 * connection through it. Every connection is an HTTP CONNECT tunnel (RFC 9110 9.3.6) opened by
 * undici's ProxyAgent, one tunnel per pooled connection, so the server sees one TCP connection per
 * client connection and connection-bound authentication (NTLM, Negotiate/Kerberos with sealing over
 * http) keeps working; TLS to the server runs inside the tunnel, end to end.
 *
 * Choice of proxy: the `proxy` option (a URL, credentials in it for the proxy's Basic
 * authentication), `'env'` for the standard variables (HTTPS_PROXY for https targets, HTTP_PROXY for
 * http, lower-case forms too, NO_PROXY exceptions) with the rules of undici's EnvHttpProxyAgent, or
 * `false` for none. Without the option: the variables only when NODE_USE_ENV_PROXY=1, as Node's own
 * fetch does; otherwise direct.
 */
import type { Client, ProxyAgent, buildConnector, Dispatcher } from 'undici';
import { ProxyAgentClass, undiciClient } from './undici-parts.js';
import { InvalidArgumentError, TransportError } from '../errors.js';

/** The `proxy` option of HttpTransport / RunspacePool. */
/** A proxy URL (string or URL), the string `'env'` for the environment's, or `false` for none. */
export type ProxyOption = string | URL | false;

/** A parsed `proxy` option: none, one proxy URL, or the environment's. */
export type ProxySetting =
  { readonly kind: 'none' } | { readonly kind: 'env' } | { readonly kind: 'url'; readonly url: URL };

/** The proxy URL without its credentials, for messages. */
export function redactProxy(url: URL): string {
  return `${url.protocol}//${url.host}`;
}

function parseProxyUrl(input: string | URL, source: string): URL {
  let url: URL;
  try {
    url = new URL(String(input).includes('://') ? String(input) : `http://${String(input)}`);
  } catch (cause) {
    throw new InvalidArgumentError(`${source} is not a proxy URL`, { cause });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new InvalidArgumentError(
      `${source}: unsupported proxy scheme ${url.protocol} (use http:// or https://)`,
    );
  }
  return url;
}

/** Validates the option (synchronously, where it is given). */
export function parseProxyOption(
  option: ProxyOption | undefined,
  env: NodeJS.ProcessEnv = process.env,
): ProxySetting {
  if (option === false) return { kind: 'none' };
  if (option === undefined) return env['NODE_USE_ENV_PROXY'] === '1' ? { kind: 'env' } : { kind: 'none' };
  if (option === 'env') return { kind: 'env' };
  return { kind: 'url', url: parseProxyUrl(option, 'proxy') };
}

/**
 * Whether NO_PROXY exempts a target (undici's EnvHttpProxyAgent rules): entries separated by commas
 * or spaces; `*` exempts everything; `host` exempts the host and its subdomains, `.host` and
 * `*.host` its subdomains only... and the host itself; `host:port` only that port.
 */
export function noProxyMatches(target: URL, noProxy: string): boolean {
  const host = target.hostname.toLowerCase().replace(/^\[|\]$/g, '');
  const port = Number(target.port || (target.protocol === 'https:' ? 443 : 80));
  for (const raw of noProxy.split(/[,\s]+/)) {
    const entry = raw.trim().toLowerCase();
    if (entry === '') continue;
    if (entry === '*') return true;
    // host, host:port, [v6]:port, or a bare IPv6 address (several colons, no port).
    const m = (entry.split(':').length > 2 && !entry.startsWith('[')
      ? null
      : /^(.*?)(?::(\d+))?$/.exec(entry)) ?? [entry, entry, undefined];
    const name = m[1].replace(/^\*?\./, '').replace(/^\[|\]$/g, '');
    if (m[2] !== undefined && Number(m[2]) !== port) continue;
    if (host === name || host.endsWith(`.${name}`)) return true;
  }
  return false;
}

/** The proxy for a target origin, or undefined to connect directly. */
export function proxyFor(
  target: URL,
  setting: ProxySetting,
  env: NodeJS.ProcessEnv = process.env,
): URL | undefined {
  if (setting.kind === 'none') return undefined;
  if (setting.kind === 'url') return setting.url;
  const pick = (...names: string[]): string | undefined =>
    names.map((n) => env[n]).find((v) => v !== undefined && v !== '');
  const noProxy = pick('no_proxy', 'NO_PROXY') ?? '';
  if (noProxy && noProxyMatches(target, noProxy)) return undefined;
  const value =
    target.protocol === 'https:' ? pick('https_proxy', 'HTTPS_PROXY') : pick('http_proxy', 'HTTP_PROXY');
  return value === undefined
    ? undefined
    : parseProxyUrl(value, target.protocol === 'https:' ? 'HTTPS_PROXY' : 'HTTP_PROXY');
}

type Connector = buildConnector.connector;

/**
 * One connection to `origin` through `proxy`: a CONNECT tunnel (undici's ProxyAgent) under one
 * undici Client (one socket). `onSocket` sees each socket the connector hands to the Client (the TLS
 * socket to the server for https, for channel bindings). Requests need no `origin`: it is added.
 * Connect failures of the tunnel become TransportErrors (`PSRP_PROXY_AUTH_REQUIRED`, `PSRP_PROXY_FAILED`).
 */
export function proxiedConnection(
  origin: string,
  proxy: URL,
  options: Omit<Client.Options, 'connect'> & { readonly connect?: buildConnector.BuildOptions | undefined },
  onSocket: (socket: unknown) => void,
): Dispatcher {
  const { connect: tls = {}, ...clientOptions } = options;
  const ProxyAgentCtor = ProxyAgentClass();
  const agent = new ProxyAgentCtor({
    ...clientOptions,
    uri: proxy.href,
    connections: 1,
    requestTls: tls,
    proxyTls: { timeout: (tls as { timeout?: number }).timeout },
    factory: (o: string | URL, opts: Record<string, unknown>) => {
      const base = opts['connect'] as Connector;
      const connect: Connector = (connectOptions, callback) => {
        base(connectOptions, (...args) => {
          const [err, socket] = args;
          if (err) {
            callback(tunnelError(err, origin, proxy), null);
            return;
          }
          onSocket(socket);
          callback(...args);
        });
      };
      return new (undiciClient())(o, { ...(opts as Client.Options), connect });
    },
  } as ProxyAgent.Options);
  return agent.compose((dispatch) => (opts, handler) => dispatch({ ...opts, origin }, handler));
}

const PROXY_REACH = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

/** What a failed tunnel means: the proxy's refusal, the proxy unreachable, else the error itself. */
function tunnelError(err: Error, origin: string, proxy: URL): Error {
  const status = /Proxy response \((\d{3})\)/.exec(err.message);
  const at = redactProxy(proxy);
  if (status) {
    const code = Number(status[1]);
    // 407 (RFC 9110 15.5.8); some proxies (tinyproxy) answer a CONNECT with bad credentials 401.
    if (code === 407 || code === 401) {
      return new TransportError(`The proxy ${at} requires authentication (HTTP ${code}) to reach ${origin}`, {
        code: 'PSRP_PROXY_AUTH_REQUIRED',
        statusCode: code,
        cause: err,
        hint:
          proxy.username !== ''
            ? 'The proxy refused the user name and password in the proxy URL (Basic): check them.'
            : 'Put the proxy credentials in its URL: proxy: "http://user:password@proxy:port" (Basic; percent-encode special characters).',
      });
    }
    const hint =
      code === 403
        ? 'The proxy forbids CONNECT to this host or port (tinyproxy: ConnectPort; Squid: SSL_ports/Safe_ports).'
        : 'The proxy could not reach the server, or refused it: check the host name and port, or NO_PROXY for an internal server.';
    return new TransportError(`The proxy ${at} refused a tunnel to ${origin} (HTTP ${code})`, {
      code: 'PSRP_PROXY_FAILED',
      statusCode: code,
      cause: err,
      hint,
    });
  }
  const errno = (err as NodeJS.ErrnoException).code;
  if (errno !== undefined && PROXY_REACH.has(errno)) {
    return new TransportError(`Cannot reach the proxy ${at} (${errno}) for ${origin}`, {
      code: 'PSRP_PROXY_FAILED',
      cause: err,
      hint: 'Check the proxy URL (the `proxy` option or HTTPS_PROXY/HTTP_PROXY).',
    });
  }
  return err;
}
