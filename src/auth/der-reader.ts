// ITU-T X.690 DER: 8.1.2 identifier octets (single-octet tags only), 8.1.3 definite lengths (short
// and long form), 8.3 INTEGER, 8.7 OCTET STRING; X.680 8.4 tags (universal, application, context).
/**
 * A minimal, strict, bounds-checked DER reader for the Kerberos and GSS-API structures psrp reads
 * (RFC 4120 messages, RFC 2743 token framing, RFC 4178 NegotiationToken). Not a general ASN.1
 * library: no high tag numbers, no indefinite lengths, at most 4 length octets. Every failure goes
 * through the `fail` callback the caller gives (so each codec throws its own typed error); it never
 * reads past its window and never throws a RangeError.
 */

/** One TLV: its tag octet, its contents, and where it started in the whole input. */
export interface DerElement {
  readonly tag: number;
  readonly value: Uint8Array;
  readonly offset: number;
}

export class DerReader {
  readonly #bytes: Uint8Array;
  #pos: number;
  readonly #end: number;
  readonly #fail: (message: string) => Error;

  constructor(bytes: Uint8Array, fail: (message: string) => Error, start = 0, end = bytes.length) {
    this.#bytes = bytes;
    this.#pos = start;
    this.#end = end;
    this.#fail = fail;
  }

  /** Throws the caller's error, with the offset. */
  fail(message: string): never {
    throw this.#fail(`${message} (at byte ${this.#pos})`);
  }

  get atEnd(): boolean {
    return this.#pos >= this.#end;
  }

  /** The next tag octet, or undefined at the end of this window. */
  peekTag(): number | undefined {
    return this.atEnd ? undefined : this.#bytes[this.#pos];
  }

  /** Reads the next TLV. */
  read(what: string): DerElement {
    const offset = this.#pos;
    if (this.#end - this.#pos < 2) this.fail(`${what}: truncated`);
    const tag = this.#bytes[this.#pos]!;
    if ((tag & 0x1f) === 0x1f) this.fail(`${what}: high tag numbers are not used here`);
    let p = this.#pos + 1;
    let len = this.#bytes[p++]!;
    if (len & 0x80) {
      const n = len & 0x7f;
      if (n === 0) this.fail(`${what}: indefinite length is not DER`);
      if (n > 4) this.fail(`${what}: length of ${n} octets`);
      if (this.#end - p < n) this.fail(`${what}: truncated length`);
      len = 0;
      for (let i = 0; i < n; i++) len = len * 256 + this.#bytes[p++]!;
    }
    if (len > this.#end - p) this.fail(`${what}: ${len} bytes announced, ${this.#end - p} left`);
    this.#pos = p + len;
    return { tag, value: this.#bytes.subarray(p, p + len), offset };
  }

  /** Reads the next TLV, which must have tag `tag`, and returns a reader over its contents. */
  enter(tag: number, what: string): DerReader {
    const t = this.peekTag();
    if (t !== tag)
      this.fail(
        `${what}: expected tag 0x${tag.toString(16)}, found ${t === undefined ? 'the end' : `0x${t.toString(16)}`}`,
      );
    const e = this.read(what);
    const start = e.value.byteOffset - this.#bytes.byteOffset;
    return new DerReader(this.#bytes, this.#fail, start, start + e.value.length);
  }

  /** Like {@link enter} when the next tag is `tag`, else undefined (an absent OPTIONAL field). */
  optional(tag: number, what: string): DerReader | undefined {
    return this.peekTag() === tag ? this.enter(tag, what) : undefined;
  }

  /** The bytes of this window that are not read yet. */
  rest(): Uint8Array {
    const r = this.#bytes.subarray(this.#pos, this.#end);
    this.#pos = this.#end;
    return r;
  }

  /** Throws unless everything in this window was read. */
  done(what: string): void {
    if (!this.atEnd) this.fail(`${what}: ${this.#end - this.#pos} unexpected trailing bytes`);
  }

  /** Skips any remaining fields (for extensible SEQUENCEs whose tail is not needed). */
  skipRest(): void {
    while (!this.atEnd) this.read('field');
  }

  /** INTEGER (X.690 8.3), as a number; at most 5 octets (enough for Int32 and UInt32). */
  integer(what: string): number {
    const e = this.read(what);
    if (e.tag !== 0x02) this.fail(`${what}: not an INTEGER`);
    if (e.value.length === 0 || e.value.length > 5) this.fail(`${what}: INTEGER of ${e.value.length} octets`);
    let n = e.value[0]! & 0x80 ? -1 : 0;
    for (const b of e.value) n = n * 256 + b;
    return n;
  }

  /** ENUMERATED (X.690 8.4), as a number. */
  enumerated(what: string): number {
    if (this.peekTag() !== 0x0a) this.fail(`${what}: not an ENUMERATED`);
    const e = this.read(what);
    if (e.value.length === 0 || e.value.length > 4)
      this.fail(`${what}: ENUMERATED of ${e.value.length} octets`);
    let n = 0;
    for (const b of e.value) n = n * 256 + b;
    return n;
  }

  /** The contents of a primitive element with `tag` (OCTET STRING 0x04, GeneralString 0x1b, ...). */
  primitive(tag: number, what: string): Uint8Array {
    const e = this.read(what);
    if (e.tag !== tag)
      this.fail(`${what}: expected tag 0x${tag.toString(16)}, found 0x${e.tag.toString(16)}`);
    return e.value;
  }
}
