/** The examples run in CI against the lab, exactly as a user runs them. */
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { requirePwsh } from '../helpers/pwsh.js';

const run = promisify(execFile);
const root = resolve(import.meta.dirname, '../..');
const tsx = resolve(root, 'node_modules/.bin/tsx');
const clean: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'EXCHANGE_URI' && k !== 'PSRP_URI'));

describe('examples', () => {
  it('list-mailboxes (npm start) lists mailboxes from the lab', async () => {
    requirePwsh();
    const { stdout } = await run(tsx, ['examples/list-mailboxes.ts'], { cwd: root, env: clean, timeout: 90_000 });
    expect(stdout).toContain('using the built-in lab');
    expect(stdout).toMatch(/Alice Smith\s+alice\.smith@contoso\.com\s+UserMailbox\s+Unlimited/);
    expect(stdout.trim().split('\n').filter((l) => l.includes('@contoso.com'))).toHaveLength(10);
  }, 120_000);

  it('run-command runs Get-Process through the lab', async () => {
    const { stdout } = await run(tsx, ['examples/run-command.ts'], { cwd: root, env: clean, timeout: 90_000 });
    expect(stdout).toContain('connected: protocol 2.3, running Get-Process');
    expect(stdout).toMatch(/System\.Diagnostics\.Process/);
  }, 120_000);
});
