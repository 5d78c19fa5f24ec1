/**
 * The parts of undici psrp uses, loaded from their own modules instead of the package's index.
 *
 * `require('undici')` loads every part of the package (fetch, WebSocket, EventSource, caches, mock
 * agents, every dispatcher): about 155 ms of CPU at start-up, where the HTTP/1.1 `Client` and the
 * connector psrp needs take about 50 ms (issue 17, cold start). undici is CommonJS without an
 * `exports` map, so its files can be required one by one. Each part falls back to the package's own
 * export when its file is not where this version keeps it (a later undici that moved it): the
 * behaviour is the same, only the start-up is slower. `test/http/undici-parts.test.ts` checks that
 * each part is the very object the package exports, so a layout change is noticed.
 *
 * Each part is required on first use, not when psrp is imported: a process that only imports psrp,
 * or uses the SSH or pwsh transports, or CLIXML alone, never loads undici (about 50 ms of CPU); an
 * HTTP transport loads it when it makes its first connection.
 */
import { createRequire } from 'node:module';
import type {
  buildConnector as BuildConnector,
  Client as UndiciClient,
  ProxyAgent as UndiciProxyAgent,
} from 'undici';

const require = createRequire(import.meta.url);

/** undici's export `name`, from `undici/<file>` when it is there, else from the package's index. */
function part<T>(file: string, name: string): T {
  try {
    const value: unknown = require(`undici/${file}`);
    if (typeof value === 'function') return value as T;
  } catch {
    // Not in this version's layout: the package's index has it.
  }
  return (require('undici') as Record<string, unknown>)[name] as T;
}

let client: typeof UndiciClient | undefined;
/** undici's HTTP/1.1 `Client` (one connection). */
export function undiciClient(): typeof UndiciClient {
  return (client ??= part<typeof UndiciClient>('lib/dispatcher/client.js', 'Client'));
}

let connector: typeof BuildConnector | undefined;
/** undici's `buildConnector` (TCP/TLS connect with a session cache). */
export function undiciBuildConnector(): typeof BuildConnector {
  return (connector ??= part<typeof BuildConnector>('lib/core/connect.js', 'buildConnector'));
}

/**
 * undici's `ProxyAgent`, loaded on first use (only a transport with a proxy needs it) from the
 * package's index: a tunnel uses the `connect` method the index adds to every dispatcher.
 */
export function ProxyAgentClass(): typeof UndiciProxyAgent {
  return (require('undici') as { ProxyAgent: typeof UndiciProxyAgent }).ProxyAgent;
}
