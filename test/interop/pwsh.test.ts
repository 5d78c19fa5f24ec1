import { expectPipelinesOverlap } from '../helpers/concurrency.js';
import { describe, expect, it } from 'vitest';
import { OutOfProcConnection } from '../../src/client/outofproc-connection.js';
import {
  PipelineFailedError,
  PSDateTime,
  PSDecimal,
  PSDuration,
  PSEnumValue,
  PSSecureString,
  RunspacePool,
  createPSObject,
  ps,
  psMeta,
  type PSHost,
} from '../../src/index.js';
import { openLocalPool, requirePwsh } from '../helpers/pwsh.js';

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('interop with real PowerShell 7 over the out-of-process transport', () => {
  it('has pwsh installed (CI must not skip these tests)', () => {
    expect(requirePwsh()).toMatch(/pwsh$/);
  });

  it('opens a pool, runs a command with parameters, closes, and the process is gone', async () => {
    const { pool, connection } = await openLocalPool();
    expect(pool.state).toBe('Opened');
    expect(pool.serverProtocolVersion).toBe('2.3');
    const r = await pool.powershell().addCommand('Get-Command').addParameter('Name', 'Get-Date').invoke();
    expect(r.hadErrors).toBe(false);
    expect(psMeta(r.output[0])!.typeNames[0]).toMatch(/CmdletInfo$/);
    expect((r.output[0] as Record<string, unknown>)['Name']).toBe('Get-Date');
    const pid = connection.pid!;
    await pool.close();
    expect(alive(pid)).toBe(false);
  });

  it('receives every CLIXML type PowerShell produces', async () => {
    const { pool } = await openLocalPool();
    try {
      const script = `
        [datetime]::new(2024,1,2,3,4,5,[DateTimeKind]::Utc).AddTicks(1234567)
        [timespan]::FromTicks(90269026)
        [decimal]'79228162514264337593543950335'
        [uint64]::MaxValue
        [guid]'0c8b7d3e-1111-2222-3333-444455556666'
        [version]'1.2.3.4'
        [uri]'http://example.com/x'
        ,[byte[]](1,2,255)
        [char]'x'
        [ConsoleColor]::Red
        @{ a = 1 }
        ,@(1, @(2, 3))
        [pscustomobject]@{ Name = 'n'; Value = 5 }
        "tab\`tnew\`nline and _x0041_ and 😀"
        [xml]'<a b="c"/>'
        [long]9007199254740993
        [double]::NaN`;
      const out = (await pool.powershell().addScript(script).invoke()).output;
      const [dt, ts, dec, u64, guid, ver, uri, bytes, ch, color, ht, list, obj, text, xml, big, nan] = out;
      expect(dt).toBeInstanceOf(PSDateTime);
      expect((dt as PSDateTime).toISOString()).toBe('2024-01-02T03:04:05.123Z');
      expect((dt as PSDateTime).subMillisecondTicks).toBe(4567);
      expect((ts as PSDuration).ticks).toBe(90269026n);
      expect((dec as PSDecimal).text).toBe('79228162514264337593543950335');
      expect(u64).toBe(18446744073709551615n);
      expect(guid).toBe('0c8b7d3e-1111-2222-3333-444455556666');
      expect(ver).toBe('1.2.3.4');
      expect(uri).toBe('http://example.com/x');
      expect(bytes).toEqual(new Uint8Array([1, 2, 255]));
      expect(ch).toBe('x');
      expect(color).toBeInstanceOf(PSEnumValue);
      expect((color as PSEnumValue).name).toBe('Red');
      expect((color as PSEnumValue).value).toBe(12);
      expect(ht).toEqual({ a: 1 });
      expect(list).toEqual([1, [2, 3]]);
      expect(obj).toEqual({ Name: 'n', Value: 5 });
      expect(text).toBe('tab\tnew\nline and _x0041_ and 😀');
      expect(xml).toBe('<a b="c" />');
      expect(big).toBe(9007199254740993n);
      expect(nan).toBeNaN();
      expect(out.length).toBe(17);
    } finally {
      await pool.close();
    }
  });

  it('sends every type we serialize and PowerShell reads back the .NET type and value', async () => {
    const { pool } = await openLocalPool();
    try {
      const values: [unknown, string, string][] = [
        ['text _x0041_ 😀 \u0001', 'System.String', 'text _x0041_ 😀 \u0001'],
        [42, 'System.Int32', '42'],
        [1.5, 'System.Double', '1.5'],
        [true, 'System.Boolean', 'True'],
        [2n ** 62n, 'System.Int64', '4611686018427387904'],
        [ps.uint64(2n ** 64n - 1n), 'System.UInt64', '18446744073709551615'],
        [ps.byte(7), 'System.Byte', '7'],
        [ps.int16(-7), 'System.Int16', '-7'],
        [ps.char('z'), 'System.Char', 'z'],
        [ps.guid('0c8b7d3e-1111-2222-3333-444455556666'), 'System.Guid', '0c8b7d3e-1111-2222-3333-444455556666'],
        [ps.version('1.2.3'), 'System.Version', '1.2.3'],
        [ps.uri('http://x/'), 'System.Uri', 'http://x/'],
        [new PSDecimal('1.10'), 'System.Decimal', '1.10'],
        [new PSDuration(90269026n), 'System.TimeSpan', '00:00:09.0269026'],
        [new Date(Date.UTC(2020, 1, 3, 4, 5, 6)), 'System.DateTime', '2020-02-03T04:05:06.0000000Z'],
        [new Uint8Array([1, 2]), 'System.Byte[]', '1 2'],
        [new Map([[1, 'one']]), 'System.Collections.Hashtable', '1=one'],
      ];
      for (const [value, type, text] of values) {
        const r = await pool
          .powershell()
          .addScript('param($v) $t = $v.GetType().FullName; if ($v -is [datetime]) { $s = $v.ToUniversalTime().ToString("o") } elseif ($v -is [hashtable]) { $s = ($v.GetEnumerator() | % { "$($_.Key)=$($_.Value)" }) -join "," } else { $s = "$v" }; "$t|$s"')
          .addParameter('v', value)
          .invoke();
        expect(r.errors.map(String)).toEqual([]);
        expect(r.output[0], type).toBe(`${type}|${text}`);
      }
      // A PSCustomObject with a shared reference and a cycle survives the round trip.
      const child = { n: 1 };
      const parent = createPSObject({ extendedProperties: { a: child, b: child } });
      const r = await pool.powershell().addScript('param($o) [object]::ReferenceEquals($o.a, $o.b); $o').addParameter('o', parent).invoke();
      expect(r.output[0]).toBe(true);
      const back = r.output[1] as { a: unknown; b: unknown };
      expect(back.a).toBe(back.b);
    } finally {
      await pool.close();
    }
  });

  it('reports all streams, terminating errors and ErrorRecord fields', async () => {
    const { pool } = await openLocalPool();
    try {
      const r = await pool
        .powershell()
        .addScript(`
          Write-Error 'an error' -ErrorId 'My.Error' -Category InvalidData -TargetObject 'tgt'
          Write-Warning 'a warning'
          Write-Verbose 'verbose text' -Verbose
          Write-Debug 'debug text' -Debug
          Write-Information 'info text' -Tags t1
          Write-Progress -Activity 'Working' -Status 'Half' -PercentComplete 50
          'done'`)
        .invoke();
      expect(r.output).toEqual(['done']);
      expect(r.hadErrors).toBe(true);
      const e = r.errors[0]!;
      expect(e.message).toBe('an error');
      expect(e.fullyQualifiedErrorId).toMatch(/^My\.Error/);
      expect(e.categoryInfo.category).toBe('InvalidData');
      expect(e.targetObject).toBe('tgt');
      expect(r.warnings.map((w) => w.message)).toEqual(['a warning']);
      expect(r.verbose.map((w) => w.message)).toEqual(['verbose text']);
      expect(r.debug.map((w) => w.message)).toEqual(['debug text']);
      expect(r.information[0]!.messageData).toBe('info text');
      expect(r.information[0]!.tags).toEqual(['t1']);
      expect(r.progress.some((p) => p.activity === 'Working' && p.percentComplete === 50)).toBe(true);

      const failed = await pool.powershell().addScript('throw [System.IO.FileNotFoundException]::new("nope")').invoke().catch((x: unknown) => x);
      expect(failed).toBeInstanceOf(PipelineFailedError);
      expect((failed as PipelineFailedError).code).toBe('PSRP_PIPELINE_FAILED');
      expect((failed as PipelineFailedError).errorRecord!.message).toBe('nope');
      const stop = await pool.powershell().addScript('Write-Error "first"; "after"').invoke({ errorAction: 'stop' }).catch((x: unknown) => x);
      expect((stop as PipelineFailedError).code).toBe('PSRP_PIPELINE_ERROR_RECORD');
      // The pool is still usable after failures.
      expect((await pool.powershell().addCommand('Get-Date').invoke()).output).toHaveLength(1);
    } finally {
      await pool.close();
    }
  });

  it('pipes input, runs several commands in one pipeline, and merges streams', async () => {
    const { pool } = await openLocalPool();
    try {
      async function* gen(): AsyncGenerator<number> {
        for (let i = 1; i <= 5; i++) {
          await Promise.resolve();
          yield i;
        }
      }
      const r = await pool
        .powershell()
        .addCommand('Sort-Object')
        .addParameter('Descending')
        .addCommand('Select-Object')
        .addParameter('First', 2)
        .invoke({ input: gen() });
      expect(r.output).toEqual([5, 4]);
      const sum = await pool.powershell().addCommand('Measure-Object').addParameter('Sum').invoke({ input: [10, 20, 30] });
      expect((sum.output[0] as Record<string, unknown>)['Sum']).toBe(60);
      // Script blocks travel as text (PowerShell never rehydrates them from the wire): the server refuses to bind one.
      const sb = await pool.powershell().addCommand('ForEach-Object').addParameter('Process', ps.scriptBlock('$_')).invoke({ input: [1] }).catch((x: unknown) => x);
      expect((sb as PipelineFailedError).errorRecord!.fullyQualifiedErrorId).toMatch(/^CannotConvertArgumentNoMessage|ParameterArgumentTransformationError/);
      const merged = await pool.powershell().addScript('Write-Error "e1"; "o1"').mergeErrorToOutput().invoke();
      expect(merged.errors).toEqual([]);
      expect(merged.output).toHaveLength(2);
    } finally {
      await pool.close();
    }
  });

  it('stops a long-running pipeline quickly (stop(), break, abort)', async () => {
    const { pool } = await openLocalPool();
    try {
      const t0 = Date.now();
      const ps1 = pool.powershell().addScript('1; Start-Sleep 60; 2');
      const running = ps1.invoke();
      await new Promise((r) => setTimeout(r, 500));
      await ps1.stop();
      await expect(running).rejects.toMatchObject({ code: 'PSRP_PIPELINE_STOPPED' });
      const seen: unknown[] = [];
      for await (const v of pool.powershell().addScript('1..1000000 | % { $_; Start-Sleep -Milliseconds 1 }').output()) {
        seen.push(v);
        if (seen.length === 3) break;
      }
      expect(seen).toEqual([1, 2, 3]);
      const ac = new AbortController();
      setTimeout(() => ac.abort(), 300);
      await expect(pool.powershell().addScript('Start-Sleep 60').invoke({ signal: ac.signal })).rejects.toMatchObject({ name: 'AbortError' });
      await expect(pool.powershell().addScript('Start-Sleep 60').invoke({ timeoutMs: 300 })).rejects.toMatchObject({ name: 'TimeoutError' });
      expect(Date.now() - t0).toBeLessThan(20_000);
      // Still usable.
      expect((await pool.powershell().addScript('7').invoke()).output).toEqual([7]);
    } finally {
      await pool.close();
    }
  });

  it('runs pipelines concurrently up to maxRunspaces', async () => {
    const { pool } = await openLocalPool({ maxRunspaces: 3 });
    try {
      await expectPipelinesOverlap(pool); // in parallel, not 3 × 3 s in a row
    } finally {
      await pool.close();
    }
  });

  it('answers host calls and sends SecureStrings through the session key', async () => {
    const lines: string[] = [];
    const host: PSHost = {
      readLine: () => 'typed answer',
      writeLine: (t) => lines.push(t),
      promptForCredential: () => ({ username: 'alice', password: 'S3cret!' }),
    };
    const { pool } = await openLocalPool({ host });
    try {
      const r = await pool.powershell().addScript('$x = Read-Host "Name"; "got $x"; Write-Host "hello host"').invoke();
      expect(r.output).toEqual(['got typed answer']);
      const cred = await pool.powershell().addScript('$c = $Host.UI.PromptForCredential("c","m","alice",""); $c.GetNetworkCredential().Password').invoke();
      expect(cred.output).toEqual(['S3cret!']);
      const ss = await pool
        .powershell()
        .addScript('param($p) [System.Net.NetworkCredential]::new("", $p).Password; $p')
        .addParameter('p', PSSecureString.fromPlainText('p@ss word'))
        .invoke();
      expect(ss.output[0]).toBe('p@ss word');
      expect(ss.output[1]).toBeInstanceOf(PSSecureString);
      expect((ss.output[1] as PSSecureString).reveal()).toBe('p@ss word');
      expect(String(ss.output[1])).toBe('[SecureString]');
    } finally {
      await pool.close();
    }
  });

  it('fails clearly when pwsh dies under a pipeline, and never leaves a process behind', async () => {
    const connection = new OutOfProcConnection({ executable: requirePwsh() });
    const pool = await RunspacePool.open({ connection });
    const pid = connection.pid!;
    const running = pool.powershell().addScript('Start-Sleep 60').invoke();
    await new Promise((r) => setTimeout(r, 300));
    process.kill(pid, 'SIGKILL');
    await expect(running).rejects.toMatchObject({ code: 'PSRP_PROCESS_EXITED' });
    await pool.close();
    expect(alive(pid)).toBe(false);
    expect(() => new OutOfProcConnection({ executable: '/nonexistent/pwsh' })).not.toThrow();
  });
});

describe('runspace pool management against real PowerShell', () => {
  it('resizes the pool and reports available runspaces', async () => {
    const { pool } = await openLocalPool({ maxRunspaces: 1 });
    try {
      expect(await pool.getAvailableRunspaces()).toBe(1);
      expect(await pool.setMaxRunspaces(3)).toBe(true);
      expect(pool.maxRunspaces).toBe(3);
      expect(await pool.getAvailableRunspaces()).toBe(3);
      expect(await pool.setMinRunspaces(2)).toBe(true);
      await expectPipelinesOverlap(pool);
    } finally {
      await pool.close();
    }
  });

  it('streams 50,000 objects with flat memory', async () => {
    const { pool } = await openLocalPool();
    try {
      let n = 0;
      let peak = 0;
      const base = process.memoryUsage().heapUsed;
      for await (const v of pool.powershell().addScript('1..50000 | % { [pscustomobject]@{ Id = $_; Name = "item $_"; Pad = "x" * 100 } }').output<{ Id: number }>()) {
        n++;
        if (v.Id !== n) throw new Error(`out of order at ${n}`);
        if (n % 5000 === 0) peak = Math.max(peak, process.memoryUsage().heapUsed - base);
      }
      expect(n).toBe(50_000);
      // ~50,000 objects of ~200 bytes would be >10 MB if they were kept; streaming holds a few batches.
      expect(peak).toBeLessThan(64 * 1024 * 1024);
    } finally {
      await pool.close();
    }
  }, 120_000);
});

describe('graph and string edge cases from real PowerShell', () => {
  it('keeps cycles and lone surrogates, and routes Write-Host to the client', async () => {
    const lines: string[] = [];
    const { pool } = await openLocalPool({ host: { writeLine: (t) => lines.push(t), write: (t) => lines.push(t) } });
    try {
      const r = await pool
        .powershell()
        .addScript('$o = [pscustomobject]@{ Name = "loop" }; $o | Add-Member -NotePropertyName Self -NotePropertyValue $o; $o; [string][char]0xD800 + "x" + [string][char]0xDC00; Write-Host "hello host"')
        .invoke();
      const o = r.output[0] as { Name: string; Self: unknown };
      expect(o.Name).toBe('loop');
      expect(o.Self).toBe(o); // a Ref back to the same object
      expect(r.output[1]).toBe('\ud800x\udc00');
      const viaHost = lines.some((l) => l.includes('hello host'));
      const viaInformation = r.information.some((i) => String((i.messageData as { Message?: string } | null)?.Message ?? i.messageData).includes('hello host'));
      expect(viaHost || viaInformation).toBe(true);
    } finally {
      await pool.close();
    }
  });
});
