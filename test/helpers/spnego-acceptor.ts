// A test-only HTTP `Negotiate` acceptor over TestNtlmAcceptor: takes SPNEGO-wrapped NTLM (RFC 4178,
// MS-SPNG: NegTokenInit → accept-incomplete + CHALLENGE → AUTHENTICATE + mechListMIC →
// accept-completed + mechListMIC) or raw NTLMSSP tokens, answering in the form it was given, as
// Windows does. Built from psrp's own primitives, so it proves consistency, not interoperability
// (test/auth/spnego-gss-interop.test.ts does that against MIT krb5 and gss-ntlmssp).
import {
  decodeNegTokenInit,
  decodeNegTokenResp,
  encodeNegTokenResp,
  MechOid,
} from '../../src/auth/spnego.js';
import { TestNtlmAcceptor, type TestAcceptorOptions } from './ntlm-acceptor.js';

export interface TestSpnegoOptions extends TestAcceptorOptions {
  /** Answer the AUTHENTICATE without a mechListMIC. */
  readonly omitMechListMic?: boolean;
  /** Flip a bit of the server's mechListMIC. */
  readonly corruptMechListMic?: boolean;
  /** Refuse a client that sent no mechListMIC (as MS-SPNG requires when NTLM carried a MIC). */
  readonly requireMechListMic?: boolean;
}

export class TestSpnegoAcceptor {
  readonly ntlm: TestNtlmAcceptor;
  readonly #o: TestSpnegoOptions;
  #mechTypeList: Buffer | undefined;
  /** 'spnego' or 'raw' once the first token arrived. */
  form: 'spnego' | 'raw' | undefined;
  /** Whether the client's mechListMIC was present and verified. */
  clientMicVerified = false;

  constructor(options: TestSpnegoOptions) {
    this.#o = options;
    this.ntlm = new TestNtlmAcceptor(options);
  }

  /** Processes one client token; returns the server's token and whether the context is complete. Throws when refused. */
  accept(token: Buffer): { token: Buffer | undefined; complete: boolean } {
    if (token.subarray(0, 8).toString('latin1') === 'NTLMSSP\0') {
      this.form = 'raw';
      if (token.readUInt32LE(8) === 1) return { token: this.ntlm.challenge(token), complete: false };
      this.ntlm.accept(token);
      return { token: undefined, complete: true };
    }
    if (token[0] === 0x60) {
      this.form = 'spnego';
      const init = decodeNegTokenInit(token);
      if (init.mechTypes[0] !== MechOid.NTLMSSP || !init.mechToken) throw new Error('NTLM not offered first');
      this.#mechTypeList = init.mechTypeList;
      const challenge = this.ntlm.challenge(init.mechToken);
      return {
        token: encodeNegTokenResp({
          negState: 'accept-incomplete',
          supportedMech: MechOid.NTLMSSP,
          responseToken: challenge,
        }),
        complete: false,
      };
    }
    const resp = decodeNegTokenResp(token);
    if (!this.#mechTypeList || !resp.responseToken) throw new Error('unexpected NegTokenResp');
    this.ntlm.accept(resp.responseToken);
    const security = this.ntlm.security;
    if (resp.mechListMIC) {
      security.verify(this.#mechTypeList, resp.mechListMIC, { restoreKeyState: true });
      this.clientMicVerified = true;
    } else if (this.#o.requireMechListMic) {
      throw new Error('mechListMIC required');
    }
    let mechListMIC: Buffer | undefined;
    if (!this.#o.omitMechListMic) {
      mechListMIC = security.sign(this.#mechTypeList, { restoreKeyState: true });
      if (this.#o.corruptMechListMic) mechListMIC[6]! ^= 0x01;
    }
    return {
      token: encodeNegTokenResp({ negState: 'accept-completed', ...(mechListMIC ? { mechListMIC } : {}) }),
      complete: true,
    };
  }
}
