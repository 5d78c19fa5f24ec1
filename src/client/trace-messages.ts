// MS-WSMV 2.2.4.37 (Create: creationXml), 2.2.4.5 (Command: Arguments), 2.2.4.33 (Send: Stream),
// 2.2.4.30 (ReceiveResponse: Stream), MS-PSRP 3.1.5.3 (the PSRP data each carries), 2.2.4 (fragments),
// 2.2.1 (message header), 2.2.5.1.24 (SecureString <SS>).
/**
 * The PSRP messages inside a WS-Man envelope, for the protocol trace only: which message types a
 * request or response carries, their sizes and pipeline, and (for the full-message dump) the
 * envelope and each message's CLIXML with every credential redacted. A connection builds one only
 * once something subscribes to `psrp:wsman:message`; nothing here runs while tracing is off.
 */
import { decodeMessage } from '../psrp/message.js';
import { readFragment } from '../psrp/fragment.js';
import { REDACTED } from '../internal/secret-redactor.js';

/** One PSRP message as the trace shows it. */
export interface TracedPsrpMessage {
  /** The MS-PSRP 2.2.1 name, e.g. `SESSION_CAPABILITY`, `CREATE_PIPELINE`, `PIPELINE_STATE`. */
  readonly type: string;
  /** Who the message is for. */
  readonly destination: 'client' | 'server';
  /** Runspace pool id (lower-case GUID). */
  readonly runspacePoolId: string;
  /** The pipeline it belongs to (lower-case GUID); undefined for runspace pool messages. */
  readonly pipelineId: string | undefined;
  /** Size of the whole message (header and CLIXML), in bytes. */
  readonly bytes: number;
  /** The message's CLIXML with SecureStrings, session keys and password-like parameters redacted. */
  readonly xml: string;
}

/** What `psrp:wsman:message` receives for each WS-Man envelope sent or received. */
export interface WSManMessageEvent {
  /** The request's MessageID (a response carries its request's). */
  readonly id: string;
  readonly direction: 'sent' | 'received';
  /** The WS-Man action's last segment: `Create`, `Command`, `Send`, `Receive`, `Signal`, `Delete`… */
  readonly action: string;
  readonly shellId: string | undefined;
  /** The command (pipeline) id the envelope names, if any. */
  readonly commandId: string | undefined;
  /** Envelope size in characters. */
  readonly bytes: number;
  /** For a received envelope: time since the request was sent. */
  readonly durationMs?: number;
  /** The PSRP messages completed in this envelope, in order. */
  readonly messages: readonly TracedPsrpMessage[];
  /** The SOAP envelope with every credential redacted and each base64 PSRP payload elided. */
  readonly envelope: string;
}

const DATA_ELEMENT =
  /<((?:[\w.-]+:)?(?:creationXml|Arguments|Stream|connectXml|connectResponseXml))\b([^>]*)>([^<]*)<\/\1>/g;
const SHELL_ID = /<(?:[\w.-]+:)?ShellId>([^<]+)</;
const COMMAND_ID = /CommandId="([^"]+)"|<(?:[\w.-]+:)?CommandId>([^<]+)</;
/** Most bytes kept of one message that spans envelopes; the rest is counted, not kept. */
const MAX_KEPT = 4 * 1024 * 1024;
/** Parameter and property names whose values the dump never shows. */
const SECRET_NAME = /pass(word|phrase)|secret|credential|token|sessionkey|privatekey/i;

/** The command id an envelope names (a CommandId attribute or element), if any. */
export function commandIdOf(xml: string | undefined): string | undefined {
  // The regular expression runs from the first "CommandId" only: run over a whole envelope it
  // tries both alternatives at every character, ~10 us per request while anyone traces.
  const at = xml === undefined ? -1 : xml.indexOf('CommandId');
  const m = at < 0 ? null : COMMAND_ID.exec(xml!.slice(Math.max(0, at - 64)));
  return m === null ? undefined : (m[1] ?? m[2]?.trim());
}

/** The shell id in an envelope's body (a CreateResponse's rsp:ShellId), if any. */
export function shellIdOf(xml: string | undefined): string | undefined {
  return xml === undefined ? undefined : SHELL_ID.exec(xml)?.[1]?.trim();
}

/** The MS-PSRP 2.2.1 spelling: `SessionCapability` -> `SESSION_CAPABILITY`, `InitRunspacePool` -> `INIT_RUNSPACEPOOL`. */
export function messageTypeLabel(name: string): string {
  return name
    .replace(/([a-z])([A-Z])/g, '$1_$2')
    .toUpperCase()
    .replace('RUNSPACE_POOL', 'RUNSPACEPOOL');
}

/**
 * The CLIXML of a message with every credential in it replaced: SecureString contents (MS-PSRP
 * 2.2.5.1.24), the encrypted session key (2.2.2.5), and the value of any property or command
 * parameter named like a password (a plain string passed where a SecureString was meant).
 */
export function redactClixml(xml: string): string {
  return (
    xml
      .replace(/(<SS\b[^>]*>)[^<]*(<\/SS>)/g, `$1${REDACTED}$2`)
      // A property named like a secret: <S N="Password">…</S>, <S N="EncryptedSessionKey">…</S>.
      .replace(
        /(<(\w+) N="([^"]*)"[^>]*>)([^<]+)(<\/\2>)/g,
        (all, open: string, _t, name: string, _v, close: string) =>
          SECRET_NAME.test(name) ? `${open}${REDACTED}${close}` : all,
      )
      // A command parameter: <S N="N">Password</S> followed by its value <… N="V">…</…>.
      .replace(
        /(<S N="N">([^<]*)<\/S>\s*<(\w+) N="V"[^>]*>)([^<]*)(<\/\3>)/g,
        (all, open: string, name: string, _t, _v, close: string) =>
          SECRET_NAME.test(name) ? `${open}${REDACTED}${close}` : all,
      )
  );
}

interface Partial {
  readonly chunks: Uint8Array[];
  kept: number;
  total: number;
}

/** Reassembles the PSRP messages of one connection's envelopes, for the trace. */
export class WireTrace {
  readonly #partial = new Map<string, Partial>();

  /**
   * The event for one envelope. `redact` removes what the transport knows to be secret (its
   * Authorization values, a Basic password) from every text the event carries.
   */
  describe(
    direction: 'sent' | 'received',
    xml: string,
    head: {
      readonly id: string;
      readonly action: string;
      readonly shellId: string | undefined;
      readonly durationMs?: number;
    },
    redact: (text: string) => string = (t) => t,
  ): WSManMessageEvent {
    const messages: TracedPsrpMessage[] = [];
    const envelope = xml.replace(DATA_ELEMENT, (_all, tag: string, attrs: string, b64: string) => {
      const data = Buffer.from(b64.replace(/\s+/g, ''), 'base64');
      this.#read(direction, data, messages, redact);
      return `<${tag}${attrs}>[${data.length} bytes of PSRP data]</${tag}>`;
    });
    return {
      ...head,
      shellId: head.shellId ?? shellIdOf(xml),
      direction,
      commandId: commandIdOf(xml),
      bytes: xml.length,
      messages,
      envelope: redact(envelope),
    };
  }

  #read(
    direction: string,
    data: Uint8Array,
    out: TracedPsrpMessage[],
    redact: (text: string) => string,
  ): void {
    let offset = 0;
    for (;;) {
      const r = readFragment(data, offset);
      if (r === undefined) return;
      offset = r.next;
      const { fragment } = r;
      const key = `${direction}:${fragment.objectId}`;
      let p = this.#partial.get(key);
      if (fragment.start) {
        p = { chunks: [], kept: 0, total: 0 };
        this.#partial.set(key, p);
      }
      if (p === undefined) continue; // a message begun before the trace started
      p.total += fragment.blob.length;
      if (p.kept < MAX_KEPT) {
        p.chunks.push(fragment.blob);
        p.kept += fragment.blob.length;
      }
      if (!fragment.end) continue;
      this.#partial.delete(key);
      out.push(describeMessage(Buffer.concat(p.chunks), p.total, redact));
    }
  }
}

function describeMessage(
  bytes: Uint8Array,
  total: number,
  redact: (text: string) => string,
): TracedPsrpMessage {
  try {
    const m = decodeMessage(bytes);
    const empty = /^0{8}-0{4}-0{4}-0{4}-0{12}$/.test(m.pipelineId);
    return {
      type: messageTypeLabel(m.typeName),
      destination: m.destination === 1 ? 'client' : 'server',
      runspacePoolId: m.runspacePoolId,
      pipelineId: empty ? undefined : m.pipelineId,
      bytes: total,
      xml:
        redact(redactClixml(m.data)) +
        (total > bytes.length ? `<!-- ${total - bytes.length} more bytes not kept -->` : ''),
    };
  } catch {
    // A message cut by MAX_KEPT, or one this client does not know: its size is still worth showing.
    const type =
      bytes.length >= 8 ? `0x${Buffer.from(bytes).readUInt32LE(4).toString(16).padStart(8, '0')}` : 'unknown';
    return {
      type,
      destination: bytes[0] === 1 ? 'client' : 'server',
      runspacePoolId: '',
      pipelineId: undefined,
      bytes: total,
      xml: '',
    };
  }
}
