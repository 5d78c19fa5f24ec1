/**
 * Bulk update from a CSV: one Set-Mailbox per row, with typed values (booleans stay booleans), a
 * per-row result, and a summary. A failing row (unknown mailbox) is reported and the rest go on.
 *
 *   npx tsx examples/bulk-update-from-csv.ts [file.csv]      # default examples/data/mailbox-updates.csv
 *   DRY_RUN=1 ...                                            # -WhatIf: show what would change
 *
 * Columns: Identity, then any Set-Mailbox parameter (empty cells are left alone).
 * Against a real server: see examples/exchange-target.ts for the environment variables.
 */
import { readFileSync } from 'node:fs';
import { connectExchange } from '../src/exchange/index.js';
import { exchangeTarget } from './exchange-target.js';

/** RFC 4180 CSV: quoted fields may hold commas, quotes ("") and line breaks. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      row.push(field);
      field = '';
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      field = '';
      if (row.some((f) => f !== '')) rows.push(row);
      row = [];
    } else field += ch;
  }
  row.push(field);
  if (row.some((f) => f !== '')) rows.push(row);
  return rows;
}

const typed = (v: string): string | boolean => (/^(true|false)$/i.test(v) ? v.toLowerCase() === 'true' : v);

const file = process.argv[2] ?? new URL('./data/mailbox-updates.csv', import.meta.url).pathname;
const [header, ...rows] = parseCsv(readFileSync(file, 'utf8'));
if (!header || header[0] !== 'Identity') throw new Error(`${file}: the first column must be Identity`);
const dryRun = process.env['DRY_RUN'] === '1';

const target = await exchangeTarget({ mailboxCount: 50 });
let ok = 0;
let failed = 0;
try {
  await using ex = await connectExchange(target.options);
  for (const row of rows) {
    const parameters: Record<string, unknown> = { Identity: row[0] };
    header.slice(1).forEach((name, i) => {
      const cell = row[i + 1] ?? '';
      if (cell !== '') parameters[name] = typed(cell);
    });
    if (dryRun) parameters['WhatIf'] = true;
    const result = await ex.invoke('Set-Mailbox', parameters);
    if (result.hadErrors) {
      failed++;
      console.log(`FAILED  ${row[0]}: ${result.errors[0]!.message}`);
    } else {
      ok++;
      console.log(
        `${dryRun ? 'WOULD   ' : 'UPDATED '}${row[0]}: ${Object.keys(parameters)
          .filter((k) => k !== 'Identity' && k !== 'WhatIf')
          .join(', ')}`,
      );
    }
  }
  if (!dryRun) {
    // Read back what changed.
    for (const row of rows.slice(0, 2)) {
      const [m] = (await ex.invoke('Get-Mailbox', { Identity: row[0] })).output as Record<string, unknown>[];
      if (m)
        console.log(
          `check   ${String(m['Alias'])}: Office=${JSON.stringify(m['Office'])} HiddenFromAddressListsEnabled=${String(m['HiddenFromAddressListsEnabled'])}`,
        );
    }
  }
} finally {
  await target.close();
}
console.log(`\n${ok} updated${dryRun ? ' (dry run)' : ''}, ${failed} failed`);
process.exitCode = failed > 0 ? 1 : 0;
