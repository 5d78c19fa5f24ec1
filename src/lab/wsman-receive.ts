/**
 * The lab's WS-Man Receive from a PowerShell shell (MS-WSMV 3.1.4.14): output of the shell or of one
 * command, waited for up to the OperationTimeout (then a TimedOut fault, as WinRM), a command's
 * output held to fill the envelope as WinRM holds unflushed data, and never more than the client's
 * MaxEnvelopeSize.
 */
import { attr, descendants } from '../internal/xml-tree.js';
import { effectiveTimeoutMs, quota, responseEnvelopeLimit } from './lab-quotas.js';
import { ReceiveOutbox } from './receive-outbox.js';
import type { LabShell as Shell } from './shell-registry.js';
import type { WSManHandlerContext } from './wsman-handler.js';
import { faultResponse, receiveResponse, type LabRequest } from './wsman-server-codec.js';

/**
 * How long a gathering Receive waits for the next chunk of output before it answers. This bound and
 * GATHER_MAX_MS are the lab's own: how long WinRM holds unflushed data is neither documented nor
 * recorded.
 */
const GATHER_IDLE_MS = 15;
/** The longest a command's Receive holds output to fill its envelope, from the first chunk. */
const GATHER_MAX_MS = 250;

/** Answer a Receive: a ReceiveResponse, a TimedOut fault or a quota fault. */
export async function receiveFromShell(
  context: WSManHandlerContext,
  r: LabRequest,
  shell: Shell,
): Promise<string> {
  const { registry, sessions, limits } = context;
  const commandId = attr(descendants(r.body, 'DesiredStream')[0], 'CommandId')?.toUpperCase();
  const target = commandId ?? null;
  const envelope = responseEnvelopeLimit(limits, r.maxEnvelopeSize);
  if (typeof envelope !== 'number') return quota(r, envelope);
  let outbox = shell.outbox.get(commandId ?? '');
  if (!outbox) shell.outbox.set(commandId ?? '', (outbox = new ReceiveOutbox()));
  // Never more than the client's MaxEnvelopeSize: the base64 of the fragments plus the
  // envelope around them (measured with the longer CommandState, Running).
  const overhead = Buffer.byteLength(receiveResponse(r.messageId, commandId, [new Uint8Array(0)], false));
  const room = Math.floor((envelope - overhead) / 4) * 3;
  const timeout = Math.max(100, effectiveTimeoutMs(limits, r.operationTimeoutMs) - 50);
  const pull = async (ms: number): Promise<void> => {
    const detached = sessions.detachSignal(shell);
    const signal = detached ? AbortSignal.any([AbortSignal.timeout(ms), detached]) : AbortSignal.timeout(ms);
    const chunk = await shell.connection.receive(target, { signal });
    if (commandId) registry.track(shell, commandId, chunk.data);
    else sessions.fromPwsh(shell, null, chunk.data);
    outbox.push(chunk.data);
  };
  try {
    if (outbox.empty) {
      if (commandId && shell.finished.has(commandId))
        return receiveResponse(r.messageId, commandId, [], true);
      const asked = Date.now();
      await pull(timeout);
      const more = (): Promise<boolean> =>
        pull(GATHER_IDLE_MS).then(
          () => true,
          (e: Error) => (e.name === 'TimeoutError' ? false : Promise.reject(e)),
        );
      if (commandId) {
        // A command's output is held to fill the envelope, as Windows does: PowerShell's server
        // queues pipeline data (output, streams, the final state) without a flush, so that WinRM
        // can "collect as much data as possible and send bigger buffer to client", and WinRM holds
        // unflushed data "in order to maximise the size of the response packet"
        // (WSMAN_FLAG_RECEIVE_FLUSH, wsman.h). So: gather while more follows within
        // GATHER_IDLE_MS, until the envelope is full, the command has ended, or GATHER_MAX_MS
        // have passed since the first chunk (never past the OperationTimeout).
        const until = Math.min(Date.now() + GATHER_MAX_MS, asked + timeout);
        while (
          outbox.pendingBytes < room &&
          !shell.finished.has(commandId) &&
          Date.now() < until &&
          (await more())
        );
      } else {
        // The pool's own messages are sent with a flush; a large one (a whole pwsh fragment or
        // more) still gathers what follows for a moment.
        while (outbox.pendingBytes >= 32 * 1024 && outbox.pendingBytes < room && (await more()));
      }
    }
    const data = outbox.take(room);
    const done = commandId !== undefined && shell.finished.has(commandId) && outbox.empty;
    return receiveResponse(r.messageId, commandId, data.length > 0 ? [data] : [], done);
  } catch (e) {
    if ((e as Error).name === 'TimeoutError') {
      return faultResponse(
        r.messageId,
        'TimedOut',
        2150858793,
        'The WS-Management service cannot complete the operation within the time specified in OperationTimeout.',
      );
    }
    throw e;
  }
}
