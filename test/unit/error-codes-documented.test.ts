/**
 * docs/errors.md is the contract for error codes: every `PSRP_*` code that src/ can produce must be
 * documented there, and the docs must not list codes that no longer exist.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PsrpError, type PsrpErrorCode } from '../../src/index.js';

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
    sourceFiles(join(root, 'src')).flatMap((f) => [
      ...codesIn(readFileSync(f, 'utf8').replace(/\benv\[['"]PSRP_[A-Z0-9_]+['"]\]/g, ''), `'"`),
    ]),
  );
  const documented = codesIn(readFileSync(join(root, 'docs/errors.md'), 'utf8'), '`');

  it('documents every code used in src/', () => {
    expect([...src].filter((c) => !documented.has(c)).sort()).toEqual([]);
  });
  it('lists no code that src/ no longer uses', () => {
    expect([...documented].filter((c) => !src.has(c)).sort()).toEqual([]);
  });
});

describe('PsrpErrorCode', () => {
  it('lists exactly the codes docs/errors.md documents', () => {
    const errors = readFileSync(join(root, 'src/errors.ts'), 'utf8');
    const union = /export type PsrpErrorCode =([^;]*);/.exec(errors)![1]!;
    const inUnion = [...union.matchAll(/'(PSRP_[A-Z0-9_]+)'/g)].map((m) => m[1]!).sort();
    const documented = [...codesIn(readFileSync(join(root, 'docs/errors.md'), 'utf8'), '`')].sort();
    expect(inUnion).toEqual(documented);
  });

  it('is what PsrpError.code offers, and code stays a string', () => {
    const e = new PsrpError('x', { code: 'PSRP_WSMAN_QUOTA_EXCEEDED' });
    const known: PsrpErrorCode | (string & {}) = e.code;
    const asString: string = e.code; // codes added later still type-check
    expect([known, asString]).toEqual(['PSRP_WSMAN_QUOTA_EXCEEDED', 'PSRP_WSMAN_QUOTA_EXCEEDED']);
  });
});
