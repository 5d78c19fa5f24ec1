// ReceiveOutbox packs whole PSRP fragments (MS-PSRP 2.2.4) into the room a Receive answer has, and
// cuts a fragment too large alone into fragments of the same message with contiguous ids.
import { describe, expect, it } from 'vitest';
import { ReceiveOutbox } from '../../src/lab/receive-outbox.js';
import {
  Defragmenter,
  encodeFragment,
  fragmentMessage,
  readFragment,
  FRAGMENT_HEADER_SIZE,
} from '../../src/psrp/fragment.js';

const message = (n: number, seed: number): Uint8Array =>
  Uint8Array.from({ length: n }, (_, i) => (i * 7 + seed) % 251);
const fragments = (bytes: Uint8Array) => {
  const out = [];
  for (let at = 0; at < bytes.length;) {
    const r = readFragment(bytes, at)!;
    out.push(r.fragment);
    at = r.next;
  }
  return out;
};

describe('ReceiveOutbox', () => {
  it('packs whole fragments up to the room, in order, and leaves the rest', () => {
    const box = new ReceiveOutbox();
    const frags = [1, 2, 3].map((i) => encodeFragment(fragmentMessage(BigInt(i), message(100, i), 1000)[0]!));
    box.push(frags);
    expect(box.pendingBytes).toBe(3 * (FRAGMENT_HEADER_SIZE + 100));
    const first = box.take(2 * (FRAGMENT_HEADER_SIZE + 100) + 50);
    expect(fragments(first).map((f) => f.objectId)).toEqual([1n, 2n]);
    expect(fragments(box.take(10_000)).map((f) => f.objectId)).toEqual([3n]);
    expect(box.empty).toBe(true);
  });

  it('cuts a fragment that does not fit alone; the message reassembles with contiguous ids', () => {
    const box = new ReceiveOutbox();
    const msg = message(50_000, 3);
    // pwsh's own fragments of 32 KiB: two of them, concatenated in one chunk.
    const own = fragmentMessage(9n, msg, 32 * 1024).map(encodeFragment);
    box.push([Buffer.concat(own)]);
    const defrag = new Defragmenter();
    const ids: bigint[] = [];
    const out: Uint8Array[] = [];
    while (!box.empty) {
      const taken = box.take(10_000);
      expect(taken.length).toBeLessThanOrEqual(10_000);
      for (const f of fragments(taken)) ids.push(f.fragmentId);
      out.push(...defrag.push(taken));
    }
    expect(ids).toEqual(ids.map((_, i) => BigInt(i)));
    expect(out).toHaveLength(1);
    expect(Buffer.from(out[0]!).equals(Buffer.from(msg))).toBe(true);
  });
});
