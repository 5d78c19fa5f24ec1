/**
 * Command discovery end to end: `psrp import` against the lab for an admin and for a help-desk user,
 * the generated modules compiled with tsc (strict, the way a user's project compiles them), and a
 * generated function called against the lab.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { PassThrough } from 'node:stream';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runImport } from '../../src/cli/import.js';
import { connectExchange, getCommandInfo } from '../../src/exchange/index.js';
import { startLab, type Lab } from '../../src/lab/lab-server.js';
import { requirePwsh } from '../helpers/pwsh.js';

const root = resolve(import.meta.dirname, '../..');
const dir = join(root, 'test/.generated/import');
let lab: Lab;
let caFile: string;

beforeAll(async () => {
  requirePwsh();
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  lab = await startLab({ mailboxCount: 30 });
  caFile = join(dir, 'ca.pem');
  writeFileSync(caFile, lab.ca);
}, 60_000);
afterAll(async () => {
  await lab?.close();
});

async function importAs(user: string, file: string): Promise<{ code: number; err: string }> {
  const stderr = new PassThrough();
  let err = '';
  stderr.on('data', (d: Buffer) => (err += d.toString()));
  const code = await runImport([lab.exchangeUrl, '--ca', caFile, '--out', join(dir, file)], {
    stdout: new PassThrough(),
    stderr,
    env: { PSRP_USER: user, PSRP_PASSWORD: lab.users[user]! },
  });
  return { code, err };
}

describe('command discovery (psrp import)', () => {
  it('describes exactly the granted commands with parameter sets, mandatory flags and switches', async () => {
    await using ex = await connectExchange({
      uri: lab.exchangeUrl,
      ca: lab.ca,
      credential: { username: 'helpdesk', password: lab.users['helpdesk']! },
    });
    const info = await getCommandInfo(ex);
    const names = info.filter((c) => c.commandType === 'Function').map((c) => c.name);
    expect(names).toEqual(expect.arrayContaining(['Get-Mailbox', 'Get-MailboxStatistics', 'Get-Recipient']));
    expect(names).not.toContain('Set-Mailbox');
    const stats = info.find((c) => c.name === 'Get-MailboxStatistics')!;
    expect(stats.parameterSets[0]!.parameters.find((p) => p.name === 'Identity')).toMatchObject({
      mandatory: true,
      position: 0,
    });
    const getMailbox = info.find((c) => c.name === 'Get-Mailbox')!;
    expect(getMailbox.parameters.find((p) => p.name === 'IgnoreDefaultScope')).toMatchObject({
      isSwitch: true,
      isCommon: false,
    });
    expect(getMailbox.parameters.find((p) => p.name === 'ErrorAction')).toMatchObject({
      isCommon: true,
      enumValues: expect.arrayContaining(['Stop']),
    });
    // An alias resolves to its command.
    expect(info.find((c) => c.commandType === 'Alias' && c.name === 'gcm')?.resolvedCommandName).toBe(
      'Get-Command',
    );
  }, 120_000);

  it('generates modules that compile with tsc and call the lab', async () => {
    expect((await importAs('admin', 'admin-commands.ts')).code).toBe(0);
    const helpdesk = await importAs('helpdesk', 'helpdesk-commands.ts');
    expect(helpdesk.code).toBe(0);
    expect(helpdesk.err).toMatch(/psrp import: \d+ commands written/);
    const admin = readFileSync(join(dir, 'admin-commands.ts'), 'utf8');
    expect(admin).toContain('setMailbox(parameters: SetMailboxParameters)');
    expect(readFileSync(join(dir, 'helpdesk-commands.ts'), 'utf8')).not.toContain('setMailbox');
    expect(admin).not.toContain(lab.users['admin']!);

    // A consumer as a user writes it; the @ts-expect-error lines fail the compile if the types allow them.
    writeFileSync(
      join(dir, 'consumer.ts'),
      `import { connectExchange } from '../../../src/exchange/index.js';
import { bindCommands as adminCommands } from './admin-commands.js';
import { bindCommands as helpdeskCommands } from './helpdesk-commands.js';

export async function check(uri: string, ca: string, admin: string, helpdesk: string): Promise<string[]> {
  await using a = await connectExchange({ uri, ca, credential: { username: 'admin', password: admin } });
  const ex = adminCommands(a);
  const boxes = await ex.getMailbox({ identity: 'alice.smith', resultSize: 'Unlimited' });
  await ex.setMailbox({ identity: 'bob.smith', office: 'Paris', hiddenFromAddressListsEnabled: true });
  // @ts-expect-error Identity is mandatory for Set-Mailbox
  void (() => ex.setMailbox({ office: 'x' }));
  // @ts-expect-error a switch takes a boolean
  void (() => ex.getMailbox({ ignoreDefaultScope: 'yes' }));
  await using h = await connectExchange({ uri, ca, credential: { username: 'helpdesk', password: helpdesk } });
  const hd = helpdeskCommands(h);
  // @ts-expect-error the help-desk role does not grant Set-Mailbox
  void hd.setMailbox;
  const stats = await hd.getMailboxStatistics({ identity: 'bob.smith' });
  const bob = await hd.getMailbox({ identity: 'bob.smith' });
  return [String(boxes[0]?.['PrimarySmtpAddress']), String(bob[0]?.['Office']), String(stats.length)];
}
`,
    );
    const tsc = join(root, 'node_modules/typescript/bin/tsc');
    // The package by name, mapped to its sources (as vitest.config.ts does at run time), so the
    // check does not depend on a built dist/.
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          noEmit: true,
          strict: true,
          exactOptionalPropertyTypes: true,
          noUncheckedIndexedAccess: true,
          target: 'es2022',
          lib: ['es2023'],
          module: 'nodenext',
          moduleResolution: 'nodenext',
          skipLibCheck: true,
          types: ['node'],
          typeRoots: [join(root, 'node_modules/@types')],
          paths: {
            psrp: [join(root, 'src/index.ts')],
            'psrp/exchange': [join(root, 'src/exchange/index.ts')],
            'psrp/lab': [join(root, 'src/lab/index.ts')],
          },
        },
        files: [join(dir, 'consumer.ts')],
      }),
    );
    try {
      await promisify(execFile)(process.execPath, [tsc, '-p', join(dir, 'tsconfig.json')], {
        cwd: root,
        timeout: 120_000,
      });
    } catch (e) {
      throw new Error(`tsc rejected the generated code:\n${(e as { stdout?: string }).stdout ?? String(e)}`);
    }
    const consumer = (await import(join(dir, 'consumer.ts'))) as {
      check(uri: string, ca: string, a: string, h: string): Promise<string[]>;
    };
    const [address, office, stats] = await consumer.check(
      lab.exchangeUrl,
      lab.ca,
      lab.users['admin']!,
      lab.users['helpdesk']!,
    );
    expect(address).toBe('alice.smith@contoso.com');
    expect(office).toBe('Paris');
    expect(stats).toBe('1');
    expect(lab.liveShells()).toBe(0);
  }, 240_000);

  it('reports usage and connection failures with exit codes', async () => {
    const stderr = new PassThrough();
    let err = '';
    stderr.on('data', (d: Buffer) => (err += d.toString()));
    expect(await runImport([lab.exchangeUrl], { stdout: new PassThrough(), stderr, env: {} })).toBe(2);
    expect(
      await runImport([lab.exchangeUrl, '--ca', caFile, '--out', join(dir, 'x.ts')], {
        stdout: new PassThrough(),
        stderr,
        env: { PSRP_USER: 'admin', PSRP_PASSWORD: 'nope' },
      }),
    ).toBe(1);
    expect(err).toContain('[PSRP_AUTH_FAILED]');
  }, 60_000);
});
