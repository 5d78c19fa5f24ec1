/**
 * Builds dist/ (`npm run build`, run by `prepare`): the JavaScript as a few bundled ES modules
 * (esbuild), the type declarations from `tsc` (tsconfig.build.json, declarations only).
 *
 * Why bundles (issue 17, cold start): Node loads an ES module graph file by file (resolve, read,
 * compile, link each); psrp's 110-odd modules cost about twice the CPU of the same code in one file
 * at `import('psrp')`. The entry points are those of package.json `exports` and `bin` (dist/index.js,
 * dist/exchange/index.js, dist/lab/index.js, dist/cli/main.js) at their usual paths; code split
 * between them sits once in dist/chunks/ (so `psrp` and `psrp/exchange` share one RunspacePool and
 * one set of error classes), as does each part loaded on first use with `import()` (file transfer,
 * the lab behind `psrp lab`). Dependencies (undici, ssh2, kerberos) stay external.
 *
 * `npx tsx scripts/build.ts [outdir] [--no-types]`: outdir defaults to dist; `--no-types` skips the
 * declarations (the cold-start benchmark builds a copy that way).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build as esbuild, transform } from 'esbuild';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

/** The bundled entry points, by output path under the out dir (package.json `exports` and `bin`). */
export const ENTRY_POINTS: Readonly<Record<string, string>> = {
  index: 'src/index.ts',
  'exchange/index': 'src/exchange/index.ts',
  'lab/index': 'src/lab/index.ts',
  'cli/main': 'src/cli/main.ts',
};

/** Bundles the JavaScript of `root`'s src/ into `outdir` (emptied first). */
export async function buildJs(outdir: string, root = ROOT): Promise<void> {
  rmSync(outdir, { recursive: true, force: true });
  const result = await esbuild({
    absWorkingDir: root,
    entryPoints: Object.entries(ENTRY_POINTS).map(([out, inp]) => ({ in: inp, out })),
    outdir,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    packages: 'external',
    chunkNames: 'chunks/[name]-[hash]',
    // Class and function names stay as written (messages name `connection.constructor.name`).
    keepNames: true,
    sourcemap: true,
    logLevel: 'warning',
    metafile: true,
  });
  for (const file of Object.keys(result.metafile.outputs)) {
    if (file.endsWith('.js')) await asciiOnly(resolve(root, file));
  }
  // A few modules find files of the package by a path relative to their own (`../../package.json`,
  // `../../lab/...`): written for src/<part>/<file>.ts, they hold only in an output file two levels
  // below the out dir too (dist/cli/main.js, dist/chunks/*.js).
  for (const file of Object.keys(result.metafile.outputs)) {
    if (!file.endsWith('.js')) continue;
    const depth = relative(outdir, resolve(root, file)).split(sep).length;
    const text = readFileSync(resolve(root, file), 'utf8');
    if (depth !== 2 && /['"]\.\.\/\.\.\//.test(text) && text.includes('import.meta.url')) {
      throw new Error(
        `${file} resolves a path two levels up from itself but is not two levels below ${outdir}`,
      );
    }
  }
}

/**
 * Rewrites the few non-ASCII characters esbuild leaves in an output file (in comments: `–`, `→`,
 * `±`; `charset: 'ascii'`, its default, escapes them everywhere else) as `\u` escapes. V8 keeps a
 * script with any character above U+00FF as a two-byte string: Node decodes it more slowly and V8
 * scans twice the bytes, at import and again at each function's first call (about 5 ms of the
 * import). That only comments changed is checked: the file with comments stripped is the same
 * before and after.
 */
async function asciiOnly(file: string): Promise<void> {
  const text = readFileSync(file, 'utf8');
  const nonAscii = /[\u0080-\u{10ffff}]/gu;
  if (!nonAscii.test(text)) return;
  const ascii = text.replace(nonAscii, (c) => `\\u{${c.codePointAt(0)!.toString(16)}}`);
  const code = async (js: string): Promise<string> =>
    (await transform(js, { format: 'esm', minifyWhitespace: true, charset: 'utf8' })).code;
  if ((await code(text)) !== (await code(ascii))) {
    throw new Error(`${file}: a non-ASCII character outside a comment (esbuild should have escaped it)`);
  }
  writeFileSync(file, ascii);
}

/** Writes the declarations (`.d.ts` and their maps) of src/ into `outdir` with `tsc`. */
export function buildTypes(outdir: string, root = ROOT): void {
  execFileSync(
    process.execPath,
    [
      join(root, 'node_modules/typescript/bin/tsc'),
      '-p',
      join(root, 'tsconfig.build.json'),
      '--outDir',
      outdir,
    ],
    { stdio: 'inherit', cwd: root },
  );
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const outdir = resolve(args.find((a) => !a.startsWith('--')) ?? join(ROOT, 'dist'));
  await buildJs(outdir);
  if (!args.includes('--no-types')) buildTypes(outdir);
}
