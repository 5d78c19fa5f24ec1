/**
 * The lab's WS-Man Receive from a PowerShell shell (MS-WSMV 3.1.4.14): output of the shell or of one
 * command, waited for up to the OperationTimeout (then a TimedOut fault, as WinRM), gathered a
 * moment as WinRM fills an envelope, and never more than the client's MaxEnvelopeSize.
 */
import { attr, descendants } from '../internal/xml-tree.js';
import { effectiveTimeoutMs, quota, responseEnvelopeLimit } from './lab-quotas.js';
import { ReceiveOutbox } from './receive-outbox.js';
import type { LabShell as Shell } from './shell-registry.js';
import type { WSManHandlerContext } from './wsman-handler.js';
import { faultResponse, receiveResponse, type LabRequest } from './wsman-server-codec.js';

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
      await pull(timeout);
      // A stream of output (a whole pwsh fragment or more) gathers what follows for a moment,
      // as WinRM fills an envelope rather than answering with each fragment.
      const more = (): Promise<boolean> =>
        pull(15).then(
          () => true,
          (e: Error) => (e.name === 'TimeoutError' ? false : Promise.reject(e)),
        );
      while (outbox.pendingBytes >= 32 * 1024 && outbox.pendingBytes < room && (await more()));
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
