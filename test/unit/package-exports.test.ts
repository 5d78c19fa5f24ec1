/** The package's entry points resolve to the built files and export what the docs promise. */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '../..');

describe('package exports', () => {
  it('maps psrp, psrp/exchange and psrp/lab to dist with types', () => {
    const pkg = JSON.parse(readFileSync(resolve(root, 'package.json'), 'utf8')) as { exports: Record<string, { types: string; default: string } | string> };
    expect(Object.keys(pkg.exports)).toEqual(['.', './exchange', './lab', './package.json']);
    for (const target of Object.values(pkg.exports)) {
      if (typeof target === 'string') continue;
      expect(target.types).toMatch(/^\.\/dist\/.+\.d\.ts$/);
      expect(target.default).toMatch(/^\.\/dist\/.+\.js$/);
      const src = resolve(root, target.default.replace('./dist/', 'src/').replace(/\.js$/, '.ts'));
      expect(existsSync(src), src).toBe(true);
    }
  });

  it('loads from dist through the exports map when built (npm run build)', () => {
    if (!existsSync(resolve(root, 'dist/index.js'))) {
      // `.ci/run` builds before testing; a plain `npm test` without a build checks the sources above.
      console.warn('dist/ not built: checked the export map against src/ only');
      return;
    }
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', "const m = await import('psrp'); const e = await import('psrp/exchange'); const l = await import('psrp/lab'); console.log(typeof m.RunspacePool, typeof e.parseCommandLine, typeof l.startLab);"], { cwd: root, encoding: 'utf8' });
    expect(out.trim()).toBe('function function function');
  });
});
