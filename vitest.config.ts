import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (file: string): string => fileURLToPath(new URL(`./src/${file}`, import.meta.url));

export default defineConfig({
  // Code a test generates (psrp import's modules) imports the package by name: it resolves to the
  // sources, so the tests never depend on a built dist/ (stale or missing).
  resolve: {
    alias: [
      { find: /^psrp$/, replacement: src('index.ts') },
      { find: /^psrp\/exchange$/, replacement: src('exchange/index.ts') },
      { find: /^psrp\/lab$/, replacement: src('lab/index.ts') },
    ],
  },
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    coverage: {
      provider: 'v8',
      include: ['src/**/*.ts'],
      reporter: ['text-summary', 'text'],
      thresholds: {
        'src/clixml/**': { lines: 90 },
        'src/psrp/**': { lines: 90 },
      },
    },
  },
});
