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
import { withValueMethods } from './value-methods.js';

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

const hasType = (v: unknown, fragment: string): boolean =>
  (psMeta(v)?.typeNames ?? []).some((t) => t.includes(fragment));

function convertValue(v: unknown, depth: number): unknown {
  if (depth > 20) return v;
  if (typeof v === 'string') {
    if (v === 'Unlimited') return v;
    return (
      parseByteQuantifiedSize(v) ?? (/^\d+\.\d{2}:\d{2}:\d{2}/.test(v) ? (parseEnhancedTimeSpan(v) ?? v) : v)
    );
  }
  if (v === null || typeof v !== 'object') return v;
  // Class instances (dates, enums, decimals, byte arrays, SecureStrings…) are already typed values.
  if (!Array.isArray(v) && Object.getPrototypeOf(v) !== Object.prototype) return v;
  const meta = psMeta(v);
  const o = v as Record<string, unknown>;
  if (hasType(v, 'Microsoft.Exchange.Data.Unlimited')) {
    if (o['IsUnlimited'] === true) return 'Unlimited';
    return convertValue(o['Value'] ?? meta?.toStringValue, depth + 1);
  }
  if (hasType(v, 'Microsoft.Exchange.Data.EnhancedTimeSpan') && meta?.toStringValue) {
    return parseEnhancedTimeSpan(meta.toStringValue) ?? v;
  }
  if (hasType(v, 'Microsoft.Exchange.Data.ByteQuantifiedSize') && meta?.toStringValue) {
    return parseByteQuantifiedSize(meta.toStringValue) ?? v;
  }
  if (hasType(v, 'Microsoft.Exchange.Data.Directory.ADObjectId')) {
    return withValueMethods(
      {
        distinguishedName: typeof o['DistinguishedName'] === 'string' ? o['DistinguishedName'] : undefined,
        name: typeof o['Name'] === 'string' ? o['Name'] : undefined,
        guid: typeof o['ObjectGuid'] === 'string' ? o['ObjectGuid'] : undefined,
        text: meta?.toStringValue,
      } as ADObjectIdValue,
      (v) => v.name ?? v.text ?? v.distinguishedName ?? '',
      (v) => ({
        ...(v.name !== undefined ? { name: v.name } : {}),
        ...(v.distinguishedName !== undefined ? { distinguishedName: v.distinguishedName } : {}),
        ...(v.guid !== undefined ? { guid: v.guid } : {}),
        ...(v.text !== undefined ? { text: v.text } : {}),
      }),
    );
  }
  if (Array.isArray(v)) {
    // Proxy addresses and other value objects inside a multi-valued property read best as their text.
    return v.map((item) => {
      const m = psMeta(item);
      if (m?.toStringValue !== undefined && hasType(item, 'ProxyAddress')) return m.toStringValue;
      return convertValue(item, depth + 1);
    });
  }
  const out: Record<string, unknown> = {};
  for (const [k, val] of Object.entries(o)) {
    if (k === 'SerializationData') continue; // Full-level BinaryFormatter blobs are of no use to a JS client
    out[k] = convertValue(val, depth + 1);
  }
  if (meta)
    Object.defineProperty(out, Symbol.for('psrp.clixml.meta'), {
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
