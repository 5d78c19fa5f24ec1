// MS-PSRP 2.2.5.1.25 Progress Record (PR): children AV (activity), AI (activity id), a `<Nil/>` or
// `<S>` (current operation), PI (parent id), PC (percent), T (record type), SR (seconds remaining),
// SD (status description), read into a plain object with PowerShell's property names. (A client
// never writes one.)
import type { XmlReader } from '../../internal/xml-reader.js';
import { isIntegerText } from '../number-text.js';
import { defineData } from '../ps-object.js';
import { decodeClixmlString } from '../string-escape.js';
import { invalidClixml, literalText } from './primitive-text.js';

/** `<PR>` children and PowerShell's property names for them. */
const PROGRESS_NAMES: Readonly<Record<string, string>> = {
  AV: 'Activity',
  AI: 'ActivityId',
  PI: 'ParentActivityId',
  PC: 'PercentComplete',
  T: 'RecordType',
  SR: 'SecondsRemaining',
  SD: 'StatusDescription',
};
const PROGRESS_NUMERIC = new Set(['AI', 'PI', 'PC', 'SR']);

/** The element names of a progress record's children. */
export const PROGRESS_TAGS: readonly string[] = Object.keys(PROGRESS_NAMES);

/** What reading a progress record needs from the deserializer. */
export interface ProgressRecordSource {
  readonly r: XmlReader;
  /** Reads the value element whose start tag was just read. */
  value(depth: number): unknown;
  /** Reads the text content of the simple element just started and its end tag. */
  content(): string;
  /** Refuses nesting deeper than the limit. */
  checkDepth(depth: number): void;
}

/** Reads the `<PR>` whose start tag was just read. */
export function readProgressRecord(d: ProgressRecordSource, depth: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const r = d.r;
  if (r.empty) return out;
  d.checkDepth(depth + 1);
  const name = r.name;
  while (!r.atEndTag()) {
    r.readStartTag();
    const child = r.name;
    const key = Object.hasOwn(PROGRESS_NAMES, child) ? PROGRESS_NAMES[child] : undefined;
    if (key === undefined) {
      defineData(out, 'CurrentOperation', d.value(depth + 1));
      continue;
    }
    const pos = r.tagPos;
    const text = decodeClixmlString(d.content());
    if (PROGRESS_NUMERIC.has(child)) {
      const t = literalText(text, child, pos);
      if (!isIntegerText(t)) invalidClixml(`Invalid integer "${t.slice(0, 20)}"`, child, pos);
      out[key] = Number(t);
    } else {
      out[key] = text;
    }
  }
  r.endTag(name);
  return out;
}
