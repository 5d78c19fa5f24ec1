/**
 * A loopback TCP proxy that delays every chunk by `delayMs` in each direction (10 ms each way = a
 * 20 ms round trip), to see how the client behaves on a WAN-like link. It forwards bytes untouched,
 * so TLS passes through end to end: trust the lab's `ca` and keep the host name `localhost`.
 */
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';

export interface DelayProxy {
  /** The proxy's port on 127.0.0.1. */
  readonly port: number;
  close(): Promise<void>;
}

/** Forwards `from` to `to`, each chunk `delayMs` later, in order; ends `to` after the last chunk. */
function pipeDelayed(from: Socket, to: Socket, delayMs: number): void {
  // Timers of the same duration fire in the order they were set, so chunks keep their order.
  from.on('data', (chunk: Buffer) => {
    setTimeout(() => {
      if (!to.destroyed) to.write(chunk);
    }, delayMs);
  });
  from.on('end', () => setTimeout(() => to.end(), delayMs));
}

export async function startDelayProxy(options: {
  readonly targetPort: number;
  readonly targetHost?: string;
  readonly delayMs?: number;
}): Promise<DelayProxy> {
  const delayMs = options.delayMs ?? 10;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(options.targetPort, options.targetHost ?? '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.setNoDelay(true);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.on('close', () => setTimeout(() => upstream.destroy(), delayMs));
    upstream.on('close', () => setTimeout(() => client.destroy(), delayMs));
    pipeDelayed(client, upstream, delayMs);
    pipeDelayed(upstream, client, delayMs);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    async close(): Promise<void> {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
