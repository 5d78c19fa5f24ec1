/**
 * Issue 11: several statements in one pipeline (PowerShell.AddStatement), sent in the PowerShell
 * object's ExtraCmds as Windows clients send it. Checked against the recorded request of
 * test_psrp_merge_commands / test_psrp_multiple_commands (which Windows ran) and run on real pwsh.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidArgumentError, type RunspacePool } from '../../src/index.js';
import { deserializeObject } from '../../src/clixml/index.js';
import { createPipelineData, type CommandSpec } from '../../src/psrp/messages.js';
import { decodeMessage } from '../../src/psrp/message.js';
import { Defragmenter } from '../../src/psrp/fragment.js';
import { RunspacePoolCore } from '../../src/psrp/runspace-pool-core.js';
import { base64Payloads, loadRecording } from '../helpers/recordings.js';
import { openLocalPool } from '../helpers/pwsh.js';

type Bag = Record<string, unknown>;

/** The CREATE_PIPELINE data the recorded client sent. */
function recordedCreatePipeline(name: string): Bag {
  const d = new Defragmenter();
  for (const m of loadRecording(name).messages)
    for (const p of base64Payloads(m.request))
      for (const x of d.push(p.data)) {
        const msg = decodeMessage(x);
        if (msg.typeName === 'CreatePipeline') return deserializeObject(msg.data) as Bag;
      }
  throw new Error(`${name} has no CreatePipeline`);
}

/** The shape of the PowerShell object that matters to a server: statements, commands, arguments, merges. */
function shape(ps: Bag): unknown {
  const cmd = (c: Bag): unknown => ({
    Cmd: c['Cmd'],
    IsScript: c['IsScript'],
    Args: (c['Args'] as Bag[]).map((a) => a['N']),
    merges: [
      'MergeMyResult',
      'MergeToResult',
      'MergeError',
      'MergeWarning',
      'MergeVerbose',
      'MergeDebug',
      'MergeInformation',
    ].map((k) => String(c[k])),
  });
  return {
    ExtraCmds: (ps['ExtraCmds'] as Bag[] | undefined)?.map((st) => (st['Cmds'] as Bag[]).map(cmd)),
    Cmds: (ps['Cmds'] as Bag[]).map(cmd),
  };
}

const spec = (
  name: string,
  isScript: boolean,
  parameters: CommandSpec['parameters'] = [],
  all = false,
): CommandSpec => ({
  name,
  isScript,
  parameters,
  ...(all
    ? {
        mergeErrorToOutput: true,
        mergeWarningToOutput: true,
        mergeVerboseToOutput: true,
        mergeDebugToOutput: true,
        mergeInformationToOutput: true,
      }
    : {}),
});

describe('the ExtraCmds wire shape, against the recorded Windows-facing requests', () => {
  it('test_psrp_merge_commands: two statements', () => {
    const recorded = recordedCreatePipeline('test_psrp_merge_commands');
    const script = String(((recorded['PowerShell'] as Bag)['Cmds'] as Bag[])[0]!['Cmd']);
    const ours = deserializeObject(
      createPipelineData({
        commands: [],
        statements: [[spec(script, true, [], true)], [spec(script, true)]],
        noInput: true,
        addToHistory: false,
        isNested: false,
        hasHost: false,
        protocol22: true,
      }),
    ) as Bag;
    expect(shape(ours['PowerShell'] as Bag)).toEqual(shape(recorded['PowerShell'] as Bag));
  });

  it('test_psrp_multiple_commands: ten statements of commands and scripts with named and positional arguments', () => {
    const recorded = recordedCreatePipeline('test_psrp_multiple_commands');
    const statements = ((recorded['PowerShell'] as Bag)['ExtraCmds'] as Bag[]).map((st) =>
      (st['Cmds'] as Bag[]).map((c) =>
        spec(
          String(c['Cmd']),
          c['IsScript'] === true,
          (c['Args'] as Bag[]).map((a) => ({ name: a['N'] as string | null, value: a['V'] })),
        ),
      ),
    );
    expect(statements).toHaveLength(10);
    const ours = deserializeObject(
      createPipelineData({
        commands: [],
        statements,
        noInput: true,
        addToHistory: false,
        isNested: false,
        hasHost: false,
        protocol22: true,
      }),
    ) as Bag;
    expect(shape(ours['PowerShell'] as Bag)).toEqual(shape(recorded['PowerShell'] as Bag));
  });
});

describe('addStatement() on real pwsh (out of process)', () => {
  let pool: RunspacePool;
  beforeAll(async () => {
    pool = (await openLocalPool()).pool;
  }, 60_000);
  afterAll(async () => {
    await pool?.close();
  });

  it('runs each statement once, in order, in one pipeline; a later statement sees an earlier one', async () => {
    const r = await pool
      .powershell()
      .addCommand('Set-Variable')
      .addParameters({ Name: 'stmt', Value: 41 })
      .addStatement()
      .addScript('$stmt + 1')
      .addStatement()
      .addCommand('Get-Item')
      .addParameter('Path', 'env:PATH')
      .addCommand('Select-Object')
      .addParameter('ExpandProperty', 'Name')
      .addStatement()
      .addScript('"last"')
      .invoke();
    expect(r.state).toBe('Completed');
    expect(r.output).toEqual([42, 'PATH', 'last']);
  });

  it('a failing statement: non-terminating errors continue, the output of the others follows', async () => {
    const r = await pool
      .powershell()
      .addScript('Write-Error "first"')
      .addStatement()
      .addScript('"second"')
      .invoke();
    expect(r.errors.map((e) => e.message)).toEqual(['first']);
    expect(r.output).toEqual(['second']);
  });

  it('refuses an empty statement', async () => {
    expect(() => pool.powershell().addStatement()).toThrow(InvalidArgumentError);
    await expect(pool.powershell().addScript('1').addStatement().invoke()).rejects.toBeInstanceOf(
      InvalidArgumentError,
    );
  });
});

describe('servers before protocol 2.2', () => {
  it('refuse several statements with a clear error (they do not read ExtraCmds)', () => {
    const core = new RunspacePoolCore({ id: '11111111-2222-3333-4444-555555555555' });
    core.state = 'Opened';
    core.serverProtocolVersion = '2.1';
    const st = [spec('Get-Date', false)];
    expect(() =>
      core.createPipeline('aaaaaaaa-2222-3333-4444-555555555555', {
        commands: st,
        statements: [st, st],
        noInput: true,
        addToHistory: false,
        isNested: false,
      }),
    ).toThrow(/protocol 2\.2\+ server; this one speaks 2\.1/);
    expect(() =>
      core.createPipeline('bbbbbbbb-2222-3333-4444-555555555555', {
        commands: st,
        noInput: true,
        addToHistory: false,
        isNested: false,
      }),
    ).not.toThrow();
  });
});
