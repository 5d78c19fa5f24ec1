// MS-WSMV 2.2.9.1.1.2.2: an encrypted part carries a header (the NTLM Message Signature of
// MS-NLMP 3.4.4, or the Kerberos wrap token header of RFC 4121 4.2.6.2) and the sealed data.
/**
 * The one sealing interface of psrp: what WinRM message encryption (src/http/message-encryption.ts)
 * frames, what the NTLM, Negotiate and Kerberos authenticators hand the transport, and what the
 * lab's acceptors implement. It lives in auth/ because the mechanisms implement it and auth/ is
 * below http/ (mechanisms know no transport).
 */

/** A value, or a promise of it: native GSSAPI steps run on a worker thread. */
export type MaybePromise<T> = T | Promise<T>;

/** One wrapped message: the signature or token header, and the encrypted bytes. */
export interface SealedMessage<B extends Uint8Array = Uint8Array> {
  readonly header: B;
  readonly data: B;
}

/**
 * A security context that can wrap and unwrap messages (NTLM sealing, Kerberos GSS wrap). The
 * methods may be asynchronous (a native GSSAPI binding runs them on a worker thread); calls are
 * made one at a time per context, in message order, because both sides count sequence numbers.
 */
export interface SealingContext {
  /** `application/HTTP-SPNEGO-session-encrypted`, `application/HTTP-Kerberos-session-encrypted`, ... */
  readonly protocol: string;
  seal(plaintext: Uint8Array): MaybePromise<SealedMessage>;
  unseal(header: Uint8Array, data: Uint8Array): MaybePromise<Uint8Array>;
}
