/**
 * CLIXML deserialization speed: MB/s and objects/s on the generated 10,000-mailbox document and on
 * the largest real Exchange fixture. Warm-up first, then the median of several runs.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { deserializeClixml, serializeClixml } from '../src/clixml/index.js';
import { mailboxDocument } from './mailbox-document.js';

const FIXTURES = resolve(import.meta.dirname, '../../shared/fixtures/exchange-clixml');

function countObjects(xml: string): number {
  let n = 0;
  for (let i = xml.indexOf('<Obj'); i >= 0; i = xml.indexOf('<Obj', i + 4)) if (xml[i + 4] === ' ' || xml[i + 4] === '>') n++;
  return n;
}

function measure(label: string, xml: string, runs: number): string[] {
  for (let i = 0; i < 3; i++) deserializeClixml(xml); // warm-up
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    deserializeClixml(xml);
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  times.sort((a, b) => a - b);
  const ms = times[Math.floor(times.length / 2)]!;
  const mb = Buffer.byteLength(xml) / 2 ** 20;
  const objects = countObjects(xml);
  return [label, mb.toFixed(2), String(objects), ms.toFixed(1), (mb / (ms / 1000)).toFixed(1), Math.round(objects / (ms / 1000)).toLocaleString('en-US')];
}

function table(rows: string[][]): void {
  const head = ['document', 'MB', 'objects', 'median ms', 'MB/s', 'objects/s'];
  const all = [head, ...rows];
  const w = head.map((_, i) => Math.max(...all.map((r) => r[i]!.length)));
  for (const r of all) console.log(r.map((c, i) => (i === 0 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join('  '));
}

export function run(): Promise<void> {
  const generated = mailboxDocument(10_000);
  const largest = readdirSync(FIXTURES)
    .filter((f) => f.endsWith('.xml'))
    .map((f) => join(FIXTURES, f))
    .sort((a, b) => statSync(b).size - statSync(a).size)[0]!;
  const real = readFileSync(largest, 'utf8');
  const rows = [measure('10,000 mailboxes (generated)', generated, 7), measure(`largest real file (${largest.split('/').pop()})`, real, 50)];
  const again = serializeClixml(deserializeClixml(generated), { multiple: true });
  rows.push(measure('10,000 mailboxes re-serialized by psrp', again, 7));
  table(rows);
  return Promise.resolve();
}
