/**
 * Lint holds every never-rule of the intended layering (../shared/design/layers.json, issue 14):
 * for each rule "A never imports B", a probe import from A's folder (and from a folder one level
 * below it, as src/clixml/codecs/ or src/exchange/diagnose/) into B is linted as if it were a file
 * of the tree, and `npm run lint` must refuse it with no-restricted-imports.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '../..');
const layersFile = resolve(root, '../shared/design/layers.json');

/** Where each part of layers.json lives (Face is src/index.ts, Ground is src/internal/). */
const FOLDER: Readonly<Record<string, string>> = {
  Ground: 'internal',
  Clixml: 'clixml',
  Psrp: 'psrp',
  Wsman: 'wsman',
  Outofproc: 'outofproc',
  Auth: 'auth',
  Http: 'http',
  Client: 'client',
  Exchange: 'exchange',
  Cli: 'cli',
  Lab: 'lab',
};

/** A probe file of part `from` at `depth` folders below src/, and the import that reaches `to`. */
function probe(from: string, to: string, depth: 1 | 2): { file: string; specifier: string } | undefined {
  if (from === 'Face') {
    if (depth === 2) return undefined;
    return { file: join(root, 'src/index.ts'), specifier: `./${FOLDER[to]}/probe.js` };
  }
  const up = depth === 1 ? '../' : '../../';
  const dir = depth === 1 ? `src/${FOLDER[from]}` : `src/${FOLDER[from]}/nested`;
  const specifier = to === 'Face' ? `${up}index.js` : `${up}${FOLDER[to]}/probe.js`;
  return { file: join(root, dir, 'zz-layer-probe.ts'), specifier };
}

describe('lint holds the layering', () => {
  it('refuses every never-rule of layers.json, from a part and from a folder below it', async () => {
    if (!existsSync(layersFile))
      throw new Error(`${layersFile} is missing: the design (shared/design) must sit beside the checkout`);
    const { never } = JSON.parse(readFileSync(layersFile, 'utf8')) as { never: [string, string, string?][] };
    expect(never.length).toBeGreaterThan(20);
    // Only the layering rules, and no type information: the probe is text, not a file of the project.
    const eslint = new ESLint({
      cwd: root,
      overrideConfig: { languageOptions: { parserOptions: { projectService: false, project: null } } },
      ruleFilter: ({ ruleId }) => ruleId === 'no-restricted-imports',
    });
    const allowed: string[] = [];
    let probes = 0;
    for (const [from, to] of never) {
      for (const depth of [1, 2] as const) {
        const p = probe(from, to, depth);
        if (!p) continue;
        probes++;
        const [result] = await eslint.lintText(
          `import * as m from '${p.specifier}';\nexport const x = m;\n`,
          {
            filePath: p.file,
          },
        );
        const refused = result!.messages.some((m) => m.ruleId === 'no-restricted-imports');
        if (!refused)
          allowed.push(`${from} -> ${to} (${p.file.slice(root.length + 1)} importing ${p.specifier})`);
      }
    }
    expect(allowed).toEqual([]);
    expect(probes).toBeGreaterThan(40);
  }, 60_000);
});
