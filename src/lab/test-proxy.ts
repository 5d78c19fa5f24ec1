/**
 * A throw-away HTTP proxy for the proxy tests and the lab: Debian's tinyproxy on a loopback port,
 * with its own config and log in a temp dir (the system's tinyproxy service is never used),
 * optionally requiring Basic authentication. A dev tool: tinyproxy must be installed
 * (`scripts/ensure-ssh.sh`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { canConnect, freePort } from './loopback-port.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PsrpError } from '../errors.js';

export interface TestProxyOptions {
  /** Require Basic authentication with this user and password (tinyproxy's BasicAuth). */
  readonly basicAuth?: { readonly username: string; readonly password: string };
}

export interface TestProxy {
  /** `http://127.0.0.1:port` (no credentials). */
  readonly url: string;
  readonly port: number;
  /** The proxy URL with the Basic credentials in it (same as `url` without `basicAuth`). */
  readonly urlWithCredentials: string;
  /** The `host:port` of every CONNECT tunnel tinyproxy opened so far, in order. */
  tunnels(): string[];
  /** tinyproxy's log so far. */
  log(): string;
  close(): Promise<void>;
}

function failed(what: string): PsrpError {
  return new PsrpError(
    `The test proxy cannot start: ${what}. Install Debian's tinyproxy (scripts/ensure-ssh.sh does it as root).`,
    {
      code: 'PSRP_LAB_PROXY_FAILED',
    },
  );
}

/** Starts tinyproxy in the foreground on a free loopback port; well under a second. */
export async function startTestProxy(options: TestProxyOptions = {}): Promise<TestProxy> {
  const exe = ['/usr/bin/tinyproxy', '/usr/sbin/tinyproxy'].find((f) => existsSync(f));
  if (!exe) throw failed('tinyproxy is not installed');
  const auth = options.basicAuth;
  if (auth && (/[\s"]/.test(auth.username) || /[\s"]/.test(auth.password))) {
    throw new PsrpError('tinyproxy BasicAuth user names and passwords cannot hold spaces or quotes', {
      code: 'PSRP_LAB_PROXY_FAILED',
    });
  }
  const dir = await mkdtemp(join(tmpdir(), 'psrp-proxy-'));
  const logFile = join(dir, 'tinyproxy.log');
  const port = await freePort();
  await writeFile(
    join(dir, 'tinyproxy.conf'),
    [
      `Port ${port}`,
      'Listen 127.0.0.1',
      // Long enough for WS-Man long polls held open inside a tunnel.
      'Timeout 600',
      'MaxClients 100',
      'LogLevel Connect',
      `LogFile "${logFile}"`,
      `PidFile "${join(dir, 'tinyproxy.pid')}"`,
      'Allow 127.0.0.1',
      'DisableViaHeader Yes',
      // No ConnectPort line: CONNECT to any port (the lab listens on random ones).
      ...(auth ? [`BasicAuth ${auth.username} ${auth.password}`] : []),
      '',
    ].join('\n'),
  );
  const child: ChildProcess = spawn(exe, ['-d', '-c', join(dir, 'tinyproxy.conf')], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (t: string) => (stderr = (stderr + t).slice(-4000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const deadline = Date.now() + 10_000;
  while (!(await canConnect(port))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      await rm(dir, { recursive: true, force: true });
      throw failed(`tinyproxy did not start: ${stderr.slice(-400)}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const readLog = (): string => {
    try {
      return readFileSync(logFile, 'utf8');
    } catch {
      return '';
    }
  };
  const url = `http://127.0.0.1:${port}`;
  let closing: Promise<void> | undefined;
  return {
    url,
    port,
    urlWithCredentials: auth
      ? `http://${encodeURIComponent(auth.username)}:${encodeURIComponent(auth.password)}@127.0.0.1:${port}`
      : url,
    tunnels: () =>
      [...readLog().matchAll(/Request \(file descriptor \d+\): CONNECT (\S+) HTTP/g)].map((m) => m[1]!),
    log: readLog,
    close: () =>
      (closing ??= (async () => {
        child.kill('SIGTERM');
        const killer = setTimeout(() => child.kill('SIGKILL'), 3000);
        await exited;
        clearTimeout(killer);
        await rm(dir, { recursive: true, force: true });
      })()),
  };
}
