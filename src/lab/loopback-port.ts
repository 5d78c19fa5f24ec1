/**
 * Loopback ports for the lab's test peers (KDC, sshd, proxy): a free one to hand a peer that binds
 * it a moment later, and whether a peer already accepts connections on one.
 */
import { createConnection, createServer } from 'node:net';

/** A free TCP port on 127.0.0.1: the kernel picks it, the listener is closed again at once. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** True when something accepts a TCP connection on 127.0.0.1:`port`. */
export function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const c = createConnection({ host: '127.0.0.1', port });
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
}
