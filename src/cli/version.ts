/** The version of the installed psrp package (`psrp --version`), read from its package.json. */
import { readFileSync } from 'node:fs';

export function packageVersion(): string {
  // src/cli/version.ts and the bundle it is built into (dist/cli/main.js, scripts/build.ts) both sit
  // two levels below the package root.
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}
