/**
 * Exchange values as JavaScript values (research B2/B3): a view over deserialized objects that
 * turns Exchange's display shapes into typed values, for both serialization levels:
 *
 * | Exchange shape | becomes |
 * |---|---|
 * | `Unlimited<T>` object (`IsUnlimited`, `Value`) or the text `Unlimited` | `'Unlimited'` or the converted value |
 * | ByteQuantifiedSize text `49.5 GB (53,150,220,288 bytes)` | `{ bytes: 53150220288n, text }` |
 * | EnhancedTimeSpan text `10.00:00:00` (or its object with `Ticks`) | `{ ticks, milliseconds, text }` |
 * | ADObjectId object (`DistinguishedName`, `Name`, `ObjectGuid`) | `{ distinguishedName, name, guid, text }` |
 * | MultiValuedProperty / ProxyAddressCollection | a plain array of converted items (strings for proxy addresses) |
 *
 * Everything else is left as it is. The input is not modified: a converted copy is returned.
 * `connectExchange` applies it to output unless `convertValues: false` is passed.
 */
import { psMeta } from '../index.js';
import { parseByteQuantifiedSize } from './byte-quantified-size.js';
import { parseEnhancedTimeSpan } from './enhanced-time-span.js';

export interface ADObjectIdValue {
  readonly distinguishedName: string | undefined;
  readonly name: string | undefined;
  readonly guid: string | undefined;
  /** The canonical name Exchange shows (`contoso.com/Users/Alice`). */
  readonly text: string | undefined;
  /** The identity by name, as Exchange's tables show it: `name`, else `text`, else the DN. */
  toString(): string;
  /** `{ name, distinguishedName, guid, text }` (absent fields omitted). */
  toJSON(): {
    readonly name?: string;
    readonly distinguishedName?: string;
    readonly guid?: string;
    readonly text?: string;
  };
}

/**
 * The object behind {@link ADObjectIdValue}: its four fields are its own (they spread and compare
 * as a plain object), its methods are on the prototype (no closures per value, issue 17).
 */
class ADObjectIdView implements ADObjectIdValue {
  constructor(
    readonly distinguishedName: string | undefined,
    readonly name: string | undefined,
    readonly guid: string | undefined,
    readonly text: string | undefined,
  ) {}
  toString(): string {
    return this.name ?? this.text ?? this.distinguishedName ?? '';
  }
  toJSON(): ReturnType<ADObjectIdValue['toJSON']> {
    return {
      ...(this.name !== undefined ? { name: this.name } : {}),
      ...(this.distinguishedName !== undefined ? { distinguishedName: this.distinguishedName } : {}),
      ...(this.guid !== undefined ? { guid: this.guid } : {}),
      ...(this.text !== undefined ? { text: this.text } : {}),
    };
  }
}

// The Exchange types a value's type names mention, as bits.
const UNLIMITED = 1;
const TIME_SPAN = 2;
const BYTE_SIZE = 4;
const AD_OBJECT_ID = 8;
const PROXY_ADDRESS = 16;
const FRAGMENTS: readonly (readonly [string, number])[] = [
  ['Microsoft.Exchange.Data.Unlimited', UNLIMITED],
  ['Microsoft.Exchange.Data.EnhancedTimeSpan', TIME_SPAN],
  ['Microsoft.Exchange.Data.ByteQuantifiedSize', BYTE_SIZE],
  ['Microsoft.Exchange.Data.Directory.ADObjectId', AD_OBJECT_ID],
  ['ProxyAddress', PROXY_ADDRESS],
];
/**
 * Bits by type-name list, looked up by content: each output object of a command comes in a PSRP
 * message (a CLIXML document) of its own, so its type-name list is a new array every time, and a
 * cache keyed by the array would never hit (and grow with every object). A mailbox stream has a
 * handful of distinct lists; at most MAX_TYPE_LISTS are kept (a hostile server sending a new list
 * per object gets them computed, not stored).
 */
const typeBits = new Map<string, { readonly names: readonly string[]; readonly bits: number }[]>();
let typeLists = 0;
const MAX_TYPE_LISTS = 512;
const META = Symbol.for('psrp.clixml.meta');

function sameNames(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Which of the Exchange types (bits above) any of `typeNames` contains. */
function bitsOf(typeNames: readonly string[] | undefined): number {
  if (typeNames === undefined || typeNames.length === 0) return 0;
  const first = typeNames[0]!;
  const known = typeBits.get(first);
  if (known !== undefined)
    for (const entry of known) if (sameNames(entry.names, typeNames)) return entry.bits;
  let bits = 0;
  for (const [fragment, bit] of FRAGMENTS) if (typeNames.some((t) => t.includes(fragment))) bits |= bit;
  if (typeLists < MAX_TYPE_LISTS) {
    typeLists++;
    const entry = { names: [...typeNames], bits };
    if (known === undefined) typeBits.set(first, [entry]);
    else known.push(entry);
  }
  return bits;
}

function convertValue(v: unknown, depth: number): unknown {
  if (depth > 20) return v;
  if (typeof v === 'string') {
    if (v === 'Unlimited') return v;
    // A ByteQuantifiedSize text ends in `(… bytes)`: most strings have no `)` and skip its pattern.
    return (
      (v.includes(')') ? parseByteQuantifiedSize(v) : undefined) ??
      (/^\d+\.\d{2}:\d{2}:\d{2}/.test(v) ? (parseEnhancedTimeSpan(v) ?? v) : v)
    );
  }
  if (v === null || typeof v !== 'object') return v;
  // Class instances (dates, enums, decimals, byte arrays, SecureStrings…) are already typed values.
  if (!Array.isArray(v) && Object.getPrototypeOf(v) !== Object.prototype) return v;
  const meta = psMeta(v);
  const bits = bitsOf(meta?.typeNames);
  const o = v as Record<string, unknown>;
  if (bits & UNLIMITED) {
    if (o['IsUnlimited'] === true) return 'Unlimited';
    return convertValue(o['Value'] ?? meta?.toStringValue, depth + 1);
  }
  if (bits & TIME_SPAN && meta?.toStringValue) {
    return parseEnhancedTimeSpan(meta.toStringValue) ?? v;
  }
  if (bits & BYTE_SIZE && meta?.toStringValue) {
    return parseByteQuantifiedSize(meta.toStringValue) ?? v;
  }
  if (bits & AD_OBJECT_ID) {
    return new ADObjectIdView(
      typeof o['DistinguishedName'] === 'string' ? o['DistinguishedName'] : undefined,
      typeof o['Name'] === 'string' ? o['Name'] : undefined,
      typeof o['ObjectGuid'] === 'string' ? o['ObjectGuid'] : undefined,
      meta?.toStringValue,
    );
  }
  if (Array.isArray(v)) {
    // Proxy addresses and other value objects inside a multi-valued property read best as their text.
    return v.map((item) => {
      const m = psMeta(item);
      if (m?.toStringValue !== undefined && bitsOf(m.typeNames) & PROXY_ADDRESS) return m.toStringValue;
      return convertValue(item, depth + 1);
    });
  }
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(o)) {
    if (k === 'SerializationData') continue; // Full-level BinaryFormatter blobs are of no use to a JS client
    out[k] = convertValue(o[k], depth + 1);
  }
  if (meta)
    Object.defineProperty(out, META, {
      value: meta,
      enumerable: false,
      configurable: true,
      writable: true,
    });
  return out;
}

/** A copy of `value` with Exchange's value shapes converted (see the table above). */
export function toExchangeValues<T = unknown>(value: unknown): T {
  return convertValue(value, 0) as T;
}
