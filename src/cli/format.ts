/**
 * How the CLI prints objects: a table fitted to the terminal (saying which properties it left
 * out), a list of every property (PowerShell's Format-List), CSV, or JSON with bigints kept exact.
 * Values read as Exchange shows them: sizes as `26.3 GB (28,266,475,577 bytes)`, `Unlimited`,
 * dates in local time, identities by name, collections as `a, b`.
 */
import { jsonSafe, psMeta } from '../index.js';

/** A value as one line of text, the way PowerShell's formatter shows it. */
export const display = (v: unknown): string => {
  if (v === null || v === undefined) return '';
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? '' : v.toLocaleString();
  if (Array.isArray(v)) return v.map(display).join(', ');
  if (typeof v === 'object') {
    // Values with their own text (Exchange sizes, time spans, identities, enums, durations…).
    if (Object.prototype.hasOwnProperty.call(v, 'toString') || hasOwnToString(v)) return String(v);
    return psMeta(v)?.toStringValue ?? JSON.stringify(jsonSafe(v));
  }
  return String(v);
};

const hasOwnToString = (v: object): boolean => {
  for (
    let p = Object.getPrototypeOf(v) as object | null;
    p && p !== Object.prototype;
    p = Object.getPrototypeOf(p) as object | null
  )
    if (Object.prototype.hasOwnProperty.call(p, 'toString')) return true;
  return false;
};

/** For JSON.stringify: bigints as numbers when safe, else strings (kept for callers of the old API). */
export function jsonReplacer(_k: string, v: unknown): unknown {
  return typeof v === 'bigint' ? (Number.isSafeInteger(Number(v)) ? Number(v) : v.toString()) : v;
}

/** JSON text of output objects (with their documented value shapes; never throws on a bigint). */
export const toJson = (v: unknown, indent?: number): string => JSON.stringify(jsonSafe(v), null, indent);

type Row = Record<string, unknown>;
const asRow = (r: unknown): Row =>
  r !== null && typeof r === 'object' && !Array.isArray(r) && !(r instanceof Date) && !hasOwnToString(r)
    ? (r as Row)
    : { Value: r };

/** The property names to show: `wanted` (matched case-insensitively, `*` wildcards) or every key, in first-seen order. */
export function columnsOf(rows: readonly unknown[], wanted?: readonly string[]): string[] {
  const all = [...new Set(rows.map(asRow).flatMap((o) => Object.keys(o)))];
  if (!wanted || wanted.length === 0) return all;
  const out: string[] = [];
  for (const w of wanted) {
    const re = new RegExp(`^${w.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`, 'i');
    const hits = all.filter((k) => re.test(k));
    for (const h of hits.length > 0 ? hits : w.includes('*') ? [] : [w]) if (!out.includes(h)) out.push(h);
  }
  return out;
}

/** Rows restricted to `columns` (for JSON output with --property). */
export const select = (rows: readonly unknown[], columns: readonly string[]): Row[] =>
  rows.map((r) => {
    const o = asRow(r);
    const keys = Object.keys(o);
    return Object.fromEntries(
      columns.map((c) => [c, o[keys.find((k) => k.toLowerCase() === c.toLowerCase()) ?? c]]),
    );
  });

const cell = (o: Row, c: string): string => display(o[c]).replace(/\s+/g, ' ').trim();
const cut = (s: string, w: number): string =>
  s.length <= w ? s : w <= 1 ? s.slice(0, w) : `${s.slice(0, w - 1)}…`;

export interface TableLayout {
  readonly text: string;
  /** Properties left out because the terminal is too narrow. */
  readonly omitted: readonly string[];
}

/**
 * A table no wider than `width`: columns in order while they fit (each at most 40 characters wide
 * unless it is the last one shown, cut with `…`), the rest listed in `omitted`.
 */
export function layoutTable(
  rows: readonly unknown[],
  options: {
    readonly bold?: (s: string) => string;
    readonly width?: number;
    readonly columns?: readonly string[];
  } = {},
): TableLayout {
  const bold = options.bold ?? ((s: string): string => s);
  const width = options.width ?? Infinity;
  const objects = select(rows, options.columns ?? columnsOf(rows));
  const cols = options.columns ?? columnsOf(rows);
  const cells = objects.map((o) => cols.map((c) => cell(o, c)));
  const natural = cols.map((c, i) => Math.max(c.length, ...cells.map((r) => r[i]!.length)));
  const shown: number[] = [];
  const widths: number[] = [];
  let used = 0;
  for (let i = 0; i < cols.length; i++) {
    const sep = shown.length > 0 ? 2 : 0;
    const w = Math.min(natural[i]!, 40, Math.max(width - used - sep, 0));
    if (shown.length > 0 && w < Math.min(natural[i]!, cols[i]!.length, 12)) break;
    shown.push(i);
    widths.push(w);
    used += sep + w;
    if (used >= width) break;
  }
  // Give the room that is left to the last column shown, up to its natural width.
  if (shown.length > 0 && Number.isFinite(width)) {
    const last = shown.length - 1;
    widths[last] = Math.min(natural[shown[last]!]!, widths[last]! + Math.max(width - used, 0));
  } else if (shown.length > 0) widths[shown.length - 1] = natural[shown[shown.length - 1]!]!;
  const line = (r: readonly string[]): string =>
    shown
      .map((ci, k) => cut(r[ci]!, widths[k]!).padEnd(widths[k]!))
      .join('  ')
      .trimEnd();
  const text =
    [
      bold(line(cols)),
      line(cols.map((_c, i) => '-'.repeat(widths[shown.indexOf(i)] ?? 0))),
      ...cells.map(line),
    ].join('\n') + '\n';
  return { text, omitted: cols.filter((_c, i) => !shown.includes(i)) };
}

/** A table of every column (no width limit): what `psrp shell` prints. */
export function table(rows: readonly unknown[], bold: (s: string) => string, width?: number): string {
  return layoutTable(rows, { bold, ...(width !== undefined ? { width } : {}) }).text;
}

/** The note printed (on stderr) under a table that had to leave properties out. */
export function omittedNote(shown: number, omitted: readonly string[]): string {
  const names = omitted.length > 8 ? `${omitted.slice(0, 8).join(', ')}, …` : omitted.join(', ');
  return `${shown} of ${shown + omitted.length} properties shown (terminal width); not shown: ${names}. Use --property NAME,NAME or --format list.`;
}

/** PowerShell's Format-List: `Name : value`, one object after another, every property. */
export function list(
  rows: readonly unknown[],
  options: { readonly columns?: readonly string[] } = {},
): string {
  const cols = options.columns ?? columnsOf(rows);
  const pad = Math.max(0, ...cols.map((c) => c.length));
  return (
    select(rows, cols)
      .map((o) => cols.map((c) => `${c.padEnd(pad)} : ${cell(o, c)}`.trimEnd()).join('\n'))
      .join('\n\n') + '\n'
  );
}

/** RFC 4180 CSV with a header row (values as `display` shows them). */
export function csv(
  rows: readonly unknown[],
  options: { readonly columns?: readonly string[] } = {},
): string {
  const cols = options.columns ?? columnsOf(rows);
  const quote = (s: string): string =>
    /[",\r\n]/.test(s) || /^\s|\s$/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  return (
    [
      cols.map(quote).join(','),
      ...select(rows, cols).map((o) => cols.map((c) => quote(display(o[c]))).join(',')),
    ].join('\r\n') + '\r\n'
  );
}
