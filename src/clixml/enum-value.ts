// MS-PSRP 2.2.5.2 Serialization of Complex Objects: an enum value, an `<Obj>` whose type names
// include System.Enum, with its name as `<ToString>` and the underlying integer as its base.

/**
 * An enum value (`<Obj>` with TN ending System.Enum, ToString = name, and the underlying
 * integer). Prints and serializes to JSON as its name; `value` is the number.
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
