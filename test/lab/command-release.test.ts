/**
 * Issue 11: Windows counts every command never released with Signal terminate against
 * MaxConcurrentCommandsPerShell until the shell is deleted, so the client releases each command
 * once it has ended, in the background: the result reaches the caller after Command + Receive, as
 * before, and close() waits for the outstanding Signals before it deletes the shell.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLab, type Lab } from '../../src/lab/lab-server.js';
import { HttpTransport, RunspacePool, type WSManTransport } from '../../src/index.js';
import { requirePwsh } from '../helpers/pwsh.js';

let lab: Lab;
beforeAll(async () => {
  requirePwsh();
  lab = await startLab();
}, 60_000);
afterAll(async () => {
  await lab?.close();
});

/** Logs every envelope the client sends, with the time its answer arrived. */
class LoggingTransport implements WSManTransport {
  readonly sent: { action: string; xml: string; answered?: number }[] = [];
  constructor(private readonly inner: WSManTransport) {}
  get url(): string {
    return this.inner.url;
  }
  async send(envelope: string, options?: { signal?: AbortSignal }): Promise<string> {
    const entry: { action: string; xml: string; answered?: number } = {
      action: /Action[^>]*>[^<]*\/(\w+)</.exec(envelope)![1]!,
      xml: envelope,
    };
    this.sent.push(entry);
    const r = await this.inner.send(envelope, options);
    entry.answered = performance.now();
    return r;
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

const commandId = (xml: string): string | undefined => /CommandId="([^"]+)"/.exec(xml)?.[1];

describe('Signal terminate after every command (the lab, real pwsh)', () => {
  it('releases each finished command after its result, keeps Command + Receive before the result, and close() waits for the Signals', async () => {
    const log = new LoggingTransport(
      new HttpTransport({
        url: lab.url,
        auth: { username: 'admin', password: lab.users['admin']! },
        ca: lab.ca,
      }),
    );
    const pool = await RunspacePool.open({ transport: log });
    const beforeResult: string[][] = [];
    const ids: string[] = [];
    try {
      for (let i = 0; i < 6; i++) {
        // Let the previous command's Signal finish so the count below is this command's alone.
        await new Promise((r) => setTimeout(r, 100));
        const start = log.sent.length;
        const r = await pool.powershell().addScript(`${i} * 2`).invoke();
        expect(r.output).toEqual([i * 2]);
        const mine = log.sent
          .slice(start)
          .filter((s) => s.action !== 'Signal' || commandId(s.xml) !== ids.at(-1));
        beforeResult.push(mine.filter((s) => s.answered !== undefined).map((s) => s.action));
        ids.push(commandId(mine.find((s) => s.action === 'Command')!.xml)!);
      }
      // A stream too: the Signal waits until the pipeline has ended.
      const streamed: unknown[] = [];
      for await (const v of pool.powershell().addScript('1..3').output()) streamed.push(v);
      expect(streamed).toEqual([1, 2, 3]);
      ids.push(commandId(log.sent.filter((s) => s.action === 'Command').at(-1)!.xml)!);
    } finally {
      await pool.close();
    }
    // The critical path is unchanged: one Command, then Receives until the pipeline ends (the lab
    // hands out pwsh's output and its state in one or two Receives, as before this change), and no
    // Signal before the result (the replay test counts exactly Command + Receive).
    for (const actions of beforeResult) {
      expect(actions[0]).toBe('Command');
      expect(actions.slice(1).length).toBeGreaterThanOrEqual(1);
      expect(actions.slice(1).every((a) => a === 'Receive')).toBe(true);
    }
    // Every command released exactly once, with the terminate code, and before the shell's Delete.
    const signals = log.sent.filter((s) => s.action === 'Signal');
    expect(signals.map((s) => commandId(s.xml))).toEqual(ids);
    for (const s of signals)
      expect(s.xml).toContain(
        '<rsp:Code>http://schemas.microsoft.com/wbem/wsman/1/windows/shell/signal/terminate</rsp:Code>',
      );
    const del = log.sent.findIndex((s) => s.action === 'Delete');
    expect(del).toBe(log.sent.length - 1);
    expect(signals.every((s) => s.answered !== undefined && s.answered <= log.sent[del]!.answered!)).toBe(
      true,
    );
    expect(lab.liveShells()).toBe(0);
  }, 120_000);

  it('a failed pipeline is released too', async () => {
    const log = new LoggingTransport(
      new HttpTransport({
        url: lab.url,
        auth: { username: 'admin', password: lab.users['admin']! },
        ca: lab.ca,
      }),
    );
    const pool = await RunspacePool.open({ transport: log });
    try {
      await expect(pool.powershell().addScript('throw "boom"').invoke()).rejects.toMatchObject({
        code: 'PSRP_PIPELINE_FAILED',
      });
    } finally {
      await pool.close();
    }
    const cmd = commandId(log.sent.find((s) => s.action === 'Command')!.xml);
    expect(log.sent.filter((s) => s.action === 'Signal').map((s) => commandId(s.xml))).toEqual([cmd]);
  }, 60_000);
});
