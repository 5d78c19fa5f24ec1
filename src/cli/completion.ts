/**
 * Tab completion for `psrp shell`, from the session's command metadata: command names (and
 * aliases) at the start of each pipeline stage, parameter names after `-`, and values for a
 * parameter whose type says what it takes ($true/$false, enum values). Pure: line in, candidates
 * out, in the shape node:readline's completer returns.
 */
import type { CommandInfo } from '../exchange/index.js';

/** The text of the last pipeline stage (after the last `|` outside quotes). */
function lastStage(line: string): string {
  let quote: string | undefined;
  let start = 0;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (quote) {
      if (ch === quote) quote = undefined;
    } else if (ch === "'" || ch === '"') quote = ch;
    else if (ch === '|') start = i + 1;
  }
  return line.slice(start);
}

const tokens = (stage: string): string[] => stage.trimStart().split(/\s+/);

/** `[candidates, the word they complete]` for the text before the cursor. */
export function completeLine(line: string, commands: readonly CommandInfo[]): [string[], string] {
  const words = tokens(lastStage(line));
  const word = words.at(-1) ?? '';
  const lower = word.toLowerCase();
  const sorted = (xs: Iterable<string>): string[] => [...new Set(xs)].sort((a, b) => a.localeCompare(b));
  if (words.length <= 1) {
    return [sorted(commands.map((c) => c.name).filter((n) => n.toLowerCase().startsWith(lower))), word];
  }
  const name = words[0]!.toLowerCase();
  const found = commands.find((c) => c.name.toLowerCase() === name);
  const command = found?.resolvedCommandName
    ? (commands.find((c) => c.name === found.resolvedCommandName) ?? found)
    : found;
  if (!command) return [[], word];
  if (word.startsWith('-')) {
    const prefix = lower.slice(1).replace(/:.*$/, '');
    return [
      sorted(
        command.parameters.filter((p) => p.name.toLowerCase().startsWith(prefix)).map((p) => `-${p.name}`),
      ),
      word,
    ];
  }
  // A value for the parameter before it.
  const previous = words.at(-2) ?? '';
  if (previous.startsWith('-')) {
    const p = command.parameters.find((x) => x.name.toLowerCase() === previous.slice(1).toLowerCase());
    if (p && !p.isSwitch) {
      const values = p.enumValues ?? (p.type === 'System.Boolean' ? ['$true', '$false'] : []);
      return [sorted(values.filter((v) => v.toLowerCase().startsWith(lower))), word];
    }
  }
  return [[], word];
}
