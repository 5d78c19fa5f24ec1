// MS-PSRP 2.2.4 Packet Fragment: ObjectId (u64 BE), FragmentId (u64 BE, 0-based per message),
// flags (1 byte: 0x1 Start, 0x2 End), BlobLength (u32 BE), Blob. A message is split into one or
// more fragments; fragments of different messages may interleave (MS-PSRP 3.1.5.1.1/3.2.5.1.1).
import { ProtocolError } from '../errors.js';

export const FRAGMENT_HEADER_SIZE = 21;
const START = 0x1;
const END = 0x2;

export interface Fragment {
  readonly objectId: bigint;
  readonly fragmentId: bigint;
  readonly start: boolean;
  readonly end: boolean;
  readonly blob: Uint8Array;
}

export function encodeFragment(f: Fragment): Uint8Array {
  const out = new Uint8Array(FRAGMENT_HEADER_SIZE + f.blob.length);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, f.objectId, false);
  view.setBigUint64(8, f.fragmentId, false);
  out[16] = (f.start ? START : 0) | (f.end ? END : 0);
  view.setUint32(17, f.blob.length, false);
  out.set(f.blob, FRAGMENT_HEADER_SIZE);
  return out;
}

/**
 * Splits one message into fragments whose encoded size (header included) is at most `maxFragmentBytes`.
 */
export function fragmentMessage(objectId: bigint, message: Uint8Array, maxFragmentBytes: number): Fragment[] {
  if (maxFragmentBytes < FRAGMENT_HEADER_SIZE + 1) {
    throw new RangeError(`A fragment needs at least ${FRAGMENT_HEADER_SIZE + 1} bytes, got ${maxFragmentBytes}`);
  }
  const room = maxFragmentBytes - FRAGMENT_HEADER_SIZE;
  const out: Fragment[] = [];
  let offset = 0;
  let id = 0n;
  do {
    const blob = message.subarray(offset, offset + room);
    offset += blob.length;
    out.push({ objectId, fragmentId: id++, start: id === 1n, end: offset >= message.length, blob });
  } while (offset < message.length);
  return out;
}

/** Reads one fragment at `offset`; returns undefined when the bytes end before the fragment does. */
export function readFragment(bytes: Uint8Array, offset: number): { fragment: Fragment; next: number } | undefined {
  if (bytes.length - offset < FRAGMENT_HEADER_SIZE) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset + offset, FRAGMENT_HEADER_SIZE);
  const length = view.getUint32(17, false);
  if (bytes.length - offset - FRAGMENT_HEADER_SIZE < length) return undefined;
  const flags = bytes[offset + 16]!;
  return {
    fragment: {
      objectId: view.getBigUint64(0, false),
      fragmentId: view.getBigUint64(8, false),
      start: (flags & START) !== 0,
      end: (flags & END) !== 0,
      blob: bytes.subarray(offset + FRAGMENT_HEADER_SIZE, offset + FRAGMENT_HEADER_SIZE + length),
    },
    next: offset + FRAGMENT_HEADER_SIZE + length,
  };
}

export interface DefragmenterLimits {
  /** Largest reassembled message accepted, in bytes. Default 256 MiB. */
  readonly maxMessageBytes?: number;
  /** Most messages being reassembled at once. Default 1024. */
  readonly maxPartialMessages?: number;
}

interface Partial {
  next: bigint;
  parts: Uint8Array[];
  size: number;
}

/**
 * Reassembles messages from a byte stream of fragments. Input may be split at any byte boundary
 * and fragments of different objects may interleave. "Need more bytes" is not an error: `push`
 * simply returns the messages completed so far.
 */
export class Defragmenter {
  private pending: Uint8Array = new Uint8Array(0);
  private readonly partial = new Map<bigint, Partial>();
  private readonly maxMessageBytes: number;
  private readonly maxPartial: number;

  constructor(limits: DefragmenterLimits = {}) {
    this.maxMessageBytes = limits.maxMessageBytes ?? 256 * 1024 * 1024;
    this.maxPartial = limits.maxPartialMessages ?? 1024;
  }

  /** True when no partial fragment or message is buffered. */
  get isIdle(): boolean {
    return this.pending.length === 0 && this.partial.size === 0;
  }

  /** Adds bytes; returns every message completed by them, in completion order. */
  push(bytes: Uint8Array): Uint8Array[] {
    let buf: Uint8Array;
    if (this.pending.length === 0) buf = bytes;
    else {
      buf = new Uint8Array(this.pending.length + bytes.length);
      buf.set(this.pending);
      buf.set(bytes, this.pending.length);
    }
    const done: Uint8Array[] = [];
    let offset = 0;
    for (;;) {
      if (buf.length - offset >= FRAGMENT_HEADER_SIZE) {
        const len = new DataView(buf.buffer, buf.byteOffset + offset + 17, 4).getUint32(0, false);
        if (len > this.maxMessageBytes) {
          throw new ProtocolError(`Fragment announces ${len} bytes, above the ${this.maxMessageBytes}-byte limit`, {
            code: 'PSRP_MESSAGE_TOO_LARGE',
          });
        }
      }
      const r = readFragment(buf, offset);
      if (!r) break;
      offset = r.next;
      const m = this.add(r.fragment);
      if (m) done.push(m);
    }
    this.pending = offset === buf.length ? new Uint8Array(0) : buf.slice(offset);
    return done;
  }

  private add(f: Fragment): Uint8Array | undefined {
    const details = { objectId: f.objectId, fragmentId: f.fragmentId };
    let p = this.partial.get(f.objectId);
    if (f.start) {
      if (p) throw new ProtocolError(`Fragment ${f.fragmentId} restarts object ${f.objectId} before it ended`, { code: 'PSRP_FRAGMENT_INVALID', ...details });
      if (f.fragmentId !== 0n) throw new ProtocolError(`Start fragment of object ${f.objectId} has id ${f.fragmentId}`, { code: 'PSRP_FRAGMENT_INVALID', ...details });
      if (f.end) return f.blob.slice();
      if (this.partial.size >= this.maxPartial) {
        throw new ProtocolError(`More than ${this.maxPartial} messages in reassembly at once`, { code: 'PSRP_MESSAGE_TOO_LARGE', ...details });
      }
      p = { next: 1n, parts: [f.blob.slice()], size: f.blob.length };
      this.partial.set(f.objectId, p);
      return undefined;
    }
    if (!p) throw new ProtocolError(`Fragment ${f.fragmentId} of object ${f.objectId} has no start fragment`, { code: 'PSRP_FRAGMENT_INVALID', ...details });
    if (f.fragmentId !== p.next) {
      throw new ProtocolError(`Fragment ${f.fragmentId} of object ${f.objectId} out of order (expected ${p.next})`, { code: 'PSRP_FRAGMENT_INVALID', ...details });
    }
    p.size += f.blob.length;
    if (p.size > this.maxMessageBytes) {
      throw new ProtocolError(`Message of object ${f.objectId} exceeds ${this.maxMessageBytes} bytes`, { code: 'PSRP_MESSAGE_TOO_LARGE', ...details });
    }
    p.parts.push(f.blob.slice());
    p.next++;
    if (!f.end) return undefined;
    this.partial.delete(f.objectId);
    const out = new Uint8Array(p.size);
    let o = 0;
    for (const part of p.parts) {
      out.set(part, o);
      o += part.length;
    }
    return out;
  }

  /** Throws PSRP_FRAGMENT_TRUNCATED when the stream ended inside a fragment or a message. */
  finish(): void {
    if (!this.isIdle) {
      throw new ProtocolError(
        this.pending.length > 0
          ? `Input ended inside a fragment (${this.pending.length} bytes left over)`
          : `Input ended with ${this.partial.size} message(s) incomplete`,
        { code: 'PSRP_FRAGMENT_TRUNCATED' },
      );
    }
  }
}
