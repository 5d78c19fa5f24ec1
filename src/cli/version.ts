/** The version of the installed psrp package (`psrp --version`), read from its package.json. */
import { readFileSync } from 'node:fs';

export function packageVersion(): string {
  // dist/cli/version.js and src/cli/version.ts both sit two levels below the package root.
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}
