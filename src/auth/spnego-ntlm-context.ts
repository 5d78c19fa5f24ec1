// RFC 4178 3.2 and 5 (SPNEGO negotiation and mechListMIC processing) with NTLM as the only
// mechanism, MS-SPNG 3.3.5.1 (NTLM RC4 key state for the mechListMIC and the first signed message),
// MS-SPNG's rule that a mechListMIC is mandatory when NTLM is both sides' first choice and the
// AUTHENTICATE_MESSAGE carries a MIC, and MS-NLMP 3.4.8/3.4.9 (GSS_GetMICEx/GSS_VerifyMICEx, which
// compute the mechListMIC).
//
// A sans-IO client context: tokens in, tokens out, like NtlmClientContext, whose NTLM messages it
// wraps:
//   1. initialToken(): NegTokenInit { mechTypes: [NTLMSSP], mechToken: NEGOTIATE } (RFC 2743 framed)
//   2. step(NegTokenResp { accept-incomplete, NTLMSSP, CHALLENGE })
//        → NegTokenResp { accept-incomplete, responseToken: AUTHENTICATE, mechListMIC }
//   3. step(NegTokenResp { accept-completed, mechListMIC }) → undefined: established.
import { AuthenticationError, InvalidStateError, ProtocolError } from '../errors.js';
import type { KeyStateOptions, NtlmSessionSecurity } from './ntlm-crypto.js';
import type { SealedMessage } from './sealing-context.js';
import { NtlmClientContext, type NtlmClientOptions } from './ntlm-context.js';
import { NtlmFlags } from './ntlm-messages.js';
import {
  decodeNegTokenResp,
  encodeMechTypeList,
  encodeNegTokenInit,
  encodeNegTokenResp,
  MechOid,
  type NegTokenResp,
} from './spnego.js';

export type SpnegoContextState = 'initial' | 'init-sent' | 'response-sent' | 'established' | 'failed';

/**
 * NTLM over SPNEGO (the HTTP `Negotiate` scheme as Windows and MIT's SPNEGO expect it).
 *
 * mechListMIC rules this client follows: it always sends one with the AUTHENTICATE when NTLM
 * negotiated signing (our AUTHENTICATE carries an NTLM MIC whenever the server sent a timestamp,
 * which makes it mandatory, and sending it otherwise is allowed by RFC 4178 5); once it has sent
 * one, the server's accept-completed must carry a mechListMIC that verifies, else
 * `AuthenticationError` `PSRP_SPNEGO_MIC_INVALID`. Both MICs consume NTLM sequence number 0 of their
 * direction and leave the RC4 key state untouched (MS-SPNG 3.3.5.1), so the first sealed message
 * carries sequence number 1.
 */
export class SpnegoNtlmClientContext {
  readonly mechanism = 'negotiate';
  readonly #ntlm: NtlmClientContext;
  /** DER MechTypeList exactly as sent: what both mechListMICs are computed over. */
  readonly #mechTypeList = encodeMechTypeList([MechOid.NTLMSSP]);
  #state: SpnegoContextState = 'initial';
  #sentMic = false;

  constructor(options: NtlmClientOptions) {
    this.#ntlm = new NtlmClientContext(options);
  }

  get state(): SpnegoContextState {
    return this.#state;
  }

  get established(): boolean {
    return this.#state === 'established';
  }

  /** The wrapped NTLM context (user, domain, negotiated flags). */
  get ntlm(): NtlmClientContext {
    return this.#ntlm;
  }

  /** Step 1: NegTokenInit offering NTLMSSP only, with the NTLM NEGOTIATE as the optimistic token. */
  initialToken(): Buffer {
    if (this.#state !== 'initial')
      throw new InvalidStateError('send a NegTokenInit', this.#state, ['initial']);
    const negotiate = this.#ntlm.negotiate();
    this.#state = 'init-sent';
    return encodeNegTokenInit({ mechTypes: [MechOid.NTLMSSP], mechToken: negotiate });
  }

  /**
   * Steps 2 and 3: takes the server's NegTokenResp and returns the next token to send, or
   * `undefined` when the context is established. Malformed tokens throw `ProtocolError`
   * `PSRP_SPNEGO_INVALID` (or `PSRP_NTLM_MESSAGE_INVALID` for the NTLM message inside); a reject
   * or another mechanism throws `AuthenticationError` `PSRP_SPNEGO_REJECTED`; a missing or wrong
   * server mechListMIC throws `AuthenticationError` `PSRP_SPNEGO_MIC_INVALID`. After any error the
   * context is `failed`.
   */
  step(serverToken: Uint8Array | undefined, channelBindings?: Uint8Array): Buffer | undefined {
    const state = this.#state;
    if (state !== 'init-sent' && state !== 'response-sent') {
      throw new InvalidStateError('process a SPNEGO NegTokenResp', state, ['init-sent', 'response-sent']);
    }
    this.#state = 'failed';
    const resp = serverToken === undefined ? undefined : decodeNegTokenResp(serverToken);
    if (resp?.negState === 'reject')
      throw rejected('the server rejected the authentication (negState reject)');
    if (state === 'init-sent') {
      if (!resp) throw malformed('the server sent no NegTokenResp', 'NegTokenResp');
      const out = this.#answerChallenge(resp, channelBindings);
      this.#state = 'response-sent';
      return out;
    }
    this.#finish(resp);
    this.#state = 'established';
    return undefined;
  }

  /** RFC 4178 4.2.2: the first reply must name the mechanism and carry the NTLM CHALLENGE. */
  #answerChallenge(resp: NegTokenResp, channelBindings: Uint8Array | undefined): Buffer {
    if (resp.negState === undefined) throw malformed('the first NegTokenResp has no negState', 'negState');
    if (resp.negState === 'accept-completed')
      throw malformed('the server completed SPNEGO before NTLM could authenticate', 'negState');
    if (resp.supportedMech === undefined)
      throw malformed('the first NegTokenResp has no supportedMech', 'supportedMech');
    if (resp.supportedMech !== MechOid.NTLMSSP)
      throw rejected(`the server selected mechanism ${resp.supportedMech}, but only NTLM was offered`);
    if (resp.responseToken === undefined)
      throw malformed('the first NegTokenResp carries no NTLM CHALLENGE', 'responseToken');

    const authenticate = this.#ntlm.authenticate(resp.responseToken, channelBindings);
    let mechListMIC: Buffer | undefined;
    if (this.#ntlm.negotiatedFlags & NtlmFlags.NEGOTIATE_SIGN) {
      mechListMIC = this.#ntlm.sign(this.#mechTypeList, { restoreKeyState: true });
      this.#sentMic = true;
    }
    return encodeNegTokenResp({
      negState: 'accept-incomplete',
      responseToken: authenticate,
      ...(mechListMIC ? { mechListMIC } : {}),
    });
  }

  /** RFC 4178 5: the final reply completes the negotiation and proves the mechanism list. */
  #finish(resp: NegTokenResp | undefined): void {
    if (resp && resp.negState !== undefined && resp.negState !== 'accept-completed') {
      throw malformed(`the server answered the AUTHENTICATE with negState ${resp.negState}`, 'negState');
    }
    if (resp?.responseToken !== undefined && resp.responseToken.length > 0)
      throw malformed('NTLM has no token after AUTHENTICATE', 'responseToken');
    const mic = resp?.mechListMIC;
    if (mic === undefined) {
      if (this.#sentMic)
        throw badMic('the server did not send the mechListMIC that proves the negotiated mechanism list');
      return;
    }
    if (!(this.#ntlm.negotiatedFlags & NtlmFlags.NEGOTIATE_SIGN))
      throw badMic('the server sent a mechListMIC but NTLM did not negotiate signing');
    try {
      this.#ntlm.verify(this.#mechTypeList, mic, { restoreKeyState: true });
    } catch (err) {
      if (err instanceof ProtocolError && err.code === 'PSRP_NTLM_SIGNATURE_INVALID')
        throw badMic('the server mechListMIC does not verify (tampered negotiation or wrong session)', err);
      throw err;
    }
  }

  /** NTLM session security (after `established`). */
  get security(): NtlmSessionSecurity {
    this.#requireEstablished('use SPNEGO session security');
    return this.#ntlm.security;
  }

  /** MS-NLMP 3.4.6 GSS_WrapEx through the negotiated NTLM context. */
  seal(plaintext: Uint8Array): SealedMessage<Buffer> {
    this.#requireEstablished('seal');
    return this.#ntlm.seal(plaintext);
  }

  /** MS-NLMP 3.4.7 GSS_UnwrapEx through the negotiated NTLM context. */
  unseal(signature: Uint8Array, sealed: Uint8Array): Buffer {
    this.#requireEstablished('unseal');
    return this.#ntlm.unseal(signature, sealed);
  }

  /** MS-NLMP 3.4.8 GSS_GetMICEx. */
  sign(message: Uint8Array, options?: KeyStateOptions): Buffer {
    this.#requireEstablished('sign');
    return this.#ntlm.sign(message, options);
  }

  /** MS-NLMP 3.4.9 GSS_VerifyMICEx. */
  verify(message: Uint8Array, signature: Uint8Array, options?: KeyStateOptions): void {
    this.#requireEstablished('verify');
    this.#ntlm.verify(message, signature, options);
  }

  #requireEstablished(action: string): void {
    if (this.#state !== 'established') throw new InvalidStateError(action, this.#state, ['established']);
  }

  toJSON(): { mechanism: string; user: string; domain: string; state: SpnegoContextState } {
    return {
      mechanism: this.mechanism,
      user: this.#ntlm.user,
      domain: this.#ntlm.domain,
      state: this.#state,
    };
  }
}

function malformed(message: string, element: string): ProtocolError {
  return new ProtocolError(`Invalid SPNEGO exchange: ${message}`, { code: 'PSRP_SPNEGO_INVALID', element });
}

function rejected(message: string): AuthenticationError {
  return new AuthenticationError(`SPNEGO: ${message}`, {
    mechanism: 'negotiate',
    code: 'PSRP_SPNEGO_REJECTED',
  });
}

function badMic(message: string, cause?: unknown): AuthenticationError {
  return new AuthenticationError(`SPNEGO: ${message}`, {
    mechanism: 'negotiate',
    code: 'PSRP_SPNEGO_MIC_INVALID',
    ...(cause === undefined ? {} : { cause }),
  });
}
