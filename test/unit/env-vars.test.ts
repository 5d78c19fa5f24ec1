/**
 * One set of environment variable names across README, docs, examples and the CLI: every variable
 * the code reads is a PSRP_* name listed in docs/guide.md's table (or a standard one), and the old
 * EXCHANGE_* / EXCH_* / WINRM_* names appear nowhere.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '../..');
const files = (dir: string): string[] =>
  readdirSync(join(root, dir)).flatMap((n) => {
    const p = join(dir, n);
    return statSync(join(root, p)).isDirectory() ? files(p) : [p];
  });
const read = (p: string): string => readFileSync(join(root, p), 'utf8');
const sources = [...files('src'), ...files('examples')].filter((p) => p.endsWith('.ts'));
const prose = ['README.md', ...files('docs').filter((p) => p.endsWith('.md'))];
/** Standard variables the code may read besides ours. */
const STANDARD = new Set([
  'PATH',
  'COLUMNS',
  'NO_COLOR',
  'FORCE_COLOR',
  'KRB5CCNAME',
  'KRB5_CONFIG',
  'NODE_DEBUG',
]);
/** Per-example knobs, documented in docs/exchange.md next to their example. */
const EXAMPLE_KNOBS = new Set(['DRY_RUN', 'REPORT_CSV', 'REPORT_TOP']);

describe('environment variable names', () => {
  it('every variable read in src/ and examples/ is a documented PSRP_* name or a standard one', () => {
    const guide = read('docs/guide.md');
    const read_ = new Set<string>();
    for (const f of sources)
      for (const m of read(f).matchAll(/env(?:\[['"]([A-Z][A-Z0-9_]*)['"]\]|\.([A-Z][A-Z0-9_]*))/g))
        read_.add((m[1] ?? m[2])!);
    expect(read_.size).toBeGreaterThan(5);
    const undocumented = [...read_].filter(
      (v) => !STANDARD.has(v) && !EXAMPLE_KNOBS.has(v) && !guide.includes(`\`${v}\``),
    );
    expect(undocumented).toEqual([]);
    expect(
      [...read_].filter((v) => !STANDARD.has(v) && !EXAMPLE_KNOBS.has(v) && !v.startsWith('PSRP_')),
    ).toEqual([]);
  });

  it('the old EXCHANGE_*, EXCH_* and WINRM_* connection variables appear nowhere', () => {
    const names =
      '(?:EXCHANGE|EXCH|WINRM)_(?:URI|SERVER|USER|PASSWORD|CA_FILE|AUTH|CONFIGURATION|RESULT_SIZE)';
    // Read from the environment, assigned on a command line, or named in prose.
    const old = new RegExp(`env(?:\\.|\\[['"])${names}|\\b${names}(?:=|\`)`);
    const hits = [...sources, ...prose].filter((f) => old.test(read(f)));
    expect(hits).toEqual([]);
  });
});
