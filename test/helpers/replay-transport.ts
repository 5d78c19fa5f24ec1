/**
 * Replays a Windows recording through the WSManTransport seam. Each request our client sends is
 * matched with the next recorded exchange: its shape (action, resource URI, PSRP message types)
 * must match, the ids the recorded client used (ShellId, CommandId, RunspacePool and pipeline
 * GUIDs, MessageID) are mapped to ours, and the recorded response is rewritten with our ids.
 */
import { TransportError } from '../../src/errors.js';
import type { WSManTransport } from '../../src/http/wsman-transport.js';
import { Defragmenter } from '../../src/psrp/fragment.js';
import { decodeMessage } from '../../src/psrp/message.js';
import { base64Payloads, loadRecording, type RecordedExchange } from './recordings.js';

const GUID_RE = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;

function guidBytes(g: string): Buffer {
  const h = g.replace(/-/g, '');
  const order = [3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15];
  return Buffer.from(order.map((i) => parseInt(h.substr(i * 2, 2), 16)));
}

/** The GUID whose .NET byte layout is this GUID's RFC 4122 (big-endian) bytes. */
function swapGuid(g: string): string {
  const h = g.replace(/-/g, '');
  const b = [3, 2, 1, 0, 5, 4, 7, 6].map((i) => h.substr(i * 2, 2)).join('') + h.slice(16);
  return `${b.slice(0, 8)}-${b.slice(8, 12)}-${b.slice(12, 16)}-${b.slice(16, 20)}-${b.slice(20)}`;
}

const action = (xml: string): string => /<(?:\w+:)?Action[^>]*>([^<]+)</.exec(xml)?.[1]?.trim() ?? '';
const messageId = (xml: string): string => /<(?:\w+:)?MessageID>([^<]+)</.exec(xml)?.[1]?.trim() ?? '';

/** PSRP message types and ids carried by a request. */
function psrpMessages(xml: string, defrag: Defragmenter): { type: string; rpid: string; pid: string }[] {
  const out: { type: string; rpid: string; pid: string }[] = [];
  for (const p of base64Payloads(xml)) {
    for (const m of defrag.push(p.data)) {
      const d = decodeMessage(m);
      out.push({ type: d.typeName, rpid: d.runspacePoolId, pid: d.pipelineId });
    }
  }
  return out;
}

const TERMINATE_RE = /<(?:\w+:)?Code>\s*http:\/\/schemas\.microsoft\.com\/wbem\/wsman\/1\/windows\/shell\/signal\/terminate\s*</i;
/** True for a WS-Man Signal terminate request (MS-WSMV 2.2.5.6; Windows matches the code case-insensitively). */
const isTerminate = (xml: string): boolean => action(xml).endsWith('/Signal') && TERMINATE_RE.test(xml);

let recordedTerminateResponse: string | undefined;
/** What Windows answered to a Signal terminate (test_psrp_multiple_invocations). */
function terminateResponse(): string {
  if (recordedTerminateResponse === undefined) {
    const m = loadRecording('test_psrp_multiple_invocations').messages.find((x) => isTerminate(x.request));
    if (!m?.response) throw new Error('test_psrp_multiple_invocations has no Signal terminate exchange');
    recordedTerminateResponse = m.response;
  }
  return recordedTerminateResponse;
}

export interface ReplayStep {
  readonly action: string;
  readonly psrpTypes: readonly string[];
  readonly recordedPsrpTypes: readonly string[];
  /** The envelope our client sent, and the one the recording's client sent at this step. */
  readonly request: string;
  readonly recordedRequest: string;
}

export class ReplayTransport implements WSManTransport {
  readonly url = 'https://127.0.0.1:55986/wsman';
  private index = 0;
  private readonly messages: readonly RecordedExchange[];
  private readonly ids = new Map<string, string>(); // recorded (lower) → ours (lower)
  private readonly ourDefrag = new Defragmenter();
  private readonly recDefrag = new Defragmenter();
  readonly steps: ReplayStep[] = [];
  /** CommandIds of Signal terminate requests this recording's client never sent (answered as Windows does). */
  readonly unrecordedTerminates: string[] = [];
  closed = false;

  private readonly aliases: Readonly<Record<string, string>>;

  /**
   * `aliases`: recorded ids to treat as another recorded id (lower case), for recordings whose
   * authors spliced in a message from another session (test_client_copy_file_warning's WarningRecord).
   */
  constructor(readonly name: string, options: { readonly skip?: number; readonly aliases?: Readonly<Record<string, string>> } = {}) {
    this.messages = loadRecording(name).messages;
    this.index = options.skip ?? 0;
    this.aliases = options.aliases ?? {};
  }

  get remaining(): number {
    return this.messages.length - this.index;
  }

  private learn(recorded: string, ours: string, renew = false): void {
    const r = recorded.toLowerCase();
    const o = ours.toLowerCase();
    if (r !== o && (renew || !this.ids.has(r))) this.ids.set(r, o);
  }

  send(envelope: string): Promise<string> {
    try {
      return Promise.resolve(this.answer(envelope));
    } catch (e) {
      return Promise.reject(e instanceof Error ? e : new Error(String(e)));
    }
  }

  private answer(envelope: string): string {
    const ourAction = action(envelope);
    const next = this.messages[this.index];
    // WinRS recordings are matched as recorded: their client's Signals (ctrl_c or terminate) are
    // part of the scenario, and only PSRP pipelines are released after every command.
    const winrsShell = envelope.includes('/wsman/1/windows/shell/cmd</');
    if (!winrsShell && isTerminate(envelope) && (!next || !isTerminate(next.request))) {
      // This recording's client did not release its finished command; ours does (Signal terminate
      // after every command). Windows' real answer to that request, from the recording that has
      // it, stands in; the recorded sequence continues unchanged.
      this.unrecordedTerminates.push(/CommandId="([^"]+)"/.exec(envelope)?.[1] ?? '');
      return terminateResponse().replace(/(<(\w+:)?RelatesTo>)[^<]+(<)/, `$1${messageId(envelope)}$3`);
    }
    const rec = this.messages[this.index++];
    if (!rec) throw new Error(`replay ${this.name}: no recorded exchange left for ${ourAction}`);
    if (ourAction !== action(rec.request)) {
      throw new Error(`replay ${this.name} step ${this.index}: sent ${ourAction}, recording has ${action(rec.request)}`);
    }
    // Map ids: selectors and CommandId attributes, then PSRP RPID/PID.
    const sel = (x: string): string[] => [...x.matchAll(/(?:ShellId|CommandId)(?:="|">)([0-9A-Fa-f-]{36})/g)].map((m) => m[1]!);
    const recSel = sel(rec.request);
    const ourSel = sel(envelope);
    // A recording client may reuse a CommandId for its next command: a Command maps it afresh.
    const renew = ourAction.endsWith('/Command');
    recSel.forEach((g, i) => ourSel[i] && this.learn(g, ourSel[i], renew && i > 0));
    // WinRS (cmd shell) payloads are process bytes, not PSRP fragments.
    const ours = winrsShell ? [] : psrpMessages(envelope, this.ourDefrag);
    const recorded = winrsShell ? [] : psrpMessages(rec.request, this.recDefrag);
    // The recorded client (pypsrp) wrote PSRP ids in the other byte order than .NET's: a selector
    // id read that way is its PSRP id. A Connect to a pipeline carries no PSRP message to learn it from.
    if (!winrsShell && ours.length === 0 && recorded.length === 0) recSel.forEach((g, i) => ourSel[i] && this.learn(swapGuid(g), ourSel[i]));
    recorded.forEach((m, i) => {
      const o = ours[i];
      if (!o) return;
      this.learn(m.rpid, o.rpid);
      this.learn(m.pid, o.pid, renew);
    });
    this.steps.push({ action: ourAction.slice(ourAction.lastIndexOf('/') + 1), psrpTypes: ours.map((m) => m.type), recordedPsrpTypes: recorded.map((m) => m.type), request: envelope, recordedRequest: rec.request });
    if (rec.httpError || rec.response === null) {
      throw new TransportError('Connection failed (recorded)', { code: 'PSRP_CONNECTION_FAILED' });
    }
    let response = rec.response;
    if (rec.transportError && !/<(\w+:)?Envelope[\s>]/.test(response)) {
      throw new TransportError(`HTTP ${rec.transportError.code} (recorded)`, { code: 'PSRP_HTTP_SERVER_ERROR', statusCode: rec.transportError.code });
    }
    for (const [alias, target] of Object.entries(this.aliases)) {
      const ours = this.ids.get(target);
      if (ours !== undefined) this.ids.set(alias, ours);
    }
    // Rewrite ids in text and in base64 PSRP payloads, and RelatesTo.
    response = response.replace(GUID_RE, (g) => {
      const mapped = this.ids.get(g.toLowerCase());
      if (!mapped) return g;
      return g === g.toUpperCase() ? mapped.toUpperCase() : mapped;
    });
    response = response.replace(/(<(\w+:)?(?:Stream|connectResponseXml)[^>]*>)([A-Za-z0-9+/=]+)(<)/g, (_m, open: string, _p, b64: string, close: string) => {
      let buf = Buffer.from(b64, 'base64');
      for (const [r, o] of this.ids) {
        const from = guidBytes(r);
        const to = guidBytes(o);
        for (let i = buf.indexOf(from); i >= 0; i = buf.indexOf(from, i + 16)) {
          buf = Buffer.concat([buf.subarray(0, i), to, buf.subarray(i + 16)]);
        }
      }
      return open + buf.toString('base64') + close;
    });
    response = response.replace(/(<(\w+:)?RelatesTo>)[^<]+(<)/, `$1${messageId(envelope)}$3`);
    return response;
  }

  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }
}
