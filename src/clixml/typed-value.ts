// MS-PSRP 2.2.5.1 Serialization of Primitive Type Objects: PSTypedValue, a value with an explicit
// primitive tag, for the .NET types a plain JS value cannot tell apart.

/** Primitive CLIXML element names (MS-PSRP 2.2.5.1.x). */
export type PrimitiveTag =
  | 'S'
  | 'C'
  | 'B'
  | 'DT'
  | 'TS'
  | 'By'
  | 'SB'
  | 'U16'
  | 'I16'
  | 'U32'
  | 'I32'
  | 'U64'
  | 'I64'
  | 'Sg'
  | 'Db'
  | 'D'
  | 'BA'
  | 'G'
  | 'URI'
  | 'Nil'
  | 'Version'
  | 'XD'
  | 'SBK'
  | 'SS';

/**
 * A value with an explicit CLIXML primitive type, for sending an exact .NET type (`<I64>`, `<By>`,
 * `<G>` …) and for lossless reads with `preserveTypes: true`. `value` is a number for the small
 * integer types and Sg, a bigint for I64/U64, and a string for C (one UTF-16 unit), G, URI,
 * Version, XD and SBK.
 */
export class PSTypedValue<T extends PrimitiveTag = PrimitiveTag> {
  constructor(
    readonly type: T,
    readonly value: T extends 'I64' | 'U64'
      ? bigint
      : T extends 'By' | 'SB' | 'U16' | 'I16' | 'U32' | 'Sg'
        ? number
        : string,
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
