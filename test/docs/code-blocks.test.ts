/**
 * Issue 13: every ```ts / ```typescript block in README.md and docs/*.md type-checks against the
 * package as an application imports it (`psrp`, `psrp/exchange`, `psrp/lab` mapped to src/), under
 * the project's strict compiler options. A block that cannot stand alone is marked ```ts fragment;
 * such blocks are counted and listed here, not silently skipped, and must stay few.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = new URL('../../', import.meta.url).pathname;

/**
 * The names the docs use as their prose introduces them ("an open `pool`", "your `password`"),
 * without declaring them in each block. Anything else a block uses it imports or declares itself,
 * so that it can be copied into an application.
 */
const CONTEXT = `
import type { PowerShell, RunspacePool, WinRSShell } from 'psrp';
import type { ExchangeSession } from 'psrp/exchange';
declare global {
  /** An open runspace pool. */
  const pool: RunspacePool;
  /** A PowerShell (pipeline) built on it. */
  const ps: PowerShell;
  /** The endpoint and the credentials. */
  const uri: string;
  const username: string;
  const password: string;
  const auth: { readonly username: string; readonly password: string };
  const credential: { readonly username: string; readonly password: string };
  /** An Exchange session (psrp/exchange). */
  const ex: ExchangeSession;
  /** A WinRS shell (docs/winrs.md). */
  const shell: WinRSShell;
  /** The application's own code. */
  function handle(value: unknown): void;
  function use(value: unknown): void;
}
export {};
`;
/** Most blocks allowed to be marked `fragment`. */
const MAX_FRAGMENTS = 6;

interface Block {
  readonly doc: string;
  readonly line: number;
  readonly code: string;
  readonly fragment: boolean;
}

function blocks(): Block[] {
  const docs = [
    'README.md',
    ...readdirSync(join(ROOT, 'docs'))
      .filter((f) => f.endsWith('.md'))
      .map((f) => `docs/${f}`),
  ];
  const out: Block[] = [];
  for (const doc of docs) {
    const lines = readFileSync(join(ROOT, doc), 'utf8').split('\n');
    for (let i = 0; i < lines.length; i++) {
      const open = /^```(ts|typescript)(\s+fragment)?\s*$/.exec(lines[i]!);
      if (open === null) continue;
      const start = i;
      const body: string[] = [];
      for (i++; i < lines.length && !/^```\s*$/.test(lines[i]!); i++) body.push(lines[i]!);
      out.push({ doc, line: start + 1, code: body.join('\n'), fragment: open[2] !== undefined });
    }
  }
  return out;
}

function typeCheck(checked: readonly Block[]): Map<Block, string[]> {
  const config = ts.readConfigFile(join(ROOT, 'tsconfig.json'), (p) => ts.sys.readFile(p));
  const { options } = ts.parseJsonConfigFileContent(config.config, ts.sys, ROOT);
  const compilerOptions: ts.CompilerOptions = {
    ...options,
    noEmit: true,
    // What an application sees: the package's entry points, here from source.
    paths: {
      psrp: [join(ROOT, 'src/index.ts')],
      'psrp/exchange': [join(ROOT, 'src/exchange/index.ts')],
      'psrp/lab': [join(ROOT, 'src/lab/index.ts')],
    },
    // Examples may leave a variable unused.
    noUnusedLocals: false,
    noUnusedParameters: false,
  };
  const dir = join(ROOT, 'test/.generated/doc-blocks');
  const files = new Map<string, Block>();
  const context = join(dir, 'doc-context.ts');
  checked.forEach((b, n) => {
    const name = `${b.doc.replace(/[/.]/g, '_')}_L${b.line}_${n}.ts`;
    files.set(join(dir, name), b);
  });
  const host = ts.createCompilerHost(compilerOptions);
  const readFile = host.readFile.bind(host);
  const fileExists = host.fileExists.bind(host);
  // Each block is a module (top-level await and its own names), as an .mts application file would be.
  host.readFile = (f) =>
    f === context ? CONTEXT : files.has(f) ? `${files.get(f)!.code}\nexport {};\n` : readFile(f);
  host.fileExists = (f) => f === context || files.has(f) || fileExists(f);
  const program = ts.createProgram({ rootNames: [context, ...files.keys()], options: compilerOptions, host });
  // The blocks compile against the source, not a stale dist/ the package's own exports point at.
  const loaded = program.getSourceFiles().map((f) => f.fileName);
  expect(loaded).toContain(join(ROOT, 'src/index.ts'));
  expect(loaded.filter((f) => f.startsWith(join(ROOT, 'dist/')))).toEqual([]);
  const result = new Map<Block, string[]>();
  for (const d of ts.getPreEmitDiagnostics(program)) {
    const block = d.file !== undefined ? files.get(d.file.fileName) : undefined;
    const text = ts.flattenDiagnosticMessageText(d.messageText, '\n');
    if (block === undefined) {
      const where = d.file !== undefined ? d.file.fileName : 'the program';
      result.set({ doc: where, line: 0, code: '', fragment: false }, [text]);
      continue;
    }
    const { line } = d.file!.getLineAndCharacterOfPosition(d.start ?? 0);
    const list = result.get(block) ?? [];
    list.push(`${block.doc}:${block.line + 1 + line}: ${text}`);
    result.set(block, list);
  }
  return result;
}

describe('code blocks in README.md and docs/', () => {
  const all = blocks();
  const fragments = all.filter((b) => b.fragment);

  it('finds the blocks, and few are marked fragment', () => {
    expect(all.length).toBeGreaterThan(30);
    // Visible, not silent: the fragments are named in the output.
    console.log(
      `doc code blocks: ${all.length - fragments.length} type-checked, ${fragments.length} marked fragment (not checked)` +
        fragments.map((b) => `\n  ${b.doc}:${b.line}`).join(''),
    );
    expect(fragments.length).toBeLessThanOrEqual(MAX_FRAGMENTS);
  });

  it('every block not marked fragment type-checks against the package', () => {
    const errors = typeCheck(all.filter((b) => !b.fragment));
    const report = [...errors.values()].flat();
    expect(report, report.join('\n')).toEqual([]);
  }, 300_000);
});
