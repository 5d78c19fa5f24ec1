/**
 * A readable protocol trace (`psrp exec --trace`, `PSRP_TRACE=1` for the psrp command, or
 * `traceTo(line => ...)` in code): one line per WS-Man request and response (action, shell and
 * command ids, sizes, status, timing), per PSRP message in them (type, size, pool, pipeline), per
 * HTTP exchange (status, bytes, time) and per runspace pool or pipeline state change; with
 * `{ messages: true }` (`PSRP_TRACE=messages`) also every SOAP envelope, the HTTP request headers
 * and each PSRP message's CLIXML. Built on the `psrp:*` diagnostics_channel channels, whose
 * payloads carry no credentials (Authorization and Cookie headers, SecureStrings, session keys
 * and password-like parameters are redacted before publishing).
 */
import diagnosticsChannel from 'node:diagnostics_channel';
import type { WSManMessageEvent } from './trace-messages.js';

type Event = Readonly<Record<string, unknown>>;

const short = (id: unknown): string => (typeof id === 'string' && id !== '' ? id.slice(0, 8) : '-');
const command = (e: Event): string =>
  typeof e['commandId'] === 'string' ? ` command=${short(e['commandId'].toLowerCase())}` : '';

/** Options of {@link traceTo}. */
export interface TraceOptions {
  /**
   * Also write each SOAP envelope (base64 PSRP data elided), the HTTP request headers and each
   * PSRP message's CLIXML, with every credential redacted. Default false.
   */
  readonly messages?: boolean | undefined;
}

/** Starts writing trace lines to `write`; returns a function that stops it. */
export function traceTo(write: (line: string) => void, options: TraceOptions = {}): () => void {
  const dump = options.messages === true;
  const t0 = Date.now();
  const stamp = (): string => `+${String(Date.now() - t0).padStart(6)}ms`;
  const handlers: [string, (message: unknown) => void][] = [
    [
      'psrp:wsman:request',
      (m): void => {
        const e = m as Event;
        write(
          `psrp ${stamp()} -> ${String(e['action'])} shell=${short(e['shellId'])}${command(e)} ${String(e['bytes'])} B`,
        );
      },
    ],
    [
      'psrp:wsman:response',
      (m): void => {
        const e = m as Event;
        write(
          `psrp ${stamp()} <- ${String(e['action'])} shell=${short(e['shellId'])}${command(e)} ${String(e['status'])} in ${String(e['durationMs'])} ms`,
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
        const headers = e['requestHeaders'];
        if (dump && typeof headers === 'object' && headers !== null)
          for (const [k, v] of Object.entries(headers)) write(`      ${k}: ${String(v)}`);
      },
    ],
    [
      'psrp:wsman:message',
      (m): void => {
        const e = m as WSManMessageEvent;
        const arrow = e.direction === 'sent' ? '>>' : '<<';
        if (dump)
          write(`psrp ${stamp()}    envelope ${e.direction} (${e.action}, ${e.bytes} B):\n${e.envelope}`);
        for (const msg of e.messages) {
          const pipeline = msg.pipelineId !== undefined ? ` pipeline=${short(msg.pipelineId)}` : '';
          write(
            `psrp ${stamp()}      ${arrow} ${msg.type} ${msg.bytes} B pool=${short(msg.runspacePoolId)}${pipeline}`,
          );
          if (dump && msg.xml !== '') write(msg.xml);
        }
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
