/**
 * `deadline()`: the end-to-end time limit of `RunspacePool.open()` (`openTimeoutMs`) and of one
 * pipeline run (`timeoutMs`), as an AbortSignal whose reason is the typed `TimeoutError`.
 */
import { TimeoutError } from '../errors.js';

/**
 * An AbortSignal that aborts with a `TimeoutError` (code `PSRP_TIMEOUT`) after `ms`, and a `clear`
 * to call when the guarded work is over (its timer must not outlive it).
 */
export function deadline(ms: number, stage: 'open' | 'invoke', url: string | undefined, option: string): { signal: AbortSignal; clear: () => void } {
  const controller = new AbortController();
  const timer = setTimeout(() => {
    controller.abort(
      new TimeoutError(`${stage === 'open' ? 'Opening the runspace pool' : 'The pipeline'}${url ? ` at ${url}` : ''} did not complete within ${ms} ms (${option})`, {
        stage,
        url,
        timeoutMs: ms,
        hint: `Raise \`${option}\`, or check the server: it accepted the requests but did not finish in time.`,
      }),
    );
  }, ms);
  // Like AbortSignal.timeout: an abandoned stream() must not keep the process alive.
  timer.unref?.();
  return { signal: controller.signal, clear: () => clearTimeout(timer) };
}
