// MS-PSRP 2.2.5.1 Serialization of Primitive Type Objects — the JS classes for values JavaScript
// cannot express exactly.
import { MAX_NUMBER_LITERAL, isDecimalText } from './number-text.js';

const inspectCustom = Symbol.for('nodejs.util.inspect.custom');

/** Primitive CLIXML element names (MS-PSRP 2.2.5.1.x). */
export type PrimitiveTag =
  | 'S' | 'C' | 'B' | 'DT' | 'TS' | 'By' | 'SB' | 'U16' | 'I16' | 'U32' | 'I32' | 'U64' | 'I64'
  | 'Sg' | 'Db' | 'D' | 'BA' | 'G' | 'URI' | 'Nil' | 'Version' | 'XD' | 'SBK' | 'SS';

/**
 * A value with an explicit CLIXML primitive type, for sending an exact .NET type (`<I64>`, `<By>`,
 * `<G>` …) and for lossless reads with `preserveTypes: true`. `value` is a number for the small
 * integer types and Sg, a bigint for I64/U64, and a string for C (one UTF-16 unit), G, URI,
 * Version, XD and SBK.
 */
export class PSTypedValue<T extends PrimitiveTag = PrimitiveTag> {
  constructor(
    readonly type: T,
    readonly value: T extends 'I64' | 'U64' ? bigint : T extends 'By' | 'SB' | 'U16' | 'I16' | 'U32' | 'Sg' ? number : string,
  ) {}
  toString(): string {
    return String(this.value);
  }
  toJSON(): string | number {
    return typeof this.value === 'bigint' ? this.value.toString() : this.value;
  }
  valueOf(): string | number | bigint {
    return this.value;
  }
}

/** Factories for exact .NET types: `ps.int64(5n)`, `ps.guid('…')`, `ps.char('a')` … */
export const ps = {
  byte: (n: number): PSTypedValue<'By'> => new PSTypedValue('By', n),
  sbyte: (n: number): PSTypedValue<'SB'> => new PSTypedValue('SB', n),
  int16: (n: number): PSTypedValue<'I16'> => new PSTypedValue('I16', n),
  uint16: (n: number): PSTypedValue<'U16'> => new PSTypedValue('U16', n),
  uint32: (n: number): PSTypedValue<'U32'> => new PSTypedValue('U32', n),
  int64: (n: bigint | number): PSTypedValue<'I64'> => new PSTypedValue('I64', BigInt(n)),
  uint64: (n: bigint | number): PSTypedValue<'U64'> => new PSTypedValue('U64', BigInt(n)),
  single: (n: number): PSTypedValue<'Sg'> => new PSTypedValue('Sg', n),
  char: (c: string): PSTypedValue<'C'> => new PSTypedValue('C', c),
  guid: (g: string): PSTypedValue<'G'> => new PSTypedValue('G', g),
  uri: (u: string): PSTypedValue<'URI'> => new PSTypedValue('URI', u),
  version: (v: string): PSTypedValue<'Version'> => new PSTypedValue('Version', v),
  xml: (x: string): PSTypedValue<'XD'> => new PSTypedValue('XD', x),
  scriptBlock: (s: string): PSTypedValue<'SBK'> => new PSTypedValue('SBK', s),
};

/**
 * `<DT>` (MS-PSRP 2.2.5.1.4): a Date that also keeps the exact text, because .NET DateTime has
 * 100 ns ticks and a kind/offset that a JS Date loses. Serializing it writes `text` back unchanged
 * unless the Date was mutated.
 */
export class PSDateTime extends Date {
  /** The xs:dateTime text as received, e.g. `2021-09-28T09:53:39.1234567-07:00`. */
  readonly text: string;
  /** 100 ns ticks below the millisecond (0–9999) that the Date cannot hold. */
  readonly subMillisecondTicks: number;
  /** `utc` (Z), `offset` (±hh:mm) or `unspecified` (no zone: read as UTC). */
  readonly kind: 'utc' | 'offset' | 'unspecified';
  /** The epoch milliseconds when read; if the Date is changed later, the text is regenerated. */
  readonly originalTime: number;

  constructor(epochMs: number, text: string, subMillisecondTicks: number, kind: 'utc' | 'offset' | 'unspecified') {
    super(epochMs);
    this.originalTime = epochMs;
    this.text = text;
    this.subMillisecondTicks = subMillisecondTicks;
    this.kind = kind;
  }
}

/** `<TS>` (MS-PSRP 2.2.5.1.5): a .NET TimeSpan as exact 100 ns ticks. */
export class PSDuration {
  constructor(readonly ticks: bigint) {}
  static fromMilliseconds(ms: number): PSDuration {
    return new PSDuration(BigInt(Math.round(ms * 10_000)));
  }
  get milliseconds(): number {
    return Number(this.ticks) / 10_000;
  }
  /** xs:duration text as PowerShell writes it, e.g. `PT9.0269026S`, `-P1DT2H`. */
  toString(): string {
    let t = this.ticks < 0n ? -this.ticks : this.ticks;
    const sign = this.ticks < 0n ? '-' : '';
    const days = t / 864_000_000_000n;
    t %= 864_000_000_000n;
    const h = t / 36_000_000_000n;
    t %= 36_000_000_000n;
    const m = t / 600_000_000n;
    t %= 600_000_000n;
    const s = t / 10_000_000n;
    const frac = t % 10_000_000n;
    let out = `${sign}P${days > 0n ? `${days}D` : ''}`;
    if (h > 0n || m > 0n || s > 0n || frac > 0n || days === 0n) {
      out += 'T';
      if (h > 0n) out += `${h}H`;
      if (m > 0n) out += `${m}M`;
      if (s > 0n || frac > 0n || (h === 0n && m === 0n)) {
        out += frac > 0n ? `${s}.${frac.toString().padStart(7, '0').replace(/0+$/, '')}S` : `${s}S`;
      }
    }
    return out;
  }
  toJSON(): string {
    return this.toString();
  }
}

/** `<D>` (MS-PSRP 2.2.5.1.16): a .NET Decimal kept as its exact decimal text. */
export class PSDecimal {
  readonly text: string;
  constructor(text: string | number | bigint) {
    const t = String(text).trim();
    if (t.length > MAX_NUMBER_LITERAL || !isDecimalText(t, true)) throw new TypeError(`Not a decimal number: ${t.slice(0, 40)}`);
    this.text = t;
  }
  toString(): string {
    return this.text;
  }
  toJSON(): string {
    return this.text;
  }
  valueOf(): number {
    return Number(this.text);
  }
}

/**
 * An enum value (MS-PSRP 2.2.5.2.x: `<Obj>` with TN ending System.Enum, ToString = name, and the
 * underlying integer). Prints and serializes to JSON as its name; `value` is the number.
 */
export class PSEnumValue {
  constructor(
    readonly value: number,
    readonly name: string,
    readonly typeNames: readonly string[],
  ) {}
  toString(): string {
    return this.name;
  }
  toJSON(): string {
    return this.name;
  }
  valueOf(): number {
    return this.value;
  }
}

/**
 * `<SS>` (MS-PSRP 2.2.5.1.24): a SecureString. Its content never prints: `toString`, `toJSON` and
 * `util.inspect` all say `[SecureString]`. Create one from plain text to send it (the runspace pool
 * encrypts it with the session key); a received one is decrypted when a cipher is available,
 * otherwise it keeps the ciphertext.
 */
export class PSSecureString {
  #plain: string | undefined;
  #cipher: Uint8Array | undefined;
  private constructor(plain: string | undefined, cipher: Uint8Array | undefined) {
    this.#plain = plain;
    this.#cipher = cipher;
  }
  static fromPlainText(text: string): PSSecureString {
    return new PSSecureString(text, undefined);
  }
  static fromCiphertext(cipher: Uint8Array): PSSecureString {
    return new PSSecureString(undefined, cipher);
  }
  /** True when the plain text is known (created locally, or decrypted on receipt). */
  get isDecrypted(): boolean {
    return this.#plain !== undefined;
  }
  /** The plain text. Throws when it was received without a session key to decrypt it. */
  reveal(): string {
    if (this.#plain === undefined) throw new TypeError('SecureString was received without a session key and cannot be revealed');
    return this.#plain;
  }
  /** The ciphertext as received, when it was not decrypted. */
  ciphertext(): Uint8Array | undefined {
    return this.#cipher;
  }
  toString(): string {
    return '[SecureString]';
  }
  toJSON(): string {
    return '[SecureString]';
  }
  [inspectCustom](): string {
    return 'PSSecureString [SecureString]';
  }
}

/** Encrypts/decrypts SecureString content (UTF-16LE bytes) with the PSRP session key. */
export interface SecureStringCipher {
  encrypt(plain: Uint8Array): Uint8Array;
  decrypt(cipher: Uint8Array): Uint8Array;
}
