// MS-PSRP 2.2.5.2 Serialization of Complex Objects: what consecutive objects of one type (one
// `<TN>` list, 2.2.5.2.3) repeat, remembered so that the next object shares it instead of holding a
// copy of its own.
import type { PSObjectMeta } from './ps-object.js';

/**
 * Per type-name list, what the last object of that type left that the next one may share: its
 * `<ToString>` text and its metadata record. PowerShell writes many objects whose ToString and
 * metadata are the same as the previous one's (the organizational unit of every mailbox, each list
 * of e-mail addresses): each of 10,000 mailboxes held three metadata records of its own before,
 * and the ToString of its organizational unit; ~240 bytes that the result kept and the collector
 * copied twice.
 *
 * Only what is not a value of the result is shared. Values themselves (an enum value, say) keep
 * one object per `<Obj>`: the serializer writes a second sight of one object as a `<Ref>`, so
 * sharing them would change what a round trip writes.
 *
 * A shared record is frozen when it is first shared: metadata is read-only in its type, and a cast
 * that writes to one must not change another object's silently.
 */
export class TypeMemo {
  /**
   * The last `<ToString>` read for the type, when its text was the string unchanged. (Not named
   * `toString`: a field of that name would hide Object.prototype.toString.)
   */
  lastToString: string | undefined = undefined;
  /** The metadata of the last object of the type that had neither a base value nor container properties. */
  meta: PSObjectMeta | undefined = undefined;
}

/** The {@link TypeMemo}s of one document, by type-name list (the array a `<TN>` made and its `<TNRef>`s return). */
export class TypeMemos {
  private readonly memos = new Map<readonly string[], TypeMemo>();

  of(typeNames: readonly string[]): TypeMemo {
    let m = this.memos.get(typeNames);
    if (m === undefined) {
      m = new TypeMemo();
      this.memos.set(typeNames, m);
    }
    return m;
  }
}

/** `v`, frozen (once: a frozen value is returned as it is). */
export function shared<T extends object>(v: T): T {
  return Object.isFrozen(v) ? v : Object.freeze(v);
}
