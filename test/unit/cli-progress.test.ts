import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { parseArgs, useColour } from '../../src/cli/cli-options.js';
import { ProgressDisplay } from '../../src/cli/progress-display.js';
import type { ProgressRecord } from '../../src/index.js';

const record = (percent: number, type = 'Processing'): ProgressRecord => ({
  activity: 'Get-Mailbox',
  activityId: 0,
  statusDescription: `Scanned ${percent * 10} of 1000 mailboxes`,
  currentOperation: undefined,
  parentActivityId: -1,
  percentComplete: percent,
  secondsRemaining: -1,
  type,
});

function sink(): { stream: PassThrough & { columns: number }; text: () => string } {
  const stream = Object.assign(new PassThrough(), { columns: 120 });
  let text = '';
  stream.on('data', (d: Buffer) => (text += d.toString()));
  return { stream, text: () => text };
}

describe('exec status line', () => {
  it('counts objects and draws a bar from progress records', () => {
    const { stream } = sink();
    const d = new ProgressDisplay({ stream, colour: false, intervalMs: 60_000 });
    expect(d.line()).toMatch(/^\S 0 objects$/);
    d.object();
    expect(d.line()).toMatch(/^\S 1 object$/);
    for (let i = 0; i < 1233; i++) d.object();
    d.progress(record(45));
    expect(d.line()).toMatch(
      /1,234 objects {2}Get-Mailbox \[#########\.{11}\] 45% Scanned 450 of 1000 mailboxes$/,
    );
    d.progress(record(100, 'Completed'));
    expect(d.line()).not.toContain('Get-Mailbox');
    d.done();
  });

  it('redraws one line in place, colours only when asked, and erases it when done', () => {
    const { stream, text } = sink();
    const d = new ProgressDisplay({ stream, colour: true, intervalMs: 60_000 });
    d.progress(record(50));
    d.draw();
    d.draw();
    // eslint-disable-next-line no-control-regex -- terminal escape sequences are the subject here
    expect(text().match(/\r\x1b\[2K/g)).toHaveLength(2);
    expect(text()).toContain('\x1b[36m');
    d.done();
    expect(text().endsWith('\r\x1b[2K')).toBe(true);
    const plain = sink();
    const p = new ProgressDisplay({ stream: plain.stream, colour: false, intervalMs: 60_000 });
    p.draw();
    p.done();
    // eslint-disable-next-line no-control-regex -- terminal escape sequences are the subject here
    expect(plain.text()).not.toMatch(/\x1b\[3\dm/);
  });

  it('truncates to the terminal width', () => {
    const { stream, text } = sink();
    stream.columns = 30;
    const d = new ProgressDisplay({ stream, colour: false, intervalMs: 60_000 });
    d.progress(record(10));
    d.draw();
    d.done();
    expect(text().split('\r\x1b[2K')[1]!.length).toBeLessThanOrEqual(29);
  });

  it('uses colour only on a terminal without NO_COLOR / --no-color', () => {
    const io = { stdout: new PassThrough(), stderr: new PassThrough(), env: {} };
    expect(useColour({ isTTY: true }, io)).toBe(true);
    expect(useColour({ isTTY: false }, io)).toBe(false);
    expect(useColour({ isTTY: true }, { ...io, env: { NO_COLOR: '1' } })).toBe(false);
    expect(useColour({ isTTY: true }, io, parseArgs(['x', '--no-color']))).toBe(false);
    expect(useColour({ isTTY: false }, io, parseArgs(['x', '--color']))).toBe(true);
  });
});
