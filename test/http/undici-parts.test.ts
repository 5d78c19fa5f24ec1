import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { ProxyAgentClass, undiciBuildConnector, undiciClient } from '../../src/http/undici-parts.js';

const require = createRequire(import.meta.url);

/** What a fresh process (no other module loaded undici's index) does: a real POST through psrp's transport. */
const CHILD = `
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
const { HttpTransport } = await import('./src/index.ts');
const undiciFiles = () => Object.keys(createRequire(import.meta.url).cache).filter((f) => /node_modules[\\\\/]undici[\\\\/]/.test(f));
const atImport = undiciFiles().length;
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
const beforeSend = undiciFiles().length;
const answer = await t.send('<x>hello</x>');
await t.close();
server.close();
const loaded = Object.keys(createRequire(import.meta.url).cache);
console.log(JSON.stringify({
  answer,
  atImport,
  beforeSend,
  afterSend: undiciFiles().length > 0,
  index: loaded.some((f) => /node_modules[\\\\/]undici[\\\\/]index\\.js$/.test(f)),
  fetch: loaded.some((f) => /undici[\\\\/]lib[\\\\/]web[\\\\/]fetch[\\\\/]index\\.js$/.test(f)),
}));
`;

/** What a fresh process has loaded of undici after importing psrp and psrp/exchange. */
const IMPORT_ONLY = `
import { createRequire } from 'node:module';
await import('./src/index.ts');
await import('./src/exchange/index.ts');
const files = Object.keys(createRequire(import.meta.url).cache).filter((f) => /node_modules[\\\\/]undici[\\\\/]/.test(f));
console.log(JSON.stringify(files));
`;

/** Runs `script` as an ES module in a fresh Node process at the package root; its last line of output as JSON. */
function runFresh(script: string): unknown {
  const run = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: new URL('../..', import.meta.url),
    encoding: 'utf8',
    timeout: 60_000,
  });
  expect(run.status, run.stderr).toBe(0);
  return JSON.parse(run.stdout.trim().split('\n').pop()!);
}

describe('undici parts loaded one by one (issue 17, cold start)', () => {
  it('importing psrp and psrp/exchange loads no undici file (Exchange Online loads the index when a session is made)', () => {
    expect(runFresh(IMPORT_ONLY)).toEqual([]);
  });

  it('each part is the very object the undici package exports', () => {
    const undici = require('undici') as { Client: unknown; buildConnector: unknown; ProxyAgent: unknown };
    expect(undiciClient()).toBe(undici.Client);
    expect(undiciBuildConnector()).toBe(undici.buildConnector);
    expect(ProxyAgentClass()).toBe(undici.ProxyAgent);
  });

  it('each part comes from its own file in this undici version, not from the package index', () => {
    // A later undici that moves these files still works (the index is the fallback), but loses the
    // start-up saving: this test says so.
    expect(undiciClient()).toBe(require('undici/lib/dispatcher/client.js'));
    expect(undiciBuildConnector()).toBe(require('undici/lib/core/connect.js'));
  });

  it('a process that imports psrp loads undici at its first connection, and never the package index', () => {
    expect(runFresh(CHILD)).toEqual({
      answer:
        '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body>12</s:Body></s:Envelope>',
      // Importing psrp and making a transport load no undici file; the first request does.
      atImport: 0,
      beforeSend: 0,
      afterSend: true,
      index: false,
      fetch: false,
    });
  });
});
