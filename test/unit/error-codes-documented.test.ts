/**
 * docs/errors.md is the contract for error codes: every `PSRP_*` code that src/ can produce must be
 * documented there, and the docs must not list codes that no longer exist.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '../..');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? sourceFiles(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** Codes are string literals in src/ (`'PSRP_X'`) and code spans in the docs (`` `PSRP_X` ``). */
function codesIn(text: string, quote: string): Set<string> {
  const re = new RegExp(`[${quote}](PSRP_[A-Z0-9_]*[A-Z0-9])[${quote}]`, 'g');
  return new Set([...text.matchAll(re)].map((m) => m[1]!));
}

describe('docs/errors.md', () => {
  // Environment variables such as PSRP_PWSH are read with process.env['…'] and are not codes.
  const src = new Set(
    sourceFiles(join(root, 'src')).flatMap((f) =>
      [...codesIn(readFileSync(f, 'utf8').replace(/\benv\[['"]PSRP_[A-Z0-9_]+['"]\]/g, ''), `'"`)],
    ),
  );
  const documented = codesIn(readFileSync(join(root, 'docs/errors.md'), 'utf8'), '`');

  it('documents every code used in src/', () => {
    expect([...src].filter((c) => !documented.has(c)).sort()).toEqual([]);
  });
  it('lists no code that src/ no longer uses', () => {
    expect([...documented].filter((c) => !src.has(c)).sort()).toEqual([]);
  });
});
