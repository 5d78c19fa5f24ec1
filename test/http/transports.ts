/**
 * HttpTransports for the transport tests, closed after each test together with every loopback
 * server of ./servers.ts.
 */
import { afterEach } from 'vitest';
import { HttpTransport, type HttpTransportOptions } from '../../src/http/http-transport.js';
import { closeAllServers } from './servers.js';

/**
 * Registers an afterEach (call at the top level of a test file) that closes every transport made by
 * the returned factory and then all test servers; returns the factory.
 */
export function transportsClosedAfterEach(): (options: HttpTransportOptions) => HttpTransport {
  const transports: HttpTransport[] = [];
  afterEach(async () => {
    await Promise.all(transports.splice(0).map((t) => t.close()));
    await closeAllServers();
  });
  return (options) => {
    const t = new HttpTransport(options);
    transports.push(t);
    return t;
  };
}
