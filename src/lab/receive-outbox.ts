/**
 * Output waiting for a Receive, packed as Windows' PowerShell plugin packs it: as many whole PSRP
 * fragments (MS-PSRP 2.2.4) as fit in the request's MaxEnvelopeSize (MS-WSMV 3.1.4.1.7) once
 * base64'd into the ReceiveResponse (MS-WSMV 2.2.4.40). A fragment larger than the room left alone
 * is cut into smaller fragments of the same message (later fragment ids of that object shift up),
 * so no answer ever exceeds the client's limit.
 */
import { encodeFragment, readFragment, FRAGMENT_HEADER_SIZE, type Fragment } from '../psrp/fragment.js';

export class ReceiveOutbox {
  private readonly pending: Fragment[] = [];
  /** Fragment-id shift per object, for the fragments added by cutting one. */
  private readonly shift = new Map<bigint, bigint>();
  /** Bytes of a fragment not complete yet (pwsh's Data packets normally hold whole ones). */
  private partial: Uint8Array = new Uint8Array(0);

  get empty(): boolean {
    return this.pending.length === 0;
  }

  /** Encoded bytes waiting. */
  get pendingBytes(): number {
    let n = 0;
    for (const f of this.pending) n += FRAGMENT_HEADER_SIZE + f.blob.length;
    return n;
  }

  /** Adds what pwsh sent (one or more fragments per chunk). */
  push(chunks: readonly Uint8Array[]): void {
    for (const c of chunks) {
      let bytes = c;
      if (this.partial.length > 0) {
        bytes = new Uint8Array(this.partial.length + c.length);
        bytes.set(this.partial);
        bytes.set(c, this.partial.length);
      }
      let offset = 0;
      for (;;) {
        const r = readFragment(bytes, offset);
        if (!r) break;
        this.pending.push({ ...r.fragment, blob: r.fragment.blob.slice() });
        offset = r.next;
      }
      this.partial = bytes.slice(offset);
    }
  }

  /**
   * Takes fragments whose encoded bytes total at most `maxBytes` (at least one fragment's worth:
   * the head fragment is cut when it alone does not fit). `maxBytes` must exceed the fragment header.
   */
  take(maxBytes: number): Uint8Array {
    if (maxBytes <= FRAGMENT_HEADER_SIZE) throw new RangeError(`No room for a fragment in ${maxBytes} bytes`);
    const out: Uint8Array[] = [];
    let used = 0;
    while (this.pending.length > 0) {
      const head = this.pending[0]!;
      const size = FRAGMENT_HEADER_SIZE + head.blob.length;
      const shift = this.shift.get(head.objectId) ?? 0n;
      if (used + size <= maxBytes) {
        this.pending.shift();
        out.push(encodeFragment({ ...head, fragmentId: head.fragmentId + shift }));
        used += size;
        if (head.end) this.shift.delete(head.objectId);
        continue;
      }
      const room = maxBytes - used - FRAGMENT_HEADER_SIZE;
      // Cut only when nothing fits otherwise, or when the piece is worth sending.
      if (out.length > 0 && room < 1024) break;
      if (room < 1) break;
      out.push(
        encodeFragment({
          objectId: head.objectId,
          fragmentId: head.fragmentId + shift,
          start: head.start,
          end: false,
          blob: head.blob.subarray(0, room),
        }),
      );
      used += FRAGMENT_HEADER_SIZE + room;
      this.pending[0] = { ...head, start: false, blob: head.blob.subarray(room) };
      this.shift.set(head.objectId, shift + 1n);
      break;
    }
    const all = new Uint8Array(used);
    let at = 0;
    for (const f of out) {
      all.set(f, at);
      at += f.length;
    }
    return all;
  }
}
