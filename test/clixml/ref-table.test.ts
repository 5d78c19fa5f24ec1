import { describe, expect, it } from 'vitest';
import { RefTable } from '../../src/clixml/ref-table.js';

describe('RefTable (MS-PSRP 2.2.5.2.1 RefIds)', () => {
  it('finds every id however it was numbered, the latest definition winning', () => {
    const t = new RefTable();
    const want = new Map<number | string, unknown>();
    const set = (id: number | string, v: unknown): void => {
      t.set(id, v);
      want.set(id, v);
    };
    // Far ahead first (kept apart), then the table grows over it leaving a hole there.
    set(90, 'far');
    for (let i = 0; i < 200; i += 2) set(i + 1, `odd${i + 1}`);
    for (let i = 0; i < 200; i += 2) if (i !== 90) set(i, `even${i}`);
    set('x', 'string id');
    set(7, 'redefined');
    set(90, 'far again');
    set(1e9, 'huge');
    for (const [id, v] of want) expect(t.get(id), String(id)).toBe(v);
    expect(t.get(300)).toBeUndefined();
    expect(t.get(-1)).toBeUndefined();
  });

  it('does not let ids that leap ahead grow the table beyond what was written', () => {
    // Each id 63 past the last: a table keeping every one of them in the array would hold 63
    // slots per object. All must still be found.
    const t = new RefTable();
    for (let i = 0; i < 10_000; i++) t.set(i * 63, i);
    for (let i = 0; i < 10_000; i++) expect(t.get(i * 63)).toBe(i);
    const dense = (t as unknown as { dense: unknown[] }).dense;
    expect(dense.length).toBeLessThanOrEqual(2 * 10_000 + 64);
  });
});
