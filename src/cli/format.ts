/** How the CLI prints objects: a table of the first columns, or JSON with bigints kept exact. */
import { psMeta } from '../index.js';

export const display = (v: unknown): string => {
  if (v === null || v === undefined) return '';
  if (typeof v === 'object')
    return (
      psMeta(v)?.toStringValue ??
      (Array.isArray(v) ? v.map(display).join(', ') : JSON.stringify(v, jsonReplacer))
    );
  return String(v);
};

export function jsonReplacer(_k: string, v: unknown): unknown {
  return typeof v === 'bigint' ? (Number.isSafeInteger(Number(v)) ? Number(v) : v.toString()) : v;
}

export function table(rows: readonly unknown[], bold: (s: string) => string): string {
  const objects = rows.map((r) =>
    r !== null && typeof r === 'object' && !Array.isArray(r) ? (r as Record<string, unknown>) : { Value: r },
  );
  const cols = [...new Set(objects.flatMap((o) => Object.keys(o)))].slice(0, 6);
  const cells = objects.map((o) => cols.map((c) => display(o[c]).replace(/\s+/g, ' ').slice(0, 48)));
  const widths = cols.map((c, i) => Math.max(c.length, ...cells.map((r) => r[i]!.length)));
  const line = (r: readonly string[]): string =>
    r
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [bold(line(cols)), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n') + '\n';
}
