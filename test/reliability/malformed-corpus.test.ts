/**
 * A corpus of malformed and hostile input, fed to every parser that could see it: the CLIXML
 * deserializer, the defragmenter, the message decoder, the runspace-pool core (which chains those),
 * the WS-Man response parser, the out-of-process packet codec and the HTTP transport. Each must
 * refuse with a typed PsrpError carrying a stable, documented code, quickly: no hang, no stack
 * overflow, no unbounded buffering.
 */
import { once } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { deserializeClixml } from '../../src/clixml/index.js';
import { PsrpError, ProtocolError, TransportError } from '../../src/errors.js';
import { HttpTransport } from '../../src/http/http-transport.js';
import { decodePacket, PacketDecoder } from '../../src/outofproc/packet.js';
import { Defragmenter, encodeFragment, FRAGMENT_HEADER_SIZE } from '../../src/psrp/fragment.js';
import { decodeMessage, encodeMessage } from '../../src/psrp/message.js';
import { MessageType } from '../../src/psrp/message-type.js';
import { RunspacePoolCore } from '../../src/psrp/runspace-pool-core.js';
import { parseReceiveResponse, parseResponse } from '../../src/wsman/response.js';

const BOUND_MS = 2000;
const POOL = '0a1b2c3d-4e5f-4061-8273-94a5b6c7d8e9';
const PIPE = '11111111-2222-4333-8444-555555555555';
const EMPTY = '00000000-0000-0000-0000-000000000000';

/** Runs `fn` and asserts it throws a PsrpError whose code is one of `codes`, within the bound. */
function refuses(label: string, fn: () => unknown, codes: readonly string[]): PsrpError {
  const t0 = performance.now();
  let error: unknown;
  try {
    fn();
  } catch (e) {
    error = e;
  }
  const ms = performance.now() - t0;
  expect(error, `${label}: no error`).toBeDefined();
  expect(error, `${label}: ${String(error)}`).toBeInstanceOf(PsrpError);
  expect(codes, `${label}: code ${(error as PsrpError).code}`).toContain((error as PsrpError).code);
  expect(ms, `${label}: took ${ms} ms`).toBeLessThan(BOUND_MS);
  return error as PsrpError;
}

// ---- the parsers, each as "feed this input, end of input" --------------------------------------

const clixml = (text: string) => (): unknown => deserializeClixml(text);
const wsman = (text: string, request?: { messageId: string; action: string }) => (): unknown =>
  parseReceiveResponse(parseResponse(text, request));
const packetLine = (text: string) => (): unknown => decodePacket(text);
const packetStream =
  (text: string, maxLine = 1024 * 1024) =>
  (): unknown =>
    new PacketDecoder(maxLine).push(`${text}\n`);
const defrag = (bytes: Uint8Array) => (): void => {
  const d = new Defragmenter({ maxMessageBytes: 1024 * 1024, maxPartialMessages: 16 });
  d.push(bytes);
  d.finish();
};
const core = (bytes: Uint8Array) => (): void => {
  const c = new RunspacePoolCore({ id: POOL });
  c.open();
  c.receiveData(bytes);
};

// ---- building blocks ----------------------------------------------------------------------------

const fragment = (
  objectId: bigint,
  fragmentId: bigint,
  start: boolean,
  end: boolean,
  blob: Uint8Array,
): Uint8Array => encodeFragment({ objectId, fragmentId, start, end, blob });
const message = (
  messageType: number,
  data: string,
  pipelineId = EMPTY,
  runspacePoolId = POOL,
  destination: 1 | 2 = 1,
): Uint8Array => encodeMessage({ destination, messageType, runspacePoolId, pipelineId, data });
const whole = (objectId: bigint, m: Uint8Array): Uint8Array => fragment(objectId, 0n, true, true, m);
const cat = (...parts: Uint8Array[]): Uint8Array => new Uint8Array(Buffer.concat(parts));

const envelope = (body: string, relatesTo = 'uuid:AAAA'): string =>
  '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" ' +
  'xmlns:rsp="http://schemas.microsoft.com/wbem/wsman/1/windows/shell">' +
  `<s:Header><a:Action>http://schemas.microsoft.com/wbem/wsman/1/windows/shell/ReceiveResponse</a:Action><a:RelatesTo>${relatesTo}</a:RelatesTo></s:Header>` +
  `<s:Body>${body}</s:Body></s:Envelope>`;
const receive = (streams: string): string =>
  envelope(`<rsp:ReceiveResponse>${streams}</rsp:ReceiveResponse>`);

const BILLION_LAUGHS =
  '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">' +
  Array.from(
    { length: 9 },
    (_, i) => `<!ENTITY lol${i + 1} "${`&lol${i === 0 ? '' : i};`.repeat(10)}">`,
  ).join('') +
  ']><lolz>&lol9;</lolz>';
const EXTERNAL_ENTITY =
  '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><x>&xxe;</x>';
const EXTERNAL_DTD = '<?xml version="1.0"?><!DOCTYPE x SYSTEM "http://127.0.0.1:9/evil.dtd"><x/>';
const PARAMETER_ENTITY = '<!DOCTYPE x [<!ENTITY % p SYSTEM "http://127.0.0.1:9/p.dtd"> %p;]><x/>';
const UNDECLARED_ENTITY = '<Objs><S>&xxe;</S></Objs>';
const DEEP = 10_000;

describe('malformed corpus: XML, CLIXML and WS-Man envelopes', () => {
  const invalidXml = [
    '',
    '<',
    '<<<>>>',
    '\u0000\u0001\u0002binary',
    '<Objs><S>unterminated',
    '<Objs><S>a</I32></Objs>',
    '<Objs><S N="a>x</S></Objs>',
    '<Objs><S>&#xFFFFFF;</S></Objs>',
    '<Objs></Objs><Objs></Objs>',
    '<!-- never closed',
    '<![CDATA[ loose ]]>',
  ];

  it('invalid XML: CLIXML_INVALID / XML_MALFORMED from the deserializer, INVALID_ENVELOPE from WS-Man, OUTOFPROC_INVALID from packets', () => {
    for (const x of invalidXml) {
      refuses(`clixml ${JSON.stringify(x)}`, clixml(x), ['PSRP_XML_MALFORMED', 'PSRP_CLIXML_INVALID']);
      refuses(`wsman ${JSON.stringify(x)}`, wsman(x), ['PSRP_WSMAN_INVALID_ENVELOPE']);
      if (x.trim() !== '') refuses(`packet ${JSON.stringify(x)}`, packetLine(x), ['PSRP_OUTOFPROC_INVALID']);
    }
    // Cut a real envelope at every tenth position: always INVALID_ENVELOPE, never a crash.
    const good = receive(`<rsp:Stream Name="stdout">${Buffer.from('abc').toString('base64')}</rsp:Stream>`);
    expect(parseReceiveResponse(parseResponse(good)).streams).toHaveLength(1);
    for (let i = 0; i < good.length; i += 10)
      refuses(`wsman cut at ${i}`, wsman(good.slice(0, i)), ['PSRP_WSMAN_INVALID_ENVELOPE']);
  });

  it('entity bombs and external entities are refused before anything is expanded or fetched', () => {
    for (const [name, x] of [
      ['billion laughs', BILLION_LAUGHS],
      ['external entity', EXTERNAL_ENTITY],
      ['external DTD', EXTERNAL_DTD],
      ['parameter entity', PARAMETER_ENTITY],
    ] as const) {
      refuses(`clixml ${name}`, clixml(x), ['PSRP_XML_FORBIDDEN']);
      refuses(`wsman ${name}`, wsman(x), ['PSRP_XML_FORBIDDEN']);
      refuses(`wsman ${name} inside an envelope`, wsman(x.replace(/<(lolz|x)>.*$|<x\/>$/, receive(''))), [
        'PSRP_XML_FORBIDDEN',
      ]);
      refuses(`packet ${name}`, packetStream(x), ['PSRP_OUTOFPROC_INVALID']);
    }
    refuses('clixml undeclared entity', clixml(UNDECLARED_ENTITY), ['PSRP_XML_FORBIDDEN']);
    refuses('wsman undeclared entity', wsman(receive('<rsp:Stream Name="stdout">&xxe;</rsp:Stream>')), [
      'PSRP_XML_FORBIDDEN',
    ]);
  });

  it(`${DEEP}-deep nesting: a typed error, no stack overflow`, () => {
    refuses('clixml <Obj><LST>', clixml('<Obj><LST>'.repeat(DEEP) + '</LST></Obj>'.repeat(DEEP)), [
      'PSRP_CLIXML_TOO_DEEP',
    ]);
    refuses('clixml unclosed', clixml('<Objs><Obj><MS>' + '<Obj N="x"><MS>'.repeat(DEEP)), [
      'PSRP_CLIXML_TOO_DEEP',
    ]);
    const e = refuses('wsman', wsman(receive('<a>'.repeat(DEEP) + '</a>'.repeat(DEEP))), [
      'PSRP_WSMAN_INVALID_ENVELOPE',
    ]);
    expect((e.cause as PsrpError).code).toBe('PSRP_XML_TOO_DEEP');
    refuses('wsman bare', wsman('<a>'.repeat(DEEP * 10)), ['PSRP_WSMAN_INVALID_ENVELOPE']);
    refuses('packet', packetStream('<Data>'.repeat(DEEP)), ['PSRP_OUTOFPROC_INVALID']);
    // The same depth inside a PSRP message reaches the deserializer through the core.
    const deepObj =
      '<Obj RefId="0"><MS>' + '<Obj N="x"><MS>'.repeat(DEEP) + '</MS></Obj>'.repeat(DEEP) + '</MS></Obj>';
    refuses('core', core(whole(1n, message(MessageType.ApplicationPrivateData, deepObj))), [
      'PSRP_CLIXML_TOO_DEEP',
    ]);
  });

  it('WS-Man Receive: bad base64, wrong message ids, wrong shapes', () => {
    for (const bad of ['!!!!', 'YWJj$', '<>', 'Zm9v\u0000', 'YQ==YQ==', '====']) {
      const text = bad
        .replace(/&/g, '&amp;')
        .replace(/</g, '&lt;')
        .replace(/>/g, '&gt;')
        .replaceAll('\u0000', '&#1;');
      refuses(
        `stream ${JSON.stringify(bad)}`,
        wsman(receive(`<rsp:Stream Name="stdout" CommandId="${PIPE}">${text}</rsp:Stream>`)),
        ['PSRP_WSMAN_INVALID_ENVELOPE', 'PSRP_XML_MALFORMED'],
      );
    }
    refuses('RelatesTo another request', wsman(receive(''), { messageId: 'uuid:BBBB', action: 'Receive' }), [
      'PSRP_WSMAN_RELATES_TO_MISMATCH',
    ]);
    refuses('not an Envelope', wsman('<html><body>Service Unavailable</body></html>'), [
      'PSRP_WSMAN_INVALID_ENVELOPE',
    ]);
    refuses(
      'no Body',
      wsman('<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Header/></s:Envelope>'),
      ['PSRP_WSMAN_INVALID_ENVELOPE'],
    );
    refuses('no ReceiveResponse', wsman(envelope('<rsp:CommandResponse/>')), ['PSRP_WSMAN_INVALID_ENVELOPE']);
    refuses(
      'plain text (an Exchange 400 body)',
      wsman('[ClientAccessServer=X] [FailureCategory=Auth-401] Access is denied.'),
      ['PSRP_WSMAN_INVALID_ENVELOPE'],
    );
    refuses('too large', () => parseResponse(receive('x'.repeat(64 * 1024 * 1024))), [
      'PSRP_WSMAN_INVALID_ENVELOPE',
    ]);
  });
});

describe('malformed corpus: PSRP fragments and messages', () => {
  const hello = message(
    MessageType.SessionCapability,
    '<Obj RefId="0"><MS><Version N="protocolversion">2.3</Version></MS></Obj>',
  );

  it('truncated fragments: finish() says TRUNCATED; a streaming reader just waits for more', () => {
    const full = whole(1n, hello);
    for (const cut of [
      1,
      FRAGMENT_HEADER_SIZE - 1,
      FRAGMENT_HEADER_SIZE,
      FRAGMENT_HEADER_SIZE + 5,
      full.length - 1,
    ]) {
      refuses(`defrag cut at ${cut}`, defrag(full.subarray(0, cut)), ['PSRP_FRAGMENT_TRUNCATED']);
      const c = new RunspacePoolCore({ id: POOL });
      c.open();
      c.receiveData(full.subarray(0, cut));
      expect(c.nextEvent(), 'no event from half a fragment').toBeUndefined();
    }
    // A start fragment whose message never ends.
    refuses('defrag no end', defrag(fragment(1n, 0n, true, false, hello.subarray(0, 10))), [
      'PSRP_FRAGMENT_TRUNCATED',
    ]);
  });

  it('oversized fragments are refused from the header, before their bytes arrive', () => {
    const header = fragment(1n, 0n, true, true, new Uint8Array(0));
    new DataView(header.buffer).setUint32(17, 0xffffffff, false);
    refuses('defrag 4 GiB fragment', () => new Defragmenter().push(header), ['PSRP_MESSAGE_TOO_LARGE']);
    refuses('core 4 GiB fragment', core(header), ['PSRP_MESSAGE_TOO_LARGE']);
    // A message that grows past the limit fragment by fragment.
    const d = new Defragmenter({ maxMessageBytes: 1000 });
    d.push(fragment(2n, 0n, true, false, new Uint8Array(600)));
    refuses('defrag growing message', () => d.push(fragment(2n, 1n, false, false, new Uint8Array(600))), [
      'PSRP_MESSAGE_TOO_LARGE',
    ]);
    // Too many messages open at once.
    const many = cat(
      ...Array.from({ length: 17 }, (_, i) => fragment(BigInt(i + 1), 0n, true, false, new Uint8Array(1))),
    );
    refuses('defrag too many partial messages', defrag(many), ['PSRP_MESSAGE_TOO_LARGE']);
  });

  it('wrong object ids and out-of-order fragment ids', () => {
    const a = hello.subarray(0, 30);
    const b = hello.subarray(30);
    const cases: [string, Uint8Array][] = [
      [
        'continuation for another object',
        cat(fragment(1n, 0n, true, false, a), fragment(2n, 1n, false, true, b)),
      ],
      ['fragment id skipped', cat(fragment(1n, 0n, true, false, a), fragment(1n, 2n, false, true, b))],
      ['fragment id repeated', cat(fragment(1n, 0n, true, false, a), fragment(1n, 0n, false, true, b))],
      ['object restarted', cat(fragment(1n, 0n, true, false, a), fragment(1n, 0n, true, true, b))],
      ['start fragment with id 3', fragment(1n, 3n, true, true, hello)],
      ['no start fragment', fragment(1n, 0n, false, true, hello)],
      ['end before start', fragment(9n, 1n, false, true, hello)],
    ];
    for (const [name, bytes] of cases) {
      refuses(`defrag ${name}`, defrag(bytes), ['PSRP_FRAGMENT_INVALID']);
      refuses(`core ${name}`, core(bytes), ['PSRP_FRAGMENT_INVALID']);
    }
  });

  it('wrong message ids, types, destinations, pool and pipeline ids, encodings', () => {
    const short = hello.subarray(0, 39);
    const badDestination = message(MessageType.SessionCapability, '', EMPTY, POOL);
    new DataView(badDestination.buffer).setUint32(0, 7, true);
    const unknownType = message(0xdeadbeef, '<Nil />');
    const notUtf8 = cat(hello.subarray(0, 40), new Uint8Array([0xc3, 0x28, 0xff]));
    const cases: [string, Uint8Array, string[], string[] | 'decodes'][] = [
      ['shorter than the header', short, ['PSRP_MESSAGE_INVALID'], ['PSRP_MESSAGE_INVALID']],
      ['destination 7', badDestination, ['PSRP_MESSAGE_INVALID'], ['PSRP_MESSAGE_INVALID']],
      ['unknown message type', unknownType, ['PSRP_MESSAGE_UNKNOWN_TYPE'], ['PSRP_MESSAGE_UNKNOWN_TYPE']],
      ['data not UTF-8', notUtf8, ['PSRP_MESSAGE_INVALID'], ['PSRP_MESSAGE_INVALID']],
      [
        'a message only servers receive',
        message(MessageType.CreatePipeline, '<Nil />'),
        ['PSRP_MESSAGE_UNEXPECTED'],
        'decodes',
      ],
      [
        'for another runspace pool',
        message(MessageType.RunspacePoolState, '<Nil />', EMPTY, PIPE),
        ['PSRP_MESSAGE_INVALID'],
        'decodes',
      ],
      [
        'pipeline output without a pipeline id',
        message(MessageType.PipelineOutput, '<S>x</S>'),
        ['PSRP_MESSAGE_INVALID'],
        'decodes',
      ],
      [
        'CLIXML that is not XML',
        message(MessageType.PipelineOutput, '<S>x</I32>', PIPE),
        ['PSRP_XML_MALFORMED', 'PSRP_CLIXML_INVALID'],
        'decodes',
      ],
      [
        'billion laughs in a message',
        message(MessageType.PipelineOutput, BILLION_LAUGHS, PIPE),
        ['PSRP_XML_FORBIDDEN'],
        'decodes',
      ],
    ];
    for (const [name, m, coreCodes, decodeCodes] of cases) {
      if (decodeCodes === 'decodes') expect(() => decodeMessage(m), name).not.toThrow();
      else refuses(`decodeMessage ${name}`, () => decodeMessage(m), decodeCodes);
      refuses(`core ${name}`, core(whole(1n, m)), coreCodes);
    }
  });
});

describe('malformed corpus: out-of-process packets', () => {
  it('refuses what pwsh never writes', () => {
    const g = PIPE;
    const cases = [
      'not a packet',
      `<Data Stream='Default' PSGuid='${g}'>!!notbase64!!</Data>`,
      `<Data Stream='Elsewhere' PSGuid='${g}'>AAAA</Data>`,
      `<Data PSGuid='${g}'>AAAA</Data>`,
      `<Data Stream='Default' PSGuid='not-a-guid'>AAAA</Data>`,
      `<Command PSGuid='${g}'>AAAA</Command>`,
      `<Launch PSGuid='${g}' />`,
      `<Data Stream='Default' PSGuid='${g}'>AAAA</Command>`,
      `<Data Stream='Default' PSGuid='${g}'>AAAA`,
    ];
    for (const line of cases) {
      refuses(`decodePacket ${line}`, packetLine(line), ['PSRP_OUTOFPROC_INVALID']);
      refuses(`PacketDecoder ${line}`, packetStream(line), ['PSRP_OUTOFPROC_INVALID']);
    }
  });

  it('a line without end is refused at the limit, not buffered forever', () => {
    const d = new PacketDecoder(64 * 1024);
    const chunk = `<Data Stream='Default' PSGuid='${PIPE}'>` + 'A'.repeat(16 * 1024);
    const t0 = performance.now();
    let error: unknown;
    try {
      for (let i = 0; i < 100; i++) d.push('A'.repeat(16 * 1024) + (i === 0 ? chunk : ''));
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ProtocolError);
    expect((error as PsrpError).code).toBe('PSRP_OUTOFPROC_TOO_LARGE');
    expect(performance.now() - t0).toBeLessThan(BOUND_MS);
    // A 1 MiB line that almost matches does not make the packet regex backtrack for long.
    refuses('near miss', packetLine(`<Data Stream='Default' PSGuid='${PIPE}'>${'A'.repeat(1 << 20)}</Dat>`), [
      'PSRP_OUTOFPROC_INVALID',
    ]);
  });
});

describe('malformed corpus: HTTP responses', () => {
  let server: Server | undefined;
  const sockets = new Set<Socket>();
  afterEach(async () => {
    for (const s of sockets) s.destroy();
    sockets.clear();
    if (server) await new Promise((r) => server!.close(r));
    server = undefined;
  });

  /** A raw TCP server: `onRequest` gets the socket once a request's headers arrived; counts bytes written. */
  async function rawServer(onRequest: (socket: Socket) => void): Promise<string> {
    server = createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => undefined);
      let seen = '';
      socket.on('data', (c: Buffer) => {
        seen += c.toString('latin1');
        if (seen.includes('\r\n\r\n')) {
          seen = '';
          onRequest(socket);
        }
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}/wsman`;
  }

  async function sendRefused(
    url: string,
    options: { maxResponseBytes?: number; requestTimeoutMs?: number } = {},
  ): Promise<TransportError> {
    const t = new HttpTransport({ url, requestTimeoutMs: options.requestTimeoutMs ?? 10_000, ...options });
    const t0 = performance.now();
    try {
      const error = await t.send(receive('')).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(TransportError);
      expect(performance.now() - t0).toBeLessThan(BOUND_MS);
      return error as TransportError;
    } finally {
      await t.close();
    }
  }

  it('a Content-Length of hundreds of MB is refused from the header, with the default 64 MiB limit', async () => {
    let closed = false;
    const url = await rawServer((socket) => {
      socket.write(
        'HTTP/1.1 200 OK\r\nContent-Type: application/soap+xml;charset=UTF-8\r\nContent-Length: 524288000\r\n\r\n<s:Envelope',
      );
      socket.on('close', () => (closed = true));
      // …and never send the rest.
    });
    const e = await sendRefused(url);
    expect(e.code).toBe('PSRP_HTTP_RESPONSE_TOO_LARGE');
    expect(e.message).toContain('524288000');
    await expect.poll(() => closed, { timeout: 1000 }).toBe(true); // the connection is dropped, not drained
  });

  it('a chunked body that never ends is cut off at maxResponseBytes', async () => {
    let written = 0;
    const url = await rawServer((socket) => {
      socket.write(
        'HTTP/1.1 200 OK\r\nContent-Type: application/soap+xml\r\nTransfer-Encoding: chunked\r\n\r\n',
      );
      const chunk = 'x'.repeat(64 * 1024);
      const pump = (): void => {
        while (!socket.destroyed && written < 512 * 1024 * 1024) {
          written += chunk.length;
          if (!socket.write(`${chunk.length.toString(16)}\r\n${chunk}\r\n`)) {
            socket.once('drain', pump);
            return;
          }
        }
      };
      pump();
    });
    const e = await sendRefused(url, { maxResponseBytes: 1024 * 1024 });
    expect(e.code).toBe('PSRP_HTTP_RESPONSE_TOO_LARGE');
    expect(written).toBeLessThan(64 * 1024 * 1024); // the client stopped reading long before the server gave up
  });

  it('a body shorter than its Content-Length, garbage instead of HTTP, and a silent server', async () => {
    let mode: 'short' | 'garbage' | 'silent' = 'short';
    const url = await rawServer((socket) => {
      if (mode === 'short') socket.end('HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n<s:Env');
      else if (mode === 'garbage') socket.end('\u0000\u0001SSH-2.0-OpenSSH_9.6\r\n\r\n');
    });
    expect((await sendRefused(url)).code).toBe('PSRP_CONNECTION_FAILED');
    mode = 'garbage';
    expect((await sendRefused(url)).code).toBe('PSRP_CONNECTION_FAILED');
    mode = 'silent';
    expect((await sendRefused(url, { requestTimeoutMs: 300 })).code).toBe('PSRP_TIMEOUT');
  });

  it('a 200 whose body is an entity bomb passes the transport and is refused by the WS-Man parser', async () => {
    const url = await rawServer((socket) => {
      socket.write(
        `HTTP/1.1 200 OK\r\nContent-Type: application/soap+xml\r\nContent-Length: ${Buffer.byteLength(BILLION_LAUGHS)}\r\n\r\n${BILLION_LAUGHS}`,
      );
    });
    const t = new HttpTransport({ url });
    try {
      refuses('wsman from http', wsman(await t.send(receive(''))), ['PSRP_XML_FORBIDDEN']);
    } finally {
      await t.close();
    }
  });
});
