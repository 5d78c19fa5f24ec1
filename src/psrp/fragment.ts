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
  /**
   * Most bytes held for unfinished messages and an unfinished fragment, all together. Default
   * 256 MiB (one message of the largest size can always complete).
   */
  readonly maxBufferedBytes?: number;
}

interface Partial {
  next: bigint;
  parts: Uint8Array[];
  size: number;
}

/**
 * Reassembles messages from a byte stream of fragments. Input may be split at any byte boundary
 * and fragments of different objects may interleave. "Need more bytes" is not an error: `push`
 * simply returns the messages completed so far. Bytes of an unfinished fragment are kept as a list
 * of chunks and joined once the fragment is complete, so a large fragment arriving in many small
 * pieces costs linear time.
 */
export class Defragmenter {
  /** Chunks of an unfinished fragment (or header), in order. */
  private pending: Uint8Array[] = [];
  private pendingSize = 0;
  /** Bytes the unfinished fragment needs before it can be read (header only, until it is known). */
  private pendingNeed = 0;
  private readonly partial = new Map<bigint, Partial>();
  /** Bytes held in {@link partial}. */
  private partialSize = 0;
  private readonly maxMessageBytes: number;
  private readonly maxPartial: number;
  private readonly maxBuffered: number;

  constructor(limits: DefragmenterLimits = {}) {
    this.maxMessageBytes = limits.maxMessageBytes ?? 256 * 1024 * 1024;
    this.maxPartial = limits.maxPartialMessages ?? 1024;
    this.maxBuffered = limits.maxBufferedBytes ?? 256 * 1024 * 1024;
  }

  /** True when no partial fragment or message is buffered. */
  get isIdle(): boolean {
    return this.pendingSize === 0 && this.partial.size === 0;
  }

  /**
   * Adds bytes; returns every message completed by them, in completion order. `owned`: the caller
   * hands the bytes over and will not change them, so fragments are kept as views of them instead
   * of copies (a large response is then not held twice).
   */
  push(bytes: Uint8Array, owned = false): Uint8Array[] {
    let buf: Uint8Array;
    if (this.pendingSize === 0) buf = bytes;
    else {
      this.pending.push(owned ? bytes : bytes.slice());
      this.pendingSize += bytes.length;
      this.checkBuffered();
      if (this.pendingSize < this.pendingNeed) return [];
      buf = new Uint8Array(this.pendingSize);
      let o = 0;
      for (const chunk of this.pending) {
        buf.set(chunk, o);
        o += chunk.length;
      }
      owned = true;
      this.pending = [];
      this.pendingSize = 0;
    }
    const done: Uint8Array[] = [];
    let offset = 0;
    for (;;) {
      const left = buf.length - offset;
      if (left < FRAGMENT_HEADER_SIZE) {
        this.keep(buf, offset, owned, FRAGMENT_HEADER_SIZE);
        break;
      }
      const len = new DataView(buf.buffer, buf.byteOffset + offset + 17, 4).getUint32(0, false);
      if (len > this.maxMessageBytes) {
        throw new ProtocolError(
          `Fragment announces ${len} bytes, above the ${this.maxMessageBytes}-byte limit`,
          {
            code: 'PSRP_MESSAGE_TOO_LARGE',
          },
        );
      }
      if (left < FRAGMENT_HEADER_SIZE + len) {
        this.keep(buf, offset, owned, FRAGMENT_HEADER_SIZE + len);
        break;
      }
      const r = readFragment(buf, offset)!;
      offset = r.next;
      const m = this.add(r.fragment, owned);
      if (m) done.push(m);
    }
    return done;
  }

  /** Keeps the unfinished tail of `buf` from `offset`; `need` is the size of the fragment it starts. */
  private keep(buf: Uint8Array, offset: number, owned: boolean, need: number): void {
    if (offset === buf.length) return;
    // The caller's bytes are copied (they may be reused); a tail of owned bytes is kept as a view.
    const tail = owned ? buf.subarray(offset) : buf.slice(offset);
    this.pending = [tail];
    this.pendingSize = tail.length;
    this.pendingNeed = need;
    this.checkBuffered();
  }

  /** Refuses to hold more than maxBufferedBytes in unfinished fragments and messages together. */
  private checkBuffered(): void {
    if (this.pendingSize + this.partialSize > this.maxBuffered) {
      throw new ProtocolError(
        `Unfinished messages hold more than ${this.maxBuffered} bytes (${this.partial.size} message(s) and ${this.pendingSize} bytes of a fragment)`,
        { code: 'PSRP_MESSAGE_TOO_LARGE' },
      );
    }
  }

  /** Takes one fragment; `owned`: its blob is a view of this defragmenter's own buffer (no copy needed). */
  private add(f: Fragment, owned: boolean): Uint8Array | undefined {
    const details = { objectId: f.objectId, fragmentId: f.fragmentId };
    const blob = owned ? f.blob : f.blob.slice();
    let p = this.partial.get(f.objectId);
    if (f.start) {
      if (p)
        throw new ProtocolError(`Fragment ${f.fragmentId} restarts object ${f.objectId} before it ended`, {
          code: 'PSRP_FRAGMENT_INVALID',
          ...details,
        });
      if (f.fragmentId !== 0n)
        throw new ProtocolError(`Start fragment of object ${f.objectId} has id ${f.fragmentId}`, {
          code: 'PSRP_FRAGMENT_INVALID',
          ...details,
        });
      if (f.end) return blob;
      if (this.partial.size >= this.maxPartial) {
        throw new ProtocolError(`More than ${this.maxPartial} messages in reassembly at once`, {
          code: 'PSRP_MESSAGE_TOO_LARGE',
          ...details,
        });
      }
      p = { next: 1n, parts: [blob], size: blob.length };
      this.partial.set(f.objectId, p);
      this.partialSize += blob.length;
      this.checkBuffered();
      return undefined;
    }
    if (!p)
      throw new ProtocolError(`Fragment ${f.fragmentId} of object ${f.objectId} has no start fragment`, {
        code: 'PSRP_FRAGMENT_INVALID',
        ...details,
      });
    if (f.fragmentId !== p.next) {
      throw new ProtocolError(
        `Fragment ${f.fragmentId} of object ${f.objectId} out of order (expected ${p.next})`,
        { code: 'PSRP_FRAGMENT_INVALID', ...details },
      );
    }
    p.size += blob.length;
    if (p.size > this.maxMessageBytes) {
      throw new ProtocolError(`Message of object ${f.objectId} exceeds ${this.maxMessageBytes} bytes`, {
        code: 'PSRP_MESSAGE_TOO_LARGE',
        ...details,
      });
    }
    p.parts.push(blob);
    p.next++;
    this.partialSize += blob.length;
    if (!f.end) {
      this.checkBuffered();
      return undefined;
    }
    this.partial.delete(f.objectId);
    this.partialSize -= p.size;
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
        this.pendingSize > 0
          ? `Input ended inside a fragment (${this.pendingSize} bytes left over)`
          : `Input ended with ${this.partial.size} message(s) incomplete`,
        { code: 'PSRP_FRAGMENT_TRUNCATED' },
      );
    }
  }
}
