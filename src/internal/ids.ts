/**
 * Where identifiers come from: WS-Man MessageIDs, ShellIds, RunspacePool and pipeline ids.
 * Injectable so recorded traffic replays deterministically (tests pass a sequential source).
 * We use node:crypto's randomUUID rather than the `uuid` package: it is built in, RFC 4122 v4,
 * and removes a dependency (see docs/architecture.md, "Dependencies").
 */
import { randomUUID } from 'node:crypto';

export interface IdSource {
  /** A new lower-case RFC 4122 UUID string (`xxxxxxxx-xxxx-...`). */
  uuid(): string;
}

export const randomIds: IdSource = { uuid: () => randomUUID() };

/** A deterministic source: 00000000-0000-4000-8000-000000000001, ...02, ... (for tests and replays). */
export function sequentialIds(start = 1): IdSource {
  let n = start;
  return {
    uuid(): string {
      const hex = (n++).toString(16).padStart(12, '0');
      return `00000000-0000-4000-8000-${hex}`;
    },
  };
}
