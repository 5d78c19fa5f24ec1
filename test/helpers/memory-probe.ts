/**
 * Run in a child process by test/reliability/hostile-memory.test.ts (`node --expose-gc --import tsx
 * memory-probe.ts <scenario> <MiB>`): builds one hostile input of about <MiB> MiB, parses it, and
 * prints one JSON line with the input size and the peak RSS growth during the parse
 * (process.resourceUsage().maxRSS, the kernel's high-water mark, after a GC before the parse).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { deserializeClixml, deserializeObject } from '../../src/clixml/index.js';
import { PsrpError } from '../../src/errors.js';
import { Defragmenter, encodeFragment, fragmentMessage } from '../../src/psrp/fragment.js';
import { decodeMessage, encodeMessage } from '../../src/psrp/message.js';
import { parseReceiveResponse, parseResponse } from '../../src/wsman/response.js';

const [scenario = '', mib = '1'] = process.argv.slice(2);
const MiB = 1024 * 1024;
const target = Number(mib) * MiB;

/** A Receive response of about `size` bytes whose streams carry one PipelineOutput message. */
function receiveResponse(size: number): string {
  const item = `<S>${'x'.repeat(1000)}</S>`;
  const n = Math.floor((size * 3) / 4 / item.length);
  const data = `<Obj RefId="0"><TN RefId="0"><T>System.Object[]</T></TN><LST>${item.repeat(n)}</LST></Obj>`;
  const msg = encodeMessage({
    destination: 1,
    messageType: 0x41004,
    runspacePoolId: '0a1b2c3d-4e5f-4061-8273-94a5b6c7d8e9',
    pipelineId: '11111111-2222-4333-8444-555555555555',
    data,
  });
  const streams = fragmentMessage(1n, msg, 150_000)
    .map((f) => `<rsp:Stream Name="stdout">${Buffer.from(encodeFragment(f)).toString('base64')}</rsp:Stream>`)
    .join('');
  const xml =
    '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:rsp="http://schemas.microsoft.com/wbem/wsman/1/windows/shell">' +
    '<s:Header><a:Action>http://schemas.microsoft.com/wbem/wsman/1/windows/shell/ReceiveResponse</a:Action></s:Header>' +
    `<s:Body><rsp:ReceiveResponse>${streams}</rsp:ReceiveResponse></s:Body></s:Envelope>`;
  // Flat, as the HTTP layer's decoding makes it.
  return Buffer.from(xml).toString('latin1');
}

let input: string;
let parse: () => number;
switch (scenario) {
  case 'amp':
    // One <S> of `&amp;` references.
    input = Buffer.from(`<Objs><S>${'&amp;'.repeat(Math.floor(target / 5))}</S></Objs>`).toString('latin1');
    parse = () => (deserializeClixml(input)[0] as string).length;
    break;
  case 'receive':
    input = receiveResponse(target);
    parse = () => {
      const d = new Defragmenter();
      let values = 0;
      for (const s of parseReceiveResponse(parseResponse(input)).streams) {
        for (const m of d.push(s.data, true))
          values += (deserializeObject(decodeMessage(m).data) as unknown[]).length;
      }
      return values;
    };
    break;
  case 'over-cap':
    // Past the deserializer's input cap (set to half the input): refused before any parsing.
    input = `<Objs>${'<S>x</S>'.repeat(Math.floor(target / 8))}</Objs>`;
    parse = () => deserializeClixml(input, { maxInputLength: Math.floor(target / 2) }).length;
    break;
  default:
    throw new Error(`unknown scenario ${scenario}`);
}

/** Peak RSS so far in bytes: VmHWM, which writing 5 to /proc/self/clear_refs resets (Linux). */
function peakRss(): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'latin1'));
    if (m) return Number(m[1]) * 1024;
  } catch {
    // not Linux: the process-lifetime high-water mark (an upper bound of the parse's)
  }
  return process.resourceUsage().maxRSS * 1024;
}

(globalThis as { gc?: () => void }).gc?.();
try {
  writeFileSync('/proc/self/clear_refs', '5');
} catch {
  // not Linux: peakRss() then over-estimates, which only makes the bound stricter
}
const rss0 = process.memoryUsage().rss;
const t0 = process.cpuUsage();
let result: number | undefined;
let code: string | undefined;
try {
  result = parse();
} catch (e) {
  if (!(e instanceof PsrpError)) throw e;
  code = e.code;
}
const cpu = process.cpuUsage(t0);
console.log(
  JSON.stringify({
    scenario,
    inputBytes: input.length,
    peakGrowthBytes: Math.max(0, peakRss() - rss0),
    cpuMs: (cpu.user + cpu.system) / 1000,
    result,
    code,
  }),
);
