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

function codesIn(text: string): Set<string> {
  return new Set([...text.matchAll(/\bPSRP_[A-Z0-9_]*[A-Z0-9]\b/g)].map((m) => m[0]));
}

describe('docs/errors.md', () => {
  const src = new Set(sourceFiles(join(root, 'src')).flatMap((f) => [...codesIn(readFileSync(f, 'utf8'))]));
  const documented = codesIn(readFileSync(join(root, 'docs/errors.md'), 'utf8'));

  it('documents every code used in src/', () => {
    expect([...src].filter((c) => !documented.has(c)).sort()).toEqual([]);
  });
  it('lists no code that src/ no longer uses', () => {
    expect([...documented].filter((c) => !src.has(c)).sort()).toEqual([]);
  });
});
