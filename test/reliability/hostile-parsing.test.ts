/**
 * Issue 12, parsing half: nothing a server sends can block the event loop. Each hostile input
 * (and the same input ten times larger) must fail with a typed error in under 100 ms of CPU time
 * of the parse itself (process.cpuUsage around the call, so a loaded machine does not make this
 * flaky), through the public parsing entry points: deserializeClixml, the WS-Man response parser,
 * the defragmenter and the runspace-pool core.
 */
import { describe, expect, it } from 'vitest';
import { deserializeClixml } from '../../src/clixml/index.js';
import { PsrpError } from '../../src/errors.js';
import { Defragmenter, encodeFragment, FRAGMENT_HEADER_SIZE } from '../../src/psrp/fragment.js';
import { parseReceiveResponse, parseResponse } from '../../src/wsman/response.js';

/** CPU bound for one hostile parse. */
const CPU_MS = 100;
const NS = 'xmlns="http://schemas.microsoft.com/powershell/2004/04"';

/** CPU milliseconds (user + system) spent in `fn`, and what it threw. */
function cpu(fn: () => unknown): { ms: number; error: unknown; value: unknown } {
  const t0 = process.cpuUsage();
  let error: unknown;
  let value: unknown;
  try {
    value = fn();
  } catch (e) {
    error = e;
  }
  const d = process.cpuUsage(t0);
  return { ms: (d.user + d.system) / 1000, error, value };
}

/** Like {@link cpu}, the least CPU time of three runs (see {@link refusesFast}). */
function bestCpu(fn: () => unknown): { ms: number; error: unknown; value: unknown } {
  const runs = [cpu(fn), cpu(fn), cpu(fn)];
  return { ...runs[2]!, ms: Math.min(...runs.map((r) => r.ms)) };
}

/**
 * Asserts that `fn` throws a PsrpError with `code` within the CPU bound. The least of three runs
 * counts: a garbage collection of the test's own large strings can land in any one of them, while
 * a parse that is really slow is slow every time.
 */
function refusesFast(label: string, fn: () => unknown, code: string, bound = CPU_MS): void {
  let best = Infinity;
  for (let i = 0; i < 3 && best >= bound; i++) {
    const { ms, error } = cpu(fn);
    expect(error, `${label}: no error`).toBeInstanceOf(PsrpError);
    expect((error as PsrpError).code, `${label}: ${String(error)}`).toBe(code);
    best = Math.min(best, ms);
  }
  expect(best, `${label}: ${best.toFixed(1)} ms of CPU`).toBeLessThan(bound);
}

const clixml = (body: string) => (): unknown =>
  deserializeClixml(`<Objs Version="1.1.0.1" ${NS}>${body}</Objs>`);

const receive = (streams: string): string =>
  '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" ' +
  'xmlns:rsp="http://schemas.microsoft.com/wbem/wsman/1/windows/shell">' +
  '<s:Header><a:Action>http://schemas.microsoft.com/wbem/wsman/1/windows/shell/ReceiveResponse</a:Action></s:Header>' +
  `<s:Body><rsp:ReceiveResponse>${streams}</rsp:ReceiveResponse></s:Body></s:Envelope>`;

describe('hostile CLIXML cannot block the event loop', () => {
  it('number literals (<Db>, <Sg>, <D>, integers): 100 KB and 1 MB of digits ending in x', () => {
    for (const size of [100_000, 1_000_000]) {
      for (const tag of ['Db', 'Sg', 'D', 'I32', 'I64', 'U64', 'C']) {
        const literal = `${'1'.repeat(size)}x`;
        refusesFast(
          `<${tag}> ${size} digits`,
          clixml(`<${tag}>${literal}</${tag}>`),
          'PSRP_CLIXML_TOO_LARGE',
        );
      }
    }
    // Under the length cap, the check is still one pass: 1,000 digits then x, 10,000 times.
    const body = '<Db>' + '1'.repeat(1000) + 'x</Db>';
    refusesFast('1,000-digit <Db>', clixml(body), 'PSRP_CLIXML_INVALID');
    const many = `<Obj RefId="0"><LST>${`<D>${'1'.repeat(28)}.${'5'.repeat(900)}</D>`.repeat(1000)}</LST></Obj>`;
    const { ms, error } = bestCpu(clixml(many));
    expect(error).toBeUndefined();
    expect(ms, `1,000 long decimals: ${ms} ms`).toBeLessThan(CPU_MS);
  });

  it('base64 in <BA> and <SS>: a letter, 100,000 (and 1,000,000) spaces, then !', () => {
    for (const size of [100_000, 1_000_000]) {
      const text = `A${' '.repeat(size)}!`;
      refusesFast(`<BA> ${size}`, clixml(`<BA>${text}</BA>`), 'PSRP_CLIXML_INVALID');
      refusesFast(`<SS> ${size}`, clixml(`<SS>${text}</SS>`), 'PSRP_CLIXML_INVALID');
    }
  });

  it('base64 in a WS-Man rsp:Stream: 150,000 (and 1,500,000) spaces, with and without a bad character', () => {
    for (const size of [150_000, 1_500_000]) {
      const spaces = ' '.repeat(size);
      const bad = receive(`<rsp:Stream Name="stdout">A${spaces}!</rsp:Stream>`);
      refusesFast(
        `rsp:Stream ${size} + !`,
        () => parseReceiveResponse(parseResponse(bad)),
        'PSRP_WSMAN_INVALID_ENVELOPE',
      );
      // Only whitespace: valid (and empty) base64, read in one pass.
      const blank = receive(`<rsp:Stream Name="stdout">${spaces}</rsp:Stream>`);
      const { ms, error, value } = bestCpu(() => parseReceiveResponse(parseResponse(blank)));
      expect(error).toBeUndefined();
      expect((value as ReturnType<typeof parseReceiveResponse>).streams[0]!.data).toHaveLength(0);
      expect(ms, `blank rsp:Stream ${size}: ${ms} ms`).toBeLessThan(CPU_MS);
    }
  });

  it('one <TN> with 100,000 type names shared by 50,000 objects through <TNRef>', () => {
    const tn = `<TN RefId="0">${'<T>T</T>'.repeat(100_000)}</TN>`;
    const objs = '<Obj RefId="1"><TNRef RefId="0"/><ToString>x</ToString></Obj>'.repeat(50_000);
    refusesFast('100,000 type names', clixml(`<Obj RefId="0">${tn}</Obj>${objs}`), 'PSRP_CLIXML_TOO_LARGE');
    const tn10 = `<TN RefId="0">${'<T>T</T>'.repeat(1_000_000)}</TN>`;
    refusesFast('1,000,000 type names', clixml(`<Obj RefId="0">${tn10}</Obj>`), 'PSRP_CLIXML_TOO_LARGE');
    // At the cap (1,000 names, the last System.Enum), each object costs the same as with one name.
    const capped = `<TN RefId="0">${'<T>T</T>'.repeat(999)}<T>System.Enum</T></TN>`;
    const enums = '<Obj><TNRef RefId="0"/><ToString>x</ToString><I32>1</I32></Obj>'.repeat(50_000);
    const small = '<Obj><TNRef RefId="0"/><ToString>x</ToString><I32>1</I32></Obj>'.repeat(50_000);
    const a = bestCpu(clixml(`<Obj>${capped}<ToString>x</ToString><I32>1</I32></Obj>${enums}`));
    const b = cpu(
      clixml(`<Obj><TN RefId="0"><T>System.Enum</T></TN><ToString>x</ToString><I32>1</I32></Obj>${small}`),
    );
    expect(a.error).toBeUndefined();
    expect(b.error).toBeUndefined();
    expect((a.value as unknown[])[1]).toMatchObject({ name: 'x', value: 1 });
    // Generous: the same work either way, whatever the machine's load.
    expect(a.ms, `1,000 names: ${a.ms} ms, 1 name: ${b.ms} ms`).toBeLessThan(b.ms * 3 + 50);
  });

  it('member tags spelled anew in every object: the search for a known tag stays linear', () => {
    // Each object of one 50-member type writes each member's start tag with its own spacing, so
    // the tag remembered from the previous object never occurs again: every member is a miss
    // whose search would run to the end of the document (quadratic) without a bound.
    const doc = (objects: number, spelled: (i: number) => string): string =>
      Array.from({ length: objects }, (_, i) => {
        const tn = i === 0 ? '<TN RefId="0"><T>T</T></TN>' : '<TNRef RefId="0"/>';
        const members = Array.from({ length: 50 }, (_, k) => `<I32${spelled(i)}N="M${k}">${i}</I32>`);
        return `<Obj RefId="${i + 1}">${tn}<Props>${members.join('')}</Props></Obj>`;
      }).join('');
    // Object i's spacing: i in base 4, one white-space character per digit (a few characters).
    const spacing = (i: number): string => {
      let w = '';
      do {
        w += ' \t\n\r'[i % 4]!;
        i = Math.floor(i / 4);
      } while (i > 0);
      return w;
    };
    const n = 4_000;
    const anew = bestCpu(clixml(doc(n, (i) => spacing(i) + ' ')));
    const same = bestCpu(clixml(doc(n, () => '   ')));
    expect(anew.error).toBeUndefined();
    expect(same.error).toBeUndefined();
    const got = anew.value as Record<string, number>[];
    expect(got).toHaveLength(n);
    expect(got[n - 1]!['M49']).toBe(n - 1);
    expect(Object.keys(got[7]!)).toHaveLength(50);
    // Generous, whatever the machine's load: a quadratic search would be seconds, not a factor.
    expect(anew.ms, `spelled anew: ${anew.ms} ms, the same: ${same.ms} ms`).toBeLessThan(same.ms * 4 + 100);
  });

  it('nesting: <MS N=..>/<Props N=..> 100,000 deep, and 101 levels of every container kind', () => {
    for (const tag of ['MS', 'Props']) {
      for (const n of [100_000, 1_000_000]) {
        const deep = `<Obj RefId="0"><${tag}>${`<${tag} N="a">`.repeat(n)}${`</${tag}>`.repeat(n)}</${tag}></Obj>`;
        refusesFast(`${tag} x ${n}`, clixml(deep), 'PSRP_CLIXML_TOO_DEEP');
      }
    }
    // Depth counts elements below <Objs>, the same for every kind of container.
    const nest = (open: string, close: string, levels: number, leaf = '<I32>1</I32>'): string =>
      `${open.repeat(levels)}${leaf}${close.repeat(levels)}`;
    const kinds: [string, (levels: number) => string][] = [
      ['LST', (l) => nest('<Obj><LST>', '</LST></Obj>', l / 2)],
      [
        'DCT',
        (l) =>
          nest('<Obj N="Value"><DCT><En><S N="Key">k</S>', '</En></DCT></Obj>', l / 3, '<Nil N="Value"/>'),
      ],
      ['Props', (l) => nest('<Obj N="p"><Props>', '</Props></Obj>', l / 2, '')],
      ['MS', (l) => `<Obj><MS>${nest('<MS N="m">', '</MS>', l - 2, '<I32 N="v">1</I32>')}</MS></Obj>`],
    ];
    for (const [kind, make] of kinds) {
      refusesFast(`${kind} at 150 levels`, clixml(make(150)), 'PSRP_CLIXML_TOO_DEEP');
      const ok = cpu(clixml(make(96)));
      expect(ok.error, `${kind} at 96 levels: ${String(ok.error)}`).toBeUndefined();
    }
  });
});

describe('hostile fragments cannot take quadratic time or unbounded memory', () => {
  it('a 64 MiB-declared fragment fed 1 MiB per push costs linear time (chunks joined once)', () => {
    const MiB = 1024 * 1024;
    const blob = new Uint8Array(64 * MiB - FRAGMENT_HEADER_SIZE);
    const bytes = encodeFragment({ objectId: 1n, fragmentId: 0n, start: true, end: true, blob });
    const d = new Defragmenter();
    const times: number[] = [];
    let messages: Uint8Array[] = [];
    for (let o = 0; o < bytes.length; o += MiB) {
      const chunk = bytes.subarray(o, o + MiB);
      const r = cpu(() => d.push(chunk));
      expect(r.error).toBeUndefined();
      messages = r.value as Uint8Array[];
      times.push(r.ms);
    }
    expect(messages).toHaveLength(1);
    expect(messages[0]).toHaveLength(blob.length);
    const beforeLast = times.slice(0, -1);
    const total = times.reduce((a, b) => a + b, 0);
    // Each push before the last only appends; the last joins 64 MiB once.
    expect(Math.max(...beforeLast), `per push ${Math.max(...beforeLast)} ms`).toBeLessThan(CPU_MS);
    expect(total, `total ${total} ms`).toBeLessThan(1000);
    expect(d.isIdle).toBe(true);
  });

  it('unfinished messages are capped all together: 120 unfinished 8 MiB messages fail at the default 256 MiB', () => {
    const MiB = 1024 * 1024;
    const d = new Defragmenter();
    // One 8 MiB start fragment, handed over (no copy) under 120 object ids: the test itself needs
    // 8 MiB, while the defragmenter counts 8 MiB per unfinished message.
    const bytes = encodeFragment({
      objectId: 0n,
      fragmentId: 0n,
      start: true,
      end: false,
      blob: new Uint8Array(8 * MiB),
    });
    let error: unknown;
    let accepted = 0;
    for (let id = 1n; id <= 120n; id++) {
      new DataView(bytes.buffer).setBigUint64(0, id, false);
      try {
        d.push(bytes, true);
        accepted++;
      } catch (e) {
        error = e;
        break;
      }
    }
    expect(error).toBeInstanceOf(PsrpError);
    expect((error as PsrpError).code).toBe('PSRP_MESSAGE_TOO_LARGE');
    expect(accepted).toBe(32);
    // Configurable: a smaller cap fails sooner; a partial fragment counts too.
    const small = new Defragmenter({ maxBufferedBytes: MiB });
    const big = encodeFragment({
      objectId: 1n,
      fragmentId: 0n,
      start: true,
      end: true,
      blob: new Uint8Array(2 * MiB),
    });
    expect(small.push(big.subarray(0, MiB / 2))).toEqual([]);
    refusesFast(
      'partial fragment past maxBufferedBytes',
      () => small.push(big.subarray(MiB / 2, MiB + 10)),
      'PSRP_MESSAGE_TOO_LARGE',
    );
  });
});

describe('strict XML attributes: what .NET refuses is refused, never silently changed', () => {
  it('a name without a value, no whitespace between attributes, a repeated attribute: PSRP_XML_MALFORMED', () => {
    // Used to return ['e']: `a>b</S><S c` was read as one attribute name.
    for (const x of [
      '<S a>b</S><S c="d">e</S>',
      '<S a="1"b="2">x</S>',
      '<S a="1" a="2">x</S>',
      '<Obj RefId="0"><MS><B N="A" N="B">true</B></MS></Obj>',
      '<Obj RefId="0"><MS><B N="Enabled"">true</B><S N="Name">x</S></MS></Obj>',
      '<S a=>x</S>',
      '<S ="1">x</S>',
    ]) {
      refusesFast(x, clixml(x), 'PSRP_XML_MALFORMED');
    }
    // 100,000 attributes on one tag, the last one repeated: the duplicate check stays linear.
    const many = Array.from({ length: 100_000 }, (_, i) => `a${i}="1"`).join(' ');
    refusesFast(
      '100,000 attributes + a repeat',
      clixml(`<S ${many} a5="2">x</S>`),
      'PSRP_XML_MALFORMED',
      500,
    );
  });
});

describe('the #< CLIXML header that pwsh -OutputFormat xml writes', () => {
  it('is accepted before the document, after an optional BOM and whitespace', () => {
    const doc = `<Objs Version="1.1.0.1" ${NS}><S>a</S><I32>1</I32></Objs>`;
    for (const prefix of ['#< CLIXML\r\n', '#< CLIXML\n', '\uFEFF#< CLIXML\r\n', '\r\n  #< CLIXML\r\n']) {
      expect(deserializeClixml(prefix + doc), JSON.stringify(prefix)).toEqual(['a', 1]);
    }
    // Only as a whole line, only once, only at the start.
    for (const bad of ['#< CLIXMLX\n', '#< CLIXML\n#< CLIXML\n', `${doc}#< CLIXML\n`]) {
      expect(() => deserializeClixml(bad.startsWith('<') ? bad : bad + doc), JSON.stringify(bad)).toThrow(
        expect.objectContaining({ code: 'PSRP_XML_MALFORMED' }),
      );
    }
  });
});
