// Windows command-line quoting (CommandLineToArgvW / MSVC runtime rules) used by WinRSShell, and the
// WinRS code pages (WINRS_CODEPAGE 65001 / 437).
import { describe, expect, it } from 'vitest';
import { quoteWindowsArgument, joinWindowsArguments, splitWindowsCommandLine } from '../../src/index.js';
import { codepageDecoder, encodeCodepage } from '../../src/internal/codepage.js';

describe('splitWindowsCommandLine follows the documented MSVC examples', () => {
  // The table of "Parsing C command-line arguments" (Microsoft C runtime documentation).
  const cases: [string, string[]][] = [
    ['"a b c" d e', ['a b c', 'd', 'e']],
    ['"ab\\"c" "\\\\" d', ['ab"c', '\\', 'd']],
    ['a\\\\\\b d"e f"g h', ['a\\\\\\b', 'de fg', 'h']],
    ['a\\\\\\"b c d', ['a\\"b', 'c', 'd']],
    ['a\\\\\\\\"b c" d e', ['a\\\\b c', 'd', 'e']],
    ['a"b"" c d', ['ab" c d']],
    ['  lead   trail  ', ['lead', 'trail']],
    ['""', ['']],
  ];
  for (const [line, argv] of cases) {
    it(JSON.stringify(line), () => expect(splitWindowsCommandLine(line)).toEqual(argv));
  }
});

describe('quoteWindowsArgument', () => {
  it('leaves plain words alone and quotes what needs it', () => {
    expect(quoteWindowsArgument('hi')).toBe('hi');
    expect(quoteWindowsArgument('C:\\dir\\')).toBe('C:\\dir\\');
    expect(quoteWindowsArgument('')).toBe('""');
    expect(quoteWindowsArgument('a b')).toBe('"a b"');
    expect(quoteWindowsArgument('say "hi"')).toBe('"say \\"hi\\""');
    expect(quoteWindowsArgument('C:\\Program Files\\')).toBe('"C:\\Program Files\\\\"');
    expect(quoteWindowsArgument('a\\"b')).toBe('"a\\\\\\"b"');
  });

  it('round-trips every argument through split (hostile strings)', () => {
    const hostile = [
      '',
      ' ',
      'a b',
      '"',
      '""',
      '\\',
      '\\\\',
      '\\"',
      'a\\',
      'a\\\\ b',
      'x"y"z',
      '\t\n',
      '%PATH%',
      '&|<>^',
      'こんにちは',
      'end\\\\\\',
      '"\\"\\\\"',
    ];
    for (let i = 0; i < hostile.length; i++) {
      const args = [hostile[i]!, hostile[(i + 3) % hostile.length]!, hostile[(i + 7) % hostile.length]!];
      expect(splitWindowsCommandLine(joinWindowsArguments(args))).toEqual(args);
    }
  });
});

describe('code pages', () => {
  it('437 decodes the OEM table, 65001 is UTF-8 and keeps split characters whole when streaming', () => {
    expect(
      codepageDecoder(437).decode(new Uint8Array([0x48, 0x82, 0x81, 0xc9, 0xcd, 0xbb, 0xe1, 0xff])),
    ).toBe('Héü╔═╗ß\u00a0');
    const d = codepageDecoder(65001);
    const bytes = Buffer.from('こん', 'utf8');
    expect(
      d.decode(bytes.subarray(0, 2), { stream: true }) + d.decode(bytes.subarray(2), { stream: true }),
    ).toBe('こん');
    expect([...encodeCodepage('Héß€', 437)]).toEqual([0x48, 0x82, 0xe1, 0x3f]);
  });
  it('an unknown code page is a typed error', () => {
    expect(() => codepageDecoder(99999)).toThrow(
      expect.objectContaining({ code: 'PSRP_INVALID_ARGUMENT' }) as Error,
    );
  });
});
