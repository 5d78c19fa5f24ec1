/**
 * Disconnected sessions in the lab, answered as Windows answers them: Get of a shell (MS-WSMV
 * 3.1.4.1, how clients check a pool is alive), Enumerate/Pull of the shell and command resources
 * (MS-WSMV 3.1.4.8, Get-PSSession -ComputerName), Disconnect (3.1.4.15), Reconnect (3.1.4.16) and
 * Connect (3.1.4.17; MS-PSRP 3.1.4.10/3.1.5.3.12), the shapes taken from
 * shared/fixtures/windows-recordings (test_psrp_disconnect_runspaces, test_psrp_disconnected_commands,
 * test_psrp_is_alive_*).
 *
 * A disconnected shell keeps its pwsh and its running pipelines; what they write meanwhile waits in
 * the out-of-process connection's inbox (and the Receive outboxes) for the next client. `pwsh -s`
 * has no connect message, so the Connect answer (the server's SESSION_CAPABILITY and
 * RUNSPACEPOOL_INIT_DATA in connectResponseXml, then APPLICATION_PRIVATE_DATA on the first pool
 * Receive, MS-PSRP 3.1.4.10.1) is made here from what pwsh said when the pool opened.
 */
import { deserializeObject } from '../clixml/index.js';
import { attr, child, descendants } from '../internal/xml-tree.js';
import { Defragmenter, encodeFragment, fragmentMessage } from '../psrp/fragment.js';
import { decodeMessage, encodeMessage } from '../psrp/message.js';
import { MessageType } from '../psrp/message-type.js';
import { Action } from '../wsman/namespaces.js';
import { ReceiveOutbox } from './receive-outbox.js';
import { emptyResponse, faultResponse, labEnvelope, type LabRequest } from './wsman-server-codec.js';

/** MS-WSMV 2.2.4.37: the shell resource (Get, Enumerate) and its commands (Enumerate). */
export const SHELL_RESOURCE_URI = 'http://schemas.microsoft.com/wbem/wsman/1/windows/shell';
const COMMAND_RESOURCE_URI = 'http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Command';
const WSEN = 'http://schemas.xmlsoap.org/ws/2004/09/enumeration';
const PSRP_NS = 'http://schemas.microsoft.com/powershell';

/** What this module needs of the lab's shell record. */
export interface SessionShell {
  readonly id: string;
  readonly user: string;
  readonly exchange: boolean;
  lastUsed: number;
  readonly connection: { readonly pid: number | undefined };
  readonly commands: ReadonlySet<string>;
  readonly finished: ReadonlySet<string>;
  readonly outbox: Map<string, ReceiveOutbox>;
}

interface Session {
  state: 'Connected' | 'Disconnected';
  /** wsmv:SessionId of the client attached now (or last). */
  client: string | undefined;
  readonly resourceUri: string;
  readonly created: number;
  /** rsp:IdleTimeOut of the Create, replaced by a Disconnect's. */
  idleTimeoutMs: number | undefined;
  minRunspaces: number;
  maxRunspaces: number;
  /** pwsh's SESSION_CAPABILITY and APPLICATION_PRIVATE_DATA (CLIXML), seen when the pool opened. */
  capability: string | undefined;
  privateData: string | undefined;
  readonly fromPwsh: Defragmenter;
  readonly fromClient: Defragmenter;
  /** Aborted by Disconnect: ends the Receives waiting for pwsh, leaving pwsh's output buffered. */
  detach: AbortController;
}

/** xs:duration (PT60S, PT60.000S, P0DT0H1M2S) in milliseconds; undefined when absent or unreadable. */
export function durationMs(text: string | undefined): number | undefined {
  const m = /^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/.exec(text?.trim() ?? '');
  if (!m || text?.trim() === 'P') return undefined;
  return Math.round(
    ((Number(m[1] ?? 0) * 24 + Number(m[2] ?? 0)) * 3600 + Number(m[3] ?? 0) * 60 + Number(m[4] ?? 0)) * 1000,
  );
}

/** Windows' forms: IdleTimeOut `PT7200.000S`, ShellRunTime `P0DT0H1M2S`. */
const seconds = (ms: number): string => `PT${(ms / 1000).toFixed(3)}S`;
function dayTime(ms: number): string {
  const s = Math.floor(ms / 1000);
  return `P${Math.floor(s / 86400)}DT${Math.floor((s % 86400) / 3600)}H${Math.floor((s % 3600) / 60)}M${s % 60}S`;
}

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const invalidSelectors = (r: LabRequest): string =>
  faultResponse(
    r.messageId,
    'InvalidSelectors',
    2150858843,
    'The WS-Management service cannot process the request because the request contained invalid selectors for the resource.',
  );
/**
 * MS-WSMV 3.1.4.16/3.1.4.17 name a wsman:InternalError fault for a Connect to a shell another client
 * holds and a Reconnect from another client; no recording holds Windows' text, so the text is the
 * lab's and the code E_FAIL.
 */
const internalError = (r: LabRequest, message: string): string =>
  faultResponse(r.messageId, 'InternalError', 0x80004005, message);

export class ShellSessions {
  private readonly sessions = new WeakMap<SessionShell, Session>();
  /** Enumeration contexts waiting for Pull (an Enumerate without OptimizeEnumeration). */
  private readonly enumerations = new Map<string, string>();
  private nextObjectId = 1n << 48n;

  /** Records a new shell (after Create): its client, idle timeout and pool sizes. */
  created(shell: SessionShell, r: LabRequest, creation: Uint8Array): void {
    const session: Session = {
      state: 'Connected',
      client: r.sessionId,
      resourceUri: r.resourceUri,
      created: Date.now(),
      idleTimeoutMs: durationMs(descendants(r.body, 'IdleTimeOut')[0]?.text),
      minRunspaces: 1,
      maxRunspaces: 1,
      capability: undefined,
      privateData: undefined,
      fromPwsh: new Defragmenter(),
      fromClient: new Defragmenter(),
      detach: new AbortController(),
    };
    this.sessions.set(shell, session);
    this.fromClient(shell, null, [creation]);
  }

  /** Pool messages the client sends (creationXml, Send): INIT_RUNSPACEPOOL and SET_MAX/MIN_RUNSPACES give the sizes. */
  fromClient(shell: SessionShell, target: string | null, chunks: readonly Uint8Array[]): void {
    const s = this.sessions.get(shell);
    if (!s || target !== null) return;
    for (const c of chunks) {
      for (const m of s.fromClient.push(c.slice())) {
        const msg = decodeMessage(m);
        if (msg.messageType === MessageType.InitRunspacePool) {
          const v = deserializeObject(msg.data) as Record<string, unknown>;
          s.minRunspaces = Number(v['MinRunspaces'] ?? 1);
          s.maxRunspaces = Number(v['MaxRunspaces'] ?? 1);
        } else if (
          msg.messageType === MessageType.SetMaxRunspaces ||
          msg.messageType === MessageType.SetMinRunspaces
        ) {
          const v = deserializeObject(msg.data) as Record<string, unknown>;
          const max = v['MaxRunspaces'];
          const min = v['MinRunspaces'];
          if (max !== undefined) s.maxRunspaces = Number(max);
          if (min !== undefined) s.minRunspaces = Number(min);
        }
      }
    }
  }

  /** Pool messages pwsh sends: its SESSION_CAPABILITY and APPLICATION_PRIVATE_DATA, kept for a later Connect. */
  fromPwsh(shell: SessionShell, target: string | null, chunks: readonly Uint8Array[]): void {
    const s = this.sessions.get(shell);
    if (!s || target !== null || (s.capability !== undefined && s.privateData !== undefined)) return;
    for (const c of chunks) {
      for (const m of s.fromPwsh.push(c.slice())) {
        const msg = decodeMessage(m);
        if (msg.messageType === MessageType.SessionCapability) s.capability = msg.data;
        else if (msg.messageType === MessageType.ApplicationPrivateData) s.privateData = msg.data;
      }
    }
  }

  /** Ends when the shell is disconnected: Receives waiting for pwsh stop waiting then. */
  detachSignal(shell: SessionShell): AbortSignal | undefined {
    return this.sessions.get(shell)?.detach.signal;
  }

  isDisconnected(shell: SessionShell): boolean {
    return this.sessions.get(shell)?.state === 'Disconnected';
  }

  /** The idle timeout of a disconnected shell (its Disconnect's, else its Create's); undefined while connected. */
  disconnectedIdleMs(shell: SessionShell): number | undefined {
    const s = this.sessions.get(shell);
    return s?.state === 'Disconnected' ? s.idleTimeoutMs : undefined;
  }

  /** True for requests on the shell or command resource itself (Get, Enumerate, Pull). */
  static handles(r: LabRequest): boolean {
    return (
      r.resourceUri === SHELL_RESOURCE_URI ||
      r.resourceUri === COMMAND_RESOURCE_URI ||
      r.action === `${WSEN}/Pull`
    );
  }

  /** Get / Enumerate / Pull of the shell resource: the caller's shells only, on this endpoint. */
  handleResource(r: LabRequest, user: string, exchange: boolean, all: Iterable<SessionShell>): string {
    const mine = [...all].filter((sh) => sh.user === user && sh.exchange === exchange);
    if (r.action === Action.Get && r.resourceUri === SHELL_RESOURCE_URI) {
      const shell = mine.find((sh) => sh.id === r.shellId?.toUpperCase());
      if (!shell) return invalidSelectors(r);
      return labEnvelope(`${Action.Get}Response`, r.messageId, this.shellXml(shell));
    }
    if (r.action === `${WSEN}/Enumerate`) {
      let items: string;
      if (r.resourceUri === COMMAND_RESOURCE_URI) {
        const filter = descendants(r.body, 'Selector').find((s) => attr(s, 'Name') === 'ShellId');
        const shell = mine.find((sh) => sh.id === filter?.text.trim().toUpperCase());
        if (!shell) return invalidSelectors(r);
        items = [...shell.commands]
          .map(
            (id) =>
              `<rsp:Command xmlns:rsp="${SHELL_RESOURCE_URI}"><rsp:CommandId>${id}</rsp:CommandId><rsp:CommandLine></rsp:CommandLine>` +
              `<rsp:CommandState>${shell.finished.has(id) ? 'Done' : 'Running'}</rsp:CommandState></rsp:Command>`,
          )
          .join('');
      } else {
        items = mine.map((sh) => this.shellXml(sh)).join('');
      }
      const enumerate = child(r.body, 'Enumerate');
      if (enumerate && !child(enumerate, 'OptimizeEnumeration')) {
        // WS-Enumeration without optimisation: the items come with the Pull.
        const context = `uuid:${crypto.randomUUID().toUpperCase()}`;
        this.enumerations.set(context, items);
        return labEnvelope(
          `${WSEN}/EnumerateResponse`,
          r.messageId,
          `<n:EnumerateResponse xmlns:n="${WSEN}"><n:EnumerationContext>${context}</n:EnumerationContext></n:EnumerateResponse>`,
        );
      }
      return labEnvelope(
        `${WSEN}/EnumerateResponse`,
        r.messageId,
        `<n:EnumerateResponse xmlns:n="${WSEN}"><n:EnumerationContext></n:EnumerationContext>` +
          `${items ? `<w:Items>${items}</w:Items>` : ''}<w:EndOfSequence/></n:EnumerateResponse>`,
      );
    }
    if (r.action === `${WSEN}/Pull`) {
      const context = descendants(r.body, 'EnumerationContext')[0]?.text.trim() ?? '';
      const items = this.enumerations.get(context);
      if (items === undefined) {
        return faultResponse(
          r.messageId,
          'InvalidEnumerationContext',
          2150858774,
          'The WS-Management service cannot process the request because the enumeration context is not valid.',
          { sender: true },
        );
      }
      this.enumerations.delete(context);
      return labEnvelope(
        `${WSEN}/PullResponse`,
        r.messageId,
        `<n:PullResponse xmlns:n="${WSEN}"><n:Items>${items}</n:Items><n:EndOfSequence/></n:PullResponse>`,
      );
    }
    return faultResponse(
      r.messageId,
      'ActionNotSupported',
      2150858771,
      `The action ${esc(r.action)} is not supported by the lab on ${esc(r.resourceUri)}.`,
    );
  }

  /** MS-WSMV 2.2.4.37 rsp:Shell, with the fields and forms Windows' Get and Enumerate answers carry. */
  private shellXml(shell: SessionShell): string {
    const s = this.sessions.get(shell);
    const now = Date.now();
    return (
      `<rsp:Shell xmlns:rsp="${SHELL_RESOURCE_URI}"><rsp:ShellId>${shell.id}</rsp:ShellId>` +
      `<rsp:ResourceUri>${esc(s?.resourceUri ?? '')}</rsp:ResourceUri><rsp:Owner>${esc(shell.user)}</rsp:Owner>` +
      `<rsp:ClientIP>127.0.0.1</rsp:ClientIP><rsp:ProcessId>${shell.connection.pid ?? 0}</rsp:ProcessId>` +
      `<rsp:IdleTimeOut>${seconds(s?.idleTimeoutMs ?? 7_200_000)}</rsp:IdleTimeOut><rsp:InputStreams>stdin pr</rsp:InputStreams>` +
      `<rsp:OutputStreams>stdout</rsp:OutputStreams><rsp:MaxIdleTimeOut>PT2147483.647S</rsp:MaxIdleTimeOut>` +
      `<rsp:Locale>en-US</rsp:Locale><rsp:DataLocale>en-US</rsp:DataLocale><rsp:CompressionMode>NoCompression</rsp:CompressionMode>` +
      `<rsp:ProfileLoaded>Yes</rsp:ProfileLoaded><rsp:Encoding>UTF8</rsp:Encoding><rsp:BufferMode>Block</rsp:BufferMode>` +
      `<rsp:State>${s?.state ?? 'Connected'}</rsp:State><rsp:ShellRunTime>${dayTime(now - (s?.created ?? now))}</rsp:ShellRunTime>` +
      `<rsp:ShellInactivity>${dayTime(now - shell.lastUsed)}</rsp:ShellInactivity><rsp:MemoryUsed>0MB</rsp:MemoryUsed>` +
      `<rsp:ChildProcesses>0</rsp:ChildProcesses></rsp:Shell>`
    );
  }

  /**
   * Disconnect, Reconnect and Connect on a shell, or the fault for a Command, Send, Receive or Signal
   * while it is disconnected; undefined for everything else (the lab handles it as before).
   */
  operate(r: LabRequest, shell: SessionShell): string | undefined {
    const s = this.sessions.get(shell);
    // Exchange's IIS-hosted endpoint: the lab refuses disconnecting (docs/guide.md says why).
    if (!s || shell.exchange) return undefined;
    switch (r.action) {
      case Action.Disconnect: {
        if (s.state === 'Connected') {
          s.state = 'Disconnected';
          // MS-WSMV 3.1.4.15: Receives in progress end now, with what is there; the rest waits.
          s.detach.abort(new DOMException('The shell was disconnected', 'TimeoutError'));
        }
        const idle = durationMs(descendants(r.body, 'IdleTimeOut')[0]?.text);
        if (idle !== undefined) s.idleTimeoutMs = idle;
        return emptyResponse(r.action, r.messageId);
      }
      case Action.Reconnect: {
        if (s.state === 'Connected') {
          // MS-WSMV 3.1.4.16: from the client that holds it, nothing to do; from another, a fault.
          return s.client === r.sessionId
            ? emptyResponse(r.action, r.messageId)
            : internalError(r, `The shell ${shell.id} is connected to another client.`);
        }
        this.attach(s, r.sessionId);
        return emptyResponse(r.action, r.messageId);
      }
      case Action.Connect: {
        const connect = child(r.body, 'Connect');
        const commandId = attr(connect, 'CommandId')?.toUpperCase();
        if (commandId !== undefined) {
          // A pipeline of the shell this client connected to (MS-PSRP 3.1.5.3.12): its output
          // comes with the next Receives.
          if (s.state !== 'Connected' || s.client !== r.sessionId) {
            return internalError(r, `Connect to the shell ${shell.id} before its commands.`);
          }
          if (!shell.commands.has(commandId)) return invalidSelectors(r);
          return emptyResponse(r.action, r.messageId, '<rsp:ConnectResponse/>');
        }
        if (s.state === 'Connected') {
          return internalError(
            r,
            `The shell ${shell.id} is connected to another client: disconnect it there first.`,
          );
        }
        this.attach(s, r.sessionId);
        return labEnvelope(
          'http://schemas.microsoft.com/wbem/wsman/1/windows/shell/ConnectResponse',
          r.messageId,
          `<rsp:ConnectResponse><rsp:InputStreams>stdin pr</rsp:InputStreams><rsp:OutputStreams>stdout</rsp:OutputStreams>` +
            `<connectResponseXml xmlns="${PSRP_NS}">${Buffer.from(this.connectAnswer(shell, s)).toString('base64')}</connectResponseXml></rsp:ConnectResponse>`,
        );
      }
      case Action.Command:
      case Action.Send:
      case Action.Receive:
      case Action.Signal:
        // MS-WSMV 3.1.4.15: no answers to a disconnected shell's operations until it is reconnected.
        return s.state === 'Disconnected'
          ? internalError(r, `The shell ${shell.id} is disconnected: reconnect or connect to it first.`)
          : undefined;
      default:
        return undefined;
    }
  }

  private attach(s: Session, client: string | undefined): void {
    s.state = 'Connected';
    s.client = client;
    s.detach = new AbortController();
  }

  /**
   * MS-PSRP 3.1.4.10.1: the server's SESSION_CAPABILITY and RUNSPACEPOOL_INIT_DATA for the Connect
   * answer; APPLICATION_PRIVATE_DATA goes first on the pool's Receive stream.
   */
  private connectAnswer(shell: SessionShell, s: Session): Uint8Array {
    const poolId = shell.id.toLowerCase();
    const message = (messageType: number, data: string): Uint8Array => {
      const bytes = encodeMessage({
        destination: 1,
        messageType,
        runspacePoolId: poolId,
        pipelineId: '',
        data,
      });
      return encodeFragment(fragmentMessage(this.nextObjectId++, bytes, bytes.length + 21)[0]!);
    };
    const capability =
      s.capability ??
      '<Obj RefId="0"><MS><Version N="protocolversion">2.3</Version><Version N="PSVersion">2.0</Version><Version N="SerializationVersion">1.1.0.1</Version></MS></Obj>';
    const init = `<Obj RefId="0"><MS><I32 N="MinRunspaces">${s.minRunspaces}</I32><I32 N="MaxRunspaces">${s.maxRunspaces}</I32></MS></Obj>`;
    if (s.privateData !== undefined) {
      const fresh = new ReceiveOutbox();
      fresh.push([message(MessageType.ApplicationPrivateData, s.privateData)]);
      const old = shell.outbox.get('');
      if (old && !old.empty) fresh.push([old.take(Number.MAX_SAFE_INTEGER)]);
      shell.outbox.set('', fresh);
    }
    const a = message(MessageType.SessionCapability, capability);
    const b = message(MessageType.RunspacePoolInitData, init);
    const out = new Uint8Array(a.length + b.length);
    out.set(a);
    out.set(b, a.length);
    return out;
  }
}
