/**
 * CLIXML deserialization speed: MB/s and objects/s on generated mailbox documents (10,000
 * mailboxes, 29 MB; 1,650 mailboxes, 4.8 MB) and on the largest real Exchange fixture. Warm-up
 * first, then the median of several runs. In the same run, PowerShell's own deserializer
 * (PSSerializer) reads the same documents in one pwsh process, timed inside pwsh with a Stopwatch
 * (so process start and file reading are not counted), and the table shows psrp's speed relative
 * to it.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { deserializeClixml, serializeClixml } from '../src/clixml/index.js';
import { mailboxDocument } from './mailbox-document.js';
import { findPwsh, printTable } from './util.js';

const FIXTURES = resolve(import.meta.dirname, '../../shared/fixtures/exchange-clixml');

function countObjects(xml: string): number {
  let n = 0;
  for (let i = xml.indexOf('<Obj'); i >= 0; i = xml.indexOf('<Obj', i + 4))
    if (xml[i + 4] === ' ' || xml[i + 4] === '>') n++;
  return n;
}

interface Doc {
  readonly label: string;
  readonly xml: string;
  readonly runs: number;
  /** Also time PowerShell on it. */
  readonly pwsh: boolean;
}

function median(times: number[]): number {
  const s = [...times].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** Warm-up runs before timing (the same for psrp and PowerShell): a tenth of the timed runs, at least 2. */
const warmup = (runs: number): number => Math.max(2, Math.round(runs / 10));

function psrpMedianMs(xml: string, runs: number): number {
  for (let i = 0; i < warmup(runs); i++) deserializeClixml(xml);
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    deserializeClixml(xml);
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return median(times);
}

/**
 * Times `[PSSerializer]::DeserializeAsList` on each file inside one pwsh process and returns the
 * median ms per file. DeserializeAsList, not Deserialize: our inputs are Export-Clixml `<Objs>`
 * documents holding many top-level objects (10,000 mailboxes; 22 groups), and DeserializeAsList is
 * the API for that (it returns object[]). Deserialize is meant for the single serialized object
 * that PSSerializer.Serialize produces; given several it calls DeserializeAsList and returns the
 * array anyway, so timing DeserializeAsList directly is both correct and the same work.
 */
async function pwshMedianMs(
  files: readonly { file: string; warmup: number; runs: number }[],
): Promise<number[]> {
  // `-Command -` reads the script from stdin line by line: one complete statement per line.
  const lines = [
    '$ErrorActionPreference = "Stop"',
    '$results = [System.Collections.Generic.List[double]]::new()',
    ...files.map(
      (f) =>
        `& { $xml = [System.IO.File]::ReadAllText('${f.file.replace(/'/g, "''")}'); ` +
        `for ($i = 0; $i -lt ${f.warmup}; $i++) { $null = [System.Management.Automation.PSSerializer]::DeserializeAsList($xml) }; ` +
        `$t = [System.Collections.Generic.List[double]]::new(); ` +
        `for ($i = 0; $i -lt ${f.runs}; $i++) { $sw = [System.Diagnostics.Stopwatch]::StartNew(); $null = [System.Management.Automation.PSSerializer]::DeserializeAsList($xml); $sw.Stop(); $t.Add($sw.Elapsed.TotalMilliseconds) }; ` +
        `$s = $t | Sort-Object; $results.Add($s[[int][Math]::Floor($s.Count / 2)]) }`,
    ),
    "'PSRP-BENCH ' + ($results -join ' ')",
    'exit 0',
  ];
  const child = spawn(findPwsh(), ['-NoLogo', '-NoProfile', '-NonInteractive', '-Command', '-'], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
  child.stderr.setEncoding('utf8').on('data', (c: string) => (err += c));
  child.stdin.end(lines.join('\n') + '\n');
  const code = await new Promise<number | null>((res) => child.on('close', res));
  // The console may prefix output with terminal escape sequences: match the marker anywhere.
  const m = /PSRP-BENCH ([\d. ]+)/.exec(out);
  if (code !== 0 || !m) throw new Error(`pwsh benchmark failed (exit ${code}): ${err || out}`);
  return m[1]!.trim().split(' ').map(Number);
}

export async function run(): Promise<void> {
  const generated = mailboxDocument(10_000);
  const largest = readdirSync(FIXTURES)
    .filter((f) => f.endsWith('.xml'))
    .map((f) => join(FIXTURES, f))
    .sort((a, b) => statSync(b).size - statSync(a).size)[0]!;
  const real = readFileSync(largest, 'utf8');
  const docs: Doc[] = [
    { label: '10,000 mailboxes (generated)', xml: generated, runs: 7, pwsh: true },
    { label: '1,650 mailboxes (generated)', xml: mailboxDocument(1_650), runs: 21, pwsh: true },
    { label: `largest real file (${largest.split('/').pop()})`, xml: real, runs: 200, pwsh: true },
    {
      label: '10,000 mailboxes re-serialized by psrp',
      xml: serializeClixml(deserializeClixml(generated), { multiple: true }),
      runs: 7,
      pwsh: false,
    },
  ];

  const dir = mkdtempSync(join(tmpdir(), 'psrp-bench-clixml-'));
  let pwshMs: number[] = [];
  let pwshError: string | undefined;
  try {
    const timed = docs.filter((d) => d.pwsh);
    const files = timed.map((d, i) => {
      const file = join(dir, `doc${i}.xml`);
      writeFileSync(file, d.xml, 'utf8');
      return { file, warmup: warmup(d.runs), runs: d.runs };
    });
    pwshMs = await pwshMedianMs(files);
  } catch (e) {
    pwshError = (e as Error).message;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  const rows: string[][] = [];
  let p = 0;
  for (const d of docs) {
    const ms = psrpMedianMs(d.xml, d.runs);
    const mb = Buffer.byteLength(d.xml) / 2 ** 20;
    const objects = countObjects(d.xml);
    const psMs = d.pwsh ? pwshMs[p++] : undefined;
    const rate = (x: number): string => Math.round(objects / (x / 1000)).toLocaleString('en-US');
    rows.push([
      d.label,
      mb.toFixed(2),
      objects.toLocaleString('en-US'),
      ms.toFixed(1),
      (mb / (ms / 1000)).toFixed(1),
      rate(ms),
      psMs !== undefined ? psMs.toFixed(1) : '-',
      psMs !== undefined ? (mb / (psMs / 1000)).toFixed(1) : '-',
      psMs !== undefined ? rate(psMs) : '-',
      psMs !== undefined ? `${(psMs / ms).toFixed(2)}x` : '-',
    ]);
  }
  printTable(
    [
      'document',
      'MB',
      'objects',
      'psrp ms',
      'psrp MB/s',
      'psrp objects/s',
      'pwsh ms',
      'pwsh MB/s',
      'pwsh objects/s',
      'psrp/pwsh',
    ],
    rows,
  );
  if (pwshError) console.log(`PowerShell comparison skipped: ${pwshError}`);
  console.log(
    'pwsh: [PSSerializer]::DeserializeAsList in one pwsh process, Stopwatch median; psrp/pwsh = speed ratio (pwsh ms / psrp ms).',
  );
}
