// PowerShell out-of-process remoting framing (pwsh -s, also used for SSH and named-pipe remoting).
// MS-PSRP does not specify this transport; the packet set below is what PowerShell's
// OutOfProcessUtils writes and reads, confirmed against pwsh 7.6 (docs/outofproc.md). Each packet is
// one XML element on one line: <Data Stream='Default|PromptResponse' PSGuid='…'>base64 fragments</Data>,
// and <DataAck|Command|CommandAck|Signal|SignalAck|Close|CloseAck PSGuid='…' />.
import { ProtocolError } from '../errors.js';

export type PacketType = 'Data' | 'DataAck' | 'Command' | 'CommandAck' | 'Signal' | 'SignalAck' | 'Close' | 'CloseAck';

export interface Packet {
  readonly type: PacketType;
  /** Lower-case GUID; the empty GUID addresses the runspace pool. */
  readonly psGuid: string;
  /** For Data: `Default` or `PromptResponse`. */
  readonly stream?: 'Default' | 'PromptResponse';
  /** For Data: the decoded fragment bytes. */
  readonly data?: Uint8Array;
}

const TYPES = new Set<PacketType>(['Data', 'DataAck', 'Command', 'CommandAck', 'Signal', 'SignalAck', 'Close', 'CloseAck']);
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const LINE = /^<(\w+)\s+(?:Stream='(\w+)'\s+)?PSGuid='([^']*)'\s*(?:\/>|>([A-Za-z0-9+/=]*)<\/\1>)$/;

/** Encodes one packet as a line (with its trailing newline). */
export function encodePacket(p: Packet): string {
  if (!GUID.test(p.psGuid)) throw new ProtocolError(`Not a GUID: ${p.psGuid.slice(0, 40)}`, { code: 'PSRP_OUTOFPROC_INVALID' });
  if (p.type === 'Data') {
    const b64 = Buffer.from(p.data ?? new Uint8Array(0)).toString('base64');
    return `<Data Stream='${p.stream ?? 'Default'}' PSGuid='${p.psGuid}'>${b64}</Data>\n`;
  }
  return `<${p.type} PSGuid='${p.psGuid}' />\n`;
}

/** Parses one line (without its newline). */
export function decodePacket(line: string): Packet {
  const m = LINE.exec(line.trim());
  const bad = (why: string): never => {
    throw new ProtocolError(`Invalid out-of-process packet (${why}): ${line.slice(0, 120)}`, { code: 'PSRP_OUTOFPROC_INVALID' });
  };
  if (!m) return bad('not a packet');
  const [, type, stream, guid, body] = m;
  if (!TYPES.has(type as PacketType)) return bad(`unknown element ${type}`);
  if (!GUID.test(guid!)) return bad('bad PSGuid');
  if (type === 'Data') {
    if (body === undefined) return bad('Data without content');
    if (stream !== 'Default' && stream !== 'PromptResponse') return bad('bad Stream');
    return { type, psGuid: guid!.toLowerCase(), stream, data: new Uint8Array(Buffer.from(body, 'base64')) };
  }
  if (body !== undefined || stream !== undefined) return bad(`${type} with content`);
  return { type: type as PacketType, psGuid: guid!.toLowerCase() };
}

/**
 * Splits a stream of stdout text (chunks cut anywhere) into packets. Blank lines are ignored; a line
 * longer than `maxLineLength` is refused (`PSRP_OUTOFPROC_TOO_LARGE`).
 */
export class PacketDecoder {
  private buffer = '';
  constructor(private readonly maxLineLength = 64 * 1024 * 1024) {}

  push(text: string): Packet[] {
    this.buffer += text;
    const out: Packet[] = [];
    let nl: number;
    while ((nl = this.buffer.indexOf('\n')) >= 0) {
      const line = this.buffer.slice(0, nl).replace(/\r$/, '');
      this.buffer = this.buffer.slice(nl + 1);
      if (line.trim() !== '') out.push(decodePacket(line));
    }
    if (this.buffer.length > this.maxLineLength) {
      this.buffer = '';
      throw new ProtocolError(`Out-of-process packet longer than ${this.maxLineLength} characters`, { code: 'PSRP_OUTOFPROC_TOO_LARGE' });
    }
    return out;
  }
}
