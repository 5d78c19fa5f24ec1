// MS-PSRP 2.2.5.2.1 (RefId, Ref) and 2.2.5.3.3 (a RefId scope per document or message): the values
// of one document by RefId.

/** A RefId: a number when written as a plain decimal (the usual case), else the string. */
export type RefKey = number | string;

/**
 * Values by RefId. PowerShell numbers objects 0, 1, 2 … in document order, so those go to an
 * array (no hashing; the document's tens of thousands of objects are most of the table); any other
 * id, a string or a number out of sequence, to a Map. A later definition of an id replaces the
 * earlier one wherever it is.
 */
export class RefTable {
  private readonly dense: unknown[] = [];
  private readonly other = new Map<RefKey, unknown>();

  set(id: RefKey, v: unknown): void {
    const dense = this.dense;
    if (typeof id === 'number') {
      if (id < dense.length) {
        dense[id] = v;
        return;
      }
      if (id === dense.length) {
        dense.push(v);
        return;
      }
    }
    this.other.set(id, v);
  }

  get(id: RefKey): unknown {
    if (typeof id === 'number' && id < this.dense.length) return this.dense[id];
    return this.other.get(id);
  }
}
