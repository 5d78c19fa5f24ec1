/**
 * Issue 11: `maxEnvelopeSize: 32768` must hold for every request (Windows refuses larger ones,
 * MS-WSMV 2.2.4.10): a ~45 KB CREATE_PIPELINE is split as Windows clients do, its first fragments in
 * the Command, the rest in Send requests for the same CommandId; real pwsh reassembles it.
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

class LoggingTransport implements WSManTransport {
  readonly sent: string[] = [];
  constructor(private readonly inner: WSManTransport) {}
  get url(): string {
    return this.inner.url;
  }
  send(envelope: string, options?: { signal?: AbortSignal }): Promise<string> {
    this.sent.push(envelope);
    return this.inner.send(envelope, options);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

const action = (x: string): string => /Action[^>]*>[^<]*\/(\w+)</.exec(x)![1]!;
const commandId = (x: string): string | undefined => /CommandId="([^"]+)"/.exec(x)?.[1];

describe('an explicit MaxEnvelopeSize (the lab, real pwsh)', () => {
  it('keeps every request within 32768 bytes: Command with the first fragments, Send with the rest', async () => {
    const log = new LoggingTransport(
      new HttpTransport({
        url: lab.url,
        auth: { username: 'admin', password: lab.users['admin']! },
        ca: lab.ca,
      }),
    );
    const pool = await RunspacePool.open({ transport: log, maxEnvelopeSize: 32768 });
    const text = Array.from({ length: 3000 }, (_, i) => `line ${i}`).join('\n'); // ~25 KB, ~45 KB of CLIXML (UTF-16 in base64)
    try {
      const r = await pool
        .powershell()
        .addCommand('Measure-Object')
        .addParameter('Character')
        .addParameter('InputObject', text)
        .invoke();
      expect((r.output[0] as Record<string, unknown>)['Characters']).toBe(text.length);
    } finally {
      await pool.close();
    }
    for (const x of log.sent) {
      expect(Buffer.byteLength(x)).toBeLessThanOrEqual(32768);
      expect(x).toContain('<wsman:MaxEnvelopeSize s:mustUnderstand="true">32768</wsman:MaxEnvelopeSize>');
    }
    const command = log.sent.find((x) => action(x) === 'Command')!;
    const sends = log.sent.filter((x) => action(x) === 'Send' && commandId(x) === commandId(command));
    expect(sends.length).toBeGreaterThanOrEqual(1);
    // The whole message did not fit in one envelope of this size.
    const payload = (x: string): number =>
      Buffer.from(/>([A-Za-z0-9+/=]{100,})</.exec(x)![1]!, 'base64').length;
    expect(payload(command) + sends.reduce((n, x) => n + payload(x), 0)).toBeGreaterThan(32768);
    expect(lab.liveShells()).toBe(0);
  }, 60_000);
});
