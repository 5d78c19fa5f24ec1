// MS-WSMV 2.2.9.1.1.2.2 (for NTLM the encryption header is the Message Signature) over
// MS-NLMP 3.4.6 GSS_WrapEx / 3.4.7 GSS_UnwrapEx.
/**
 * NTLM session security as the SealingContext that WinRM message encryption
 * (src/http/message-encryption.ts) frames: the 16-byte NTLM signature is the part's header, the
 * RC4-sealed bytes its data. NTLM contexts already seal and unseal in that shape; this only adds
 * the protocol name.
 */
import type { SealedMessage, SealingContext } from './sealing-context.js';

/** Anything that seals and unseals like an established NTLM context (NtlmClientContext, SpnegoNtlmClientContext, an acceptor): synchronous. */
export interface NtlmSealer {
  seal(plaintext: Uint8Array): SealedMessage;
  unseal(header: Uint8Array, data: Uint8Array): Uint8Array;
}

/** An NTLM context as a SealingContext whose calls return at once. */
export type NtlmSealingContext = NtlmSealer & SealingContext;

export function ntlmSealingContext(
  context: NtlmSealer,
  protocol = 'application/HTTP-SPNEGO-session-encrypted',
): NtlmSealingContext {
  return {
    protocol,
    seal: (plaintext) => context.seal(plaintext),
    unseal: (header, data) => context.unseal(header, data),
  };
}
