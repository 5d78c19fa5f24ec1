/**
 * The `ca` option (PEM text or a Buffer, or a list of them: CAs to trust besides the system's) as
 * the list undici's `connect.ca` and `tls.connect` take. One normaliser for every caller: the
 * transport, and the Exchange layer's diagnosis (through the public surface).
 */
import type { Pem } from './transport-options.js';

/** `ca` as a list (empty when undefined). */
export function caList(ca: Pem | readonly Pem[] | undefined): Pem[] {
  return ca === undefined ? [] : Array.isArray(ca) ? [...(ca as readonly Pem[])] : [ca as Pem];
}
