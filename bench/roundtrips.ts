/**
 * WS-Man round trips: how many requests opening a pool takes, and how many one command takes on
 * its critical path (sent before the result reaches the caller) versus afterwards (the Signal
 * terminate that releases the finished command, in the background), counted from the `psrp:wsman:request` diagnostics channel against the lab, next
 * to the protocol minimum. HTTP exchanges (`psrp:http:exchange`) are counted too, so an
 * authentication round trip (a 401 before the request that succeeds) would show.
 */
import diagnosticsChannel from 'node:diagnostics_channel';
import { connectExchange } from '../src/exchange/index.js';
import { RunspacePool } from '../src/index.js';
import { startLab } from '../src/lab/index.js';
import { printTable } from './util.js';

/** Records WS-Man requests by action and HTTP exchanges while subscribed. */
export class RequestCounter {
  private actions: string[] = [];
  private http = 0;
  private readonly onRequest = (m: unknown): void => {
    this.actions.push((m as { action: string }).action);
  };
  private readonly onHttp = (): void => {
    this.http++;
  };
  constructor() {
    diagnosticsChannel.subscribe('psrp:wsman:request', this.onRequest);
    diagnosticsChannel.subscribe('psrp:http:exchange', this.onHttp);
  }
  /** Requests since the last take(), by action, and HTTP exchanges; resets the counts. */
  take(): { actions: string[]; http: number } {
    const out = { actions: this.actions, http: this.http };
    this.actions = [];
    this.http = 0;
    return out;
  }
  get total(): number {
    return this.actions.length;
  }
  dispose(): void {
    diagnosticsChannel.unsubscribe('psrp:wsman:request', this.onRequest);
    diagnosticsChannel.unsubscribe('psrp:http:exchange', this.onHttp);
  }
}

function describe(actions: readonly string[]): string {
  if (actions.length === 0) return '-';
  const counts = new Map<string, number>();
  for (const a of actions) counts.set(a, (counts.get(a) ?? 0) + 1);
  return [...counts].map(([a, n]) => (n > 1 ? `${a} x${n}` : a)).join(' + ');
}

const settle = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function run(): Promise<void> {
  const lab = await startLab();
  const counter = new RequestCounter();
  const rows: string[][] = [];
  const row = (
    endpoint: string,
    step: string,
    minimum: string,
    got: { actions: string[]; http: number },
  ): void => {
    rows.push([endpoint, step, String(got.actions.length), minimum, describe(got.actions), String(got.http)]);
  };
  try {
    // Exchange endpoint through connectExchange.
    counter.take();
    const ex = await connectExchange({
      uri: lab.exchangeUrl,
      credential: { username: 'admin', password: lab.users['admin']! },
      ca: lab.ca,
    });
    row('/PowerShell/ (connectExchange)', 'open pool', '2', counter.take());
    await ex.invoke('Get-Mailbox', { Identity: 'Alice Smith' }); // warm: the first command loads the module
    await settle(500);
    counter.take();
    const r = await ex.invoke('Get-Mailbox', { Identity: 'Bob Smith' });
    if (r.output.length !== 1) throw new Error(`Get-Mailbox returned ${r.output.length} objects`);
    row('/PowerShell/ (connectExchange)', 'command: before result', '2', counter.take());
    await settle(1000);
    row('/PowerShell/ (connectExchange)', 'command: after result', '1', counter.take());
    await ex.close();
    row('/PowerShell/ (connectExchange)', 'close', '1', counter.take());

    // Plain PowerShell endpoint through RunspacePool.open.
    const pool = await RunspacePool.open({
      uri: lab.url,
      auth: { username: 'admin', password: lab.users['admin']! },
      ca: lab.ca,
    });
    row('/wsman (RunspacePool.open)', 'open pool', '2', counter.take());
    await pool.powershell().addCommand('Get-Date').invoke();
    await settle(500);
    counter.take();
    await pool.powershell().addCommand('Get-Date').invoke();
    row('/wsman (RunspacePool.open)', 'command: before result', '2', counter.take());
    await settle(1000);
    row('/wsman (RunspacePool.open)', 'command: after result', '1', counter.take());
    await pool.close();
    row('/wsman (RunspacePool.open)', 'close', '1', counter.take());
  } finally {
    counter.dispose();
    await lab.close();
  }
  printTable(['endpoint', 'step', 'WS-Man requests', 'protocol minimum', 'actions', 'HTTP exchanges'], rows);
  console.log(
    'Minimum: open = Create + Receive (RunspacePoolState Opened); command = Command + Receive (output and CommandState Done), then Signal terminate in the background (Windows counts an unreleased command against MaxConcurrentCommandsPerShell).',
  );
}
