// MS-PSRP 2.2.5.2.1 (RefId, Ref) and 2.2.5.3.3 (a RefId scope per document or message): the values
// of one document by RefId.

/** A RefId: a number when written as a plain decimal (the usual case), else the string. */
export type RefKey = number | string;

/**
 * How far past the end of the dense table a numeric RefId may land and still go to it (leaving
 * holes for the ids in between). A writer that numbers an object after its members (as the bench's
 * generated mailbox documents do: the mailbox's RefId comes after its three nested objects') sends
 * ids a little ahead of the count; without slack every such object went to the Map.
 */
const DENSE_SLACK = 64;

/**
 * Values by RefId. PowerShell numbers objects 0, 1, 2 … in document order, so those go to an
 * array (no hashing; the document's tens of thousands of objects are most of the table); any other
 * id, a string or a number far out of sequence, to a Map. A later definition of an id replaces the
 * earlier one wherever it is.
 */
export class RefTable {
  private readonly dense: unknown[] = [];
  private readonly other = new Map<RefKey, unknown>();
  /** Writes to the table: it never grows beyond twice this plus the slack (holes stay bounded by what was read). */
  private writes = 0;

  set(id: RefKey, v: unknown): void {
    const dense = this.dense;
    if (typeof id === 'number' && id < dense.length + DENSE_SLACK && id < 2 * this.writes + DENSE_SLACK) {
      this.writes++;
      // A hole-filling or later write here wins over an entry the Map may hold from before the
      // table reached this id (get() reads the table first).
      dense[id] = v;
      return;
    }
    this.other.set(id, v);
  }

  get(id: RefKey): unknown {
    if (typeof id === 'number' && id < this.dense.length) {
      const v = this.dense[id];
      // A hole (an id the table skipped) may be in the Map. Values are never undefined.
      if (v !== undefined) return v;
    }
    return this.other.get(id);
  }
}
