/**
 * A readable protocol trace (`psrp exec --trace`, `PSRP_TRACE=1` for the psrp command, or
 * `traceTo(line => ...)` in code): one line per WS-Man request and response (action, shell id,
 * sizes, status, timing), per HTTP exchange (status, bytes, time) and per runspace pool or pipeline
 * state change. Built on the `psrp:*` diagnostics_channel channels, whose payloads carry no
 * credentials (Authorization and Cookie headers are redacted before publishing).
 */
import diagnosticsChannel from 'node:diagnostics_channel';

type Event = Readonly<Record<string, unknown>>;

const short = (id: unknown): string => (typeof id === 'string' ? id.slice(0, 8) : '-');

/** Starts writing trace lines to `write`; returns a function that stops it. */
export function traceTo(write: (line: string) => void): () => void {
  const t0 = Date.now();
  const stamp = (): string => `+${String(Date.now() - t0).padStart(6)}ms`;
  const handlers: [string, (message: unknown) => void][] = [
    [
      'psrp:wsman:request',
      (m): void => {
        const e = m as Event;
        write(
          `psrp ${stamp()} -> ${String(e['action'])} shell=${short(e['shellId'])} ${String(e['bytes'])} B`,
        );
      },
    ],
    [
      'psrp:wsman:response',
      (m): void => {
        const e = m as Event;
        write(
          `psrp ${stamp()} <- ${String(e['action'])} shell=${short(e['shellId'])} ${String(e['status'])} in ${String(e['durationMs'])} ms`,
        );
      },
    ],
    [
      'psrp:http:exchange',
      (m): void => {
        const e = m as Event;
        write(
          `psrp ${stamp()}    HTTP POST ${String(e['origin'])}${String(e['path'])} -> ${String(e['status'] ?? e['error'] ?? '?')} (${String(e['requestBytes'])} B sent, ${String(e['bytes'])} B received, ${String(e['durationMs'])} ms)`,
        );
      },
    ],
    [
      'psrp:state',
      (m): void => {
        const e = m as Event;
        write(
          `psrp ${stamp()}    ${String(e['kind'])} ${short(e['id'])} ${String(e['from'])} -> ${String(e['to'])}`,
        );
      },
    ],
  ];
  for (const [name, h] of handlers) diagnosticsChannel.subscribe(name, h);
  return () => {
    for (const [name, h] of handlers) diagnosticsChannel.unsubscribe(name, h);
  };
}
