// Lint: typescript-eslint's type-aware recommended rules, plus the layering rules of
// docs/architecture.md enforced with no-restricted-imports (a sans-IO core cannot import I/O).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const io = ['node:net', 'node:tls', 'node:http', 'node:https', 'node:child_process', 'node:fs', 'node:fs/promises', 'undici'];
/** `../<folder>/*` from a part's top folder and from one folder below it. */
const upTo = (folders) => folders.flatMap((f) => [`../${f}/*`, `../../${f}/*`, `../../${f}/**`]);
const forbid = (names, patterns = []) => ({
  'no-restricted-imports': ['error', { paths: names.map((name) => ({ name, message: 'layering: see docs/architecture.md' })), patterns }],
});

export default tseslint.config(
  { ignores: ['dist/**', 'coverage/**', 'node_modules/**', 'scratch/**', 'test/.generated/**', '**/*.js', '**/*.mjs', '**/*.cjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      // Deserialized PowerShell values are `unknown` by nature; String(v) on them is deliberate.
      '@typescript-eslint/no-base-to-string': 'off',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  // The sans-IO core, one block per part, with the never-rules of ../shared/design/layers.json
  // between the core's parts too (a folder at any depth below the part: codecs/ in clixml/).
  ...[
    ['clixml', ['psrp', 'wsman', 'outofproc', 'auth'], 'CLIXML knows nothing of framing'],
    ['psrp', ['wsman', 'outofproc', 'auth'], 'the PSRP core is transport-agnostic'],
    ['wsman', ['psrp', 'clixml', 'outofproc', 'auth'], 'PSRP payloads are opaque bytes to WS-Man'],
    ['outofproc', ['wsman', 'auth'], 'out-of-process framing carries opaque PSRP bytes'],
  ].map(([part, siblings, why]) => ({
    files: [`src/${part}/**`],
    rules: {
      ...forbid(io, [
        { group: upTo(['client', 'http', 'exchange', 'cli', 'lab']), message: 'sans-IO core: see docs/architecture.md' },
        { group: upTo(siblings), message: `${why}: see docs/architecture.md` },
        { group: ['../index.js', '../../index.js'], message: 'the core is below the public surface' },
      ]),
      'no-restricted-globals': ['error', 'setTimeout', 'setInterval', 'setImmediate'],
    },
  })),
  {
    // NTLM and the other authentication codecs are sans-IO too (bytes in, bytes out; node:crypto is allowed).
    files: ['src/auth/**'],
    rules: {
      ...forbid(io, [{ group: upTo(['client', 'http', 'exchange', 'cli', 'lab', 'wsman', 'psrp', 'clixml']), message: 'sans-IO mechanisms know no transport (authenticators live in http/): see docs/architecture.md' }]),
      'no-restricted-globals': ['error', 'setTimeout', 'setInterval', 'setImmediate'],
    },
  },
  {
    // The transport knows no SOAP, no PSRP and nothing above it (2.2.9.1 encryption is HTTP framing).
    files: ['src/http/**'],
    rules: forbid([], [{ group: [...upTo(['client', 'exchange', 'cli', 'lab', 'wsman', 'psrp', 'clixml', 'outofproc']), '../index.js', '../../index.js'], message: 'http/ uses auth/ and the ground only: see docs/architecture.md' }]),
  },
  {
    // The generic client knows no Exchange, no terminal and not its test double; the surface re-exports it.
    files: ['src/client/**'],
    rules: forbid([], [{ group: [...upTo(['exchange', 'cli', 'lab']), '../index.js', '../../index.js'], message: 'client/ is below the public surface: see docs/architecture.md' }]),
  },
  {
    // psrp/exchange is built on the public surface only (src/index.ts).
    files: ['src/exchange/**'],
    rules: forbid([], [{ group: [...upTo(['client', 'http', 'wsman', 'psrp', 'clixml', 'auth', 'outofproc', 'internal', 'cli', 'lab']), '../errors.js', '../../errors.js'], message: 'exchange/ uses the public surface (../index.js) only: see docs/architecture.md' }]),
  },
  {
    // The CLI uses the public surfaces only: psrp, psrp/exchange and psrp/lab.
    files: ['src/cli/**'],
    rules: forbid([], [{ group: [...upTo(['client', 'http', 'wsman', 'psrp', 'clixml', 'auth', 'outofproc']), '../errors.js'], message: 'cli/ uses the public surfaces (../index.js, ../exchange/index.js, ../lab/*) only: see docs/architecture.md' }]),
  },
  {
    // The lab is a WinRM double: it may use every protocol layer, but nothing that builds on the library's surface.
    files: ['src/lab/**'],
    rules: forbid([], [{ group: ['../exchange/*', '../cli/*', '../index.js'], message: 'lab/ is beside the library, not above it: see docs/architecture.md' }]),
  },
  {
    // The public surface re-exports the library; Exchange and the lab are their own entry points.
    files: ['src/index.ts'],
    rules: forbid([], [{ group: ['./exchange/*', './lab/*', './cli/*'], message: 'psrp/exchange and psrp/lab are separate entry points: see docs/architecture.md' }]),
  },
  {
    files: ['src/internal/**'],
    rules: forbid(io, [{ group: ['../*/*'], message: 'internal/ is a leaf' }]),
  },
  {
    files: ['test/**', 'bench/**', 'examples/**', 'scripts/**'],
    rules: {
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/restrict-template-expressions': 'off',
    },
  },
);
