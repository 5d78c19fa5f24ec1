// MS-WSMV 2.2.9.1.1.2.2 (for NTLM the encryption header is the Message Signature) over
// MS-NLMP 3.4.6 GSS_WrapEx / 3.4.7 GSS_UnwrapEx.
/**
 * NTLM session security as the SealingContext that WinRM message encryption (src/wsman) frames:
 * the 16-byte NTLM signature is the part's header, the RC4-sealed bytes its data.
 */
import type { SealedMessage } from './ntlm-crypto.js';

/** The shape of wsman's SealingContext (structural: src/auth imports nothing above it). */
export interface NtlmSealingContext {
  readonly protocol: string;
  seal(plaintext: Uint8Array): { readonly header: Uint8Array; readonly data: Uint8Array };
  unseal(header: Uint8Array, data: Uint8Array): Uint8Array;
}

/** Anything that seals and unseals like an established NTLM context (NtlmClientContext, SpnegoNtlmClientContext, an acceptor). */
export interface NtlmSealer {
  seal(plaintext: Uint8Array): SealedMessage;
  unseal(sealed: Uint8Array, signature: Uint8Array): Uint8Array;
}

export function ntlmSealingContext(
  context: NtlmSealer,
  protocol = 'application/HTTP-SPNEGO-session-encrypted',
): NtlmSealingContext {
  return {
    protocol,
    seal(plaintext) {
      const { signature, sealed } = context.seal(plaintext);
      return { header: signature, data: sealed };
    },
    unseal(header, data) {
      return context.unseal(data, header);
    },
  };
}
