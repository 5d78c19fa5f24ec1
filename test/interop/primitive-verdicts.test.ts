/**
 * Strict, PowerShell-exact primitives (issue 12): each input of the table goes through PowerShell's
 * own deserializer ([PSSerializer]::Deserialize, all inputs in ONE pwsh process) and through ours.
 * Where PowerShell refuses, we refuse with a typed error; where it accepts, we return the same
 * value. Accepting what PowerShell refuses (or reading it differently) would silently change data.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PSDateTime, PSDecimal, PSDuration, deserializeClixml } from '../../src/index.js';
import { PsrpError } from '../../src/errors.js';
import { requirePwsh } from '../helpers/pwsh.js';

const NS = 'Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04"';

/** Inputs (the content of one `<Objs>`), PowerShell's verdict is computed, never written here. */
const TABLE: readonly string[] = [
  // Double / Single: XmlConvert syntax, out of range is ±Infinity (Single overflows sooner).
  '<Db>1e400</Db>',
  '<Db>-1e400</Db>',
  '<Db>1.5</Db>',
  '<Db> 2 </Db>',
  '<Db>INF</Db>',
  '<Db>-INF</Db>',
  '<Db>Infinity</Db>',
  '<Db>NaN</Db>',
  '<Db>inf</Db>',
  '<Db>+INF</Db>',
  '<Db>5.</Db>',
  '<Db>.5</Db>',
  '<Db>1e5</Db>',
  '<Db>0x10</Db>',
  '<Db>1,5</Db>',
  '<Db>-0</Db>',
  '<Db>1_0</Db>',
  '<Db>1 0</Db>',
  '<Db>.</Db>',
  '<Db>1e</Db>',
  '<Db></Db>',
  '<Sg>1e300</Sg>',
  '<Sg>-1e300</Sg>',
  '<Sg>1e-300</Sg>',
  '<Sg>0.1</Sg>',
  '<Sg>3.5e38</Sg>',
  '<Sg>3e38</Sg>',
  // Decimal: no exponent, at most Decimal.MaxValue.
  '<D>1e400</D>',
  '<D>1e5</D>',
  '<D>1.5</D>',
  '<D> 1.5 </D>',
  '<D>79228162514264337593543950335</D>',
  '<D>79228162514264337593543950336</D>',
  '<D>-79228162514264337593543950336</D>',
  '<D>.5</D>',
  '<D>5.</D>',
  '<D>+5</D>',
  '<D>0001.25</D>',
  '<D>1.2.3</D>',
  // Integers: sign, surrounding whitespace and leading zeros are fine; range is checked.
  '<I32> 5 </I32>',
  '<I32>+5</I32>',
  `<I32>${'0'.repeat(50)}5</I32>`,
  '<I32>2147483648</I32>',
  '<I32>-2147483648</I32>',
  '<I32>1.0</I32>',
  '<By>256</By>',
  '<By>255</By>',
  '<SB>-129</SB>',
  '<U16>65536</U16>',
  '<I16>-32769</I16>',
  '<U32>4294967296</U32>',
  '<U64>18446744073709551615</U64>',
  '<U64>18446744073709551616</U64>',
  '<I64>-9223372036854775809</I64>',
  '<I64>9223372036854775807</I64>',
  // Boolean: XmlConvert.ToBoolean.
  '<B>1</B>',
  '<B>0</B>',
  '<B> true </B>',
  '<B>True</B>',
  '<B>yes</B>',
  // DateTime: a real calendar date, fields in range; offsets as given; fractions rounded to 100 ns.
  '<DT>2024-13-45T99:99:99</DT>',
  '<DT>2024-02-30T00:00:00</DT>',
  '<DT>2023-02-29T00:00:00</DT>',
  '<DT>2024-02-29T23:59:59</DT>',
  '<DT>2024-01-01T00:00:00+99:99</DT>',
  '<DT>2024-01-01T00:00:00+14:00</DT>',
  '<DT>2024-01-01T00:00:00-13:59</DT>',
  '<DT>2024-01-01T24:00:00</DT>',
  '<DT>0000-01-01T00:00:00</DT>',
  '<DT>10000-01-01T00:00:00</DT>',
  '<DT>-2024-01-01T00:00:00</DT>',
  '<DT>2024-01-01T00:00:00.12345678Z</DT>',
  '<DT>2024-01-01T00:00:00.123456749Z</DT>',
  '<DT>2024-01-01</DT>',
  '<DT> 2024-01-01T00:00:00Z </DT>',
  '<DT>0001-01-01T00:00:00+01:00</DT>',
  '<DT>9999-12-31T23:59:59-01:00</DT>',
  '<DT>2024-01-01T00:00:60</DT>',
  '<DT>2021-09-28T09:53:39.1234567-07:00</DT>',
  // TimeSpan: Y = 365 days, M = 30 days, within TimeSpan's range, fraction only on seconds.
  '<TS>PT1S</TS>',
  '<TS>P10675199DT2H48M5.4775807S</TS>',
  '<TS>P10675199DT2H48M5.4775808S</TS>',
  '<TS>P99999999D</TS>',
  '<TS>P1Y</TS>',
  '<TS>P1M</TS>',
  '<TS>-PT1S</TS>',
  '<TS>PT1.123456789S</TS>',
  '<TS>P</TS>',
  '<TS>PT</TS>',
  '<TS>P1DT</TS>',
  '<TS> PT1S </TS>',
  '<TS>PT0.5H</TS>',
  // Byte arrays: .NET's Convert.FromBase64String.
  '<BA>AAA</BA>',
  '<BA>AAAA</BA>',
  '<BA>AA==</BA>',
  '<BA>AB==</BA>',
  '<BA>A A A A</BA>',
  '<BA>AA=A</BA>',
  '<BA>AAA=</BA>',
  '<BA>A===</BA>',
  '<BA>AA= =</BA>',
  '<BA></BA>',
  '<BA>AA==\r\n</BA>',
  '<BA>AAAA=</BA>',
  '<BA>AQID/w</BA>',
  // Char: an unsigned 16-bit number.
  '<C>65</C>',
  '<C>65536</C>',
  '<C>-1</C>',
  '<C>+66</C>',
  // Attributes: what .NET's XmlReader refuses.
  '<S a>b</S><S c="d">e</S>',
  '<S a="1"b="2">x</S>',
  '<S a="1" a="2">x</S>',
  '<S a=1>x</S>',
];

/** One line per input: `error`, or `ok <type> <canonical value>`. */
const PWSH_SCRIPT = `
$ErrorActionPreference = 'Stop'
$inv = [cultureinfo]::InvariantCulture
foreach ($x in (Get-Content -Raw -LiteralPath $args[0] | ConvertFrom-Json)) {
  try {
    $v = [System.Management.Automation.PSSerializer]::Deserialize($x)
    if ($v -is [datetime]) {
      $u = if ($v.Kind -eq 'Unspecified') { $v } else { $v.ToUniversalTime() }
      $out = 'ok DateTime ' + $u.ToString('yyyy-MM-ddTHH:mm:ss.fffffff', $inv)
    }
    elseif ($v -is [byte[]]) { $out = 'ok Bytes ' + [Convert]::ToBase64String($v) }
    elseif ($v -is [double] -or $v -is [single]) { $out = 'ok ' + $v.GetType().Name + ' ' + $v.ToString('R', $inv) }
    elseif ($v -is [decimal]) { $out = 'ok Decimal ' + $v.ToString($inv) }
    elseif ($v -is [timespan]) { $out = 'ok TimeSpan ' + $v.Ticks }
    elseif ($v -is [char]) { $out = 'ok Char ' + [int]$v }
    elseif ($v -is [bool]) { $out = 'ok Boolean ' + "$v".ToLowerInvariant() }
    elseif ($v -is [string]) { $out = 'ok String ' + $v }
    else { $out = 'ok ' + $v.GetType().Name + ' ' + $v.ToString($inv) }
  } catch { $out = 'error' }
  [Console]::Out.WriteLine($out)
}
`;

/** Our verdict in PowerShell's terms: the canonical text of the value, compared per type. */
function ours(input: string): { verdict: 'ok' | 'error'; value?: unknown; code?: string } {
  try {
    const values = deserializeClixml(`<Objs ${NS}>${input}</Objs>`);
    return { verdict: 'ok', value: values.length === 1 ? values[0] : values };
  } catch (e) {
    if (!(e instanceof PsrpError)) throw e;
    return { verdict: 'error', code: e.code };
  }
}

/** True when our value is the one PowerShell printed as `type text`. */
function sameValue(type: string, text: string, v: unknown): boolean {
  switch (type) {
    case 'Double':
    case 'Single':
      return typeof v === 'number' && Object.is(v, Number(text));
    case 'Decimal':
      return v instanceof PSDecimal && Number(v.text) === Number(text);
    case 'DateTime': {
      if (!(v instanceof PSDateTime)) return false;
      const iso = new Date(v.getTime()).toISOString().slice(0, 23);
      const ours7 = `${iso}${String(v.subMillisecondTicks).padStart(4, '0')}`;
      return ours7 === text;
    }
    case 'TimeSpan':
      return v instanceof PSDuration && v.ticks === BigInt(text);
    case 'Bytes':
      return v instanceof Uint8Array && Buffer.from(v).toString('base64') === text;
    case 'Char':
      return typeof v === 'string' && v.length === 1 && v.charCodeAt(0) === Number(text);
    case 'Boolean':
      return String(v) === text;
    case 'String':
      return v === text;
    default:
      // Integers: numbers or bigints, compared as decimal text.
      return (typeof v === 'number' || typeof v === 'bigint') && String(v) === text;
  }
}

describe('primitive values: our verdict is PowerShell 7’s', () => {
  it('every input of the table is refused or read exactly as [PSSerializer]::Deserialize does', () => {
    const pwsh = requirePwsh();
    const dir = mkdtempSync(join(tmpdir(), 'psrp-verdicts-'));
    let lines: string[];
    try {
      const cases = join(dir, 'cases.json');
      const script = join(dir, 'verdicts.ps1');
      writeFileSync(cases, JSON.stringify(TABLE.map((x) => `<Objs ${NS}>${x}</Objs>`)));
      writeFileSync(script, PWSH_SCRIPT);
      const out = execFileSync(pwsh, ['-NoLogo', '-NoProfile', '-NonInteractive', '-File', script, cases], {
        encoding: 'utf8',
        timeout: 120_000,
      });
      lines = out.split(/\r?\n/).filter((l) => l !== '');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect(lines).toHaveLength(TABLE.length);
    const mismatches: string[] = [];
    TABLE.forEach((input, i) => {
      const theirs = lines[i]!;
      const mine = ours(input);
      if (theirs === 'error') {
        if (mine.verdict !== 'error')
          mismatches.push(`${input}: PowerShell refuses, we returned ${String(mine.value)}`);
        return;
      }
      const [, type = '', ...rest] = theirs.split(' ');
      const text = rest.join(' ');
      if (mine.verdict === 'error')
        mismatches.push(`${input}: PowerShell reads ${type} ${text}, we refuse (${mine.code})`);
      else if (!sameValue(type, text, mine.value))
        mismatches.push(`${input}: PowerShell reads ${type} ${text}, we read ${String(mine.value)}`);
    });
    expect(mismatches).toEqual([]);
  }, 180_000);
});
