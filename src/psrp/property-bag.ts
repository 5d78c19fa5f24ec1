// MS-PSRP 2.2.5.2.8: a deserialized object's properties (Obj/MS), read as a plain record by the
// typed views of records (records.ts) and of pool and pipeline messages (runspace-pool-core.ts).

/** An object's properties by name. */
export type Bag = Record<string, unknown>;

/** `v` as its properties, or none when it is not an object (a missing or null property). */
export const bag = (v: unknown): Bag => (v !== null && typeof v === 'object' ? (v as Bag) : {});
