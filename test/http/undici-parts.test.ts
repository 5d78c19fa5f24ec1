import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { Client, ProxyAgentClass, buildConnector } from '../../src/http/undici-parts.js';

const require = createRequire(import.meta.url);

/** What a fresh process (no other module loaded undici's index) does: a real POST through psrp's transport. */
const CHILD = `
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
const { HttpTransport } = await import('./src/index.ts');
const server = createServer((req, res) => {
  let body = '';
  req.on('data', (c) => (body += c));
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'application/soap+xml;charset=UTF-8' });
    res.end('<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body>' + body.length + '</s:Body></s:Envelope>');
  });
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const t = new HttpTransport({ url: 'http://127.0.0.1:' + server.address().port + '/wsman' });
const answer = await t.send('<x>hello</x>');
await t.close();
server.close();
const loaded = Object.keys(createRequire(import.meta.url).cache);
console.log(JSON.stringify({
  answer,
  index: loaded.some((f) => /node_modules[\\\\/]undici[\\\\/]index\\.js$/.test(f)),
  fetch: loaded.some((f) => /undici[\\\\/]lib[\\\\/]web[\\\\/]fetch[\\\\/]index\\.js$/.test(f)),
}));
`;

describe('undici parts loaded one by one (issue 17, cold start)', () => {
  it('each part is the very object the undici package exports', () => {
    const undici = require('undici') as { Client: unknown; buildConnector: unknown; ProxyAgent: unknown };
    expect(Client).toBe(undici.Client);
    expect(buildConnector).toBe(undici.buildConnector);
    expect(ProxyAgentClass()).toBe(undici.ProxyAgent);
  });

  it('each part comes from its own file in this undici version, not from the package index', () => {
    // A later undici that moves these files still works (the index is the fallback), but loses the
    // start-up saving: this test says so.
    expect(Client).toBe(require('undici/lib/dispatcher/client.js'));
    expect(buildConnector).toBe(require('undici/lib/core/connect.js'));
  });

  it('a process that imports psrp sends a request without ever loading the undici package index', () => {
    const run = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', CHILD], {
      cwd: new URL('../..', import.meta.url),
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(run.status, run.stderr).toBe(0);
    const got = JSON.parse(run.stdout.trim().split('\n').pop()!) as Record<string, unknown>;
    expect(got).toEqual({
      answer:
        '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body>12</s:Body></s:Envelope>',
      index: false,
      fetch: false,
    });
  });
});
