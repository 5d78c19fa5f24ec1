/**
 * One source of truth for the timeout defaults: `CONNECTION_DEFAULTS`. docs/api.md once said the
 * requestTimeoutMs default was 120000 while the code used 240000; this test reads every default the
 * docs state for an option of `CONNECTION_DEFAULTS` and compares it with the code.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CONNECTION_DEFAULTS } from '../../src/index.js';

const doc = (name: string): string => readFileSync(new URL(`../../docs/${name}`, import.meta.url), 'utf8');
type Key = keyof typeof CONNECTION_DEFAULTS;
const isKey = (k: string): k is Key => Object.prototype.hasOwnProperty.call(CONNECTION_DEFAULTS, k);
const TIMEOUTS: readonly Key[] = [
  'requestTimeoutMs',
  'connectTimeoutMs',
  'readTimeoutMs',
  'openTimeoutMs',
  'cleanupTimeoutMs',
  'operationTimeoutSeconds',
];

/** `| \`option\` | [default] ... |` rows of docs/api.md. */
function apiDefaults(): Map<string, number> {
  const out = new Map<string, number>();
  for (const m of doc('api.md').matchAll(/^\| `(\w+)` \| \[(\d+)\]/gm)) out.set(m[1]!, Number(m[2]));
  return out;
}

/** `| \`option\` | \`default\` | ... |` rows of docs/http.md. */
function httpDefaults(): Map<string, number> {
  const out = new Map<string, number>();
  for (const m of doc('http.md').matchAll(/^\| `(\w+)` \| `(\d+)` \|/gm)) out.set(m[1]!, Number(m[2]));
  return out;
}

/** Rows of the `## Limits` table of docs/architecture.md: `| limit | N ms / N s | \`option\` | code |`. */
function limitDefaults(): { option: string; value: number }[] {
  const text = doc('architecture.md');
  const start = text.indexOf('\n## Limits');
  expect(start, 'docs/architecture.md has a "## Limits" section').toBeGreaterThan(0);
  const section = text.slice(start + 1, text.indexOf('\n## ', start + 1));
  const out: { option: string; value: number }[] = [];
  for (const m of section.matchAll(/^\|[^|\n]*\| (\d+) (?:ms|s) \| `(\w+)` \|/gm))
    out.push({ option: m[2]!, value: Number(m[1]) });
  return out;
}

describe('timeout defaults: the docs state what the code does', () => {
  it('docs/api.md states every timeout default, each equal to CONNECTION_DEFAULTS', () => {
    const api = apiDefaults();
    for (const key of TIMEOUTS) {
      expect(api.has(key), `docs/api.md states the ${key} default`).toBe(true);
      expect(api.get(key), `docs/api.md ${key}`).toBe(CONNECTION_DEFAULTS[key]);
    }
    for (const [k, v] of api) if (isKey(k)) expect(v, `docs/api.md ${k}`).toBe(CONNECTION_DEFAULTS[k]);
  });

  it('docs/http.md states the transport timeout defaults, each equal to CONNECTION_DEFAULTS', () => {
    const http = httpDefaults();
    for (const key of [
      'requestTimeoutMs',
      'connectTimeoutMs',
      'readTimeoutMs',
      'keepAliveTimeoutMs',
    ] as const) {
      expect(http.get(key), `docs/http.md ${key}`).toBe(CONNECTION_DEFAULTS[key]);
    }
    for (const [k, v] of http) if (isKey(k)) expect(v, `docs/http.md ${k}`).toBe(CONNECTION_DEFAULTS[k]);
  });

  it('the Limits table of docs/architecture.md has a row per timeout, each equal to CONNECTION_DEFAULTS', () => {
    const rows = limitDefaults();
    for (const key of TIMEOUTS)
      expect(
        rows.some((r) => r.option === key),
        `a Limits row for ${key}`,
      ).toBe(true);
    for (const r of rows)
      if (isKey(r.option)) expect(r.value, `Limits row for ${r.option}`).toBe(CONNECTION_DEFAULTS[r.option]);
  });

  it('the defaults are the ones issue 12 settled (a change here must change the docs too)', () => {
    expect(CONNECTION_DEFAULTS).toMatchObject({
      requestTimeoutMs: 240_000,
      connectTimeoutMs: 30_000,
      readTimeoutMs: 30_000,
      openTimeoutMs: 60_000,
      cleanupTimeoutMs: 5_000,
      operationTimeoutSeconds: 20,
    });
    expect(Object.isFrozen(CONNECTION_DEFAULTS)).toBe(true); // nobody can change the defaults under the docs
  });
});
