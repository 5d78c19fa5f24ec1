// MS-PSRP 2.2.5.1.18 GUID (G), 2.2.5.1.19 URI, 2.2.5.1.21 Version, 2.2.5.1.22 XML Document (XD) and
// 2.2.5.1.23 ScriptBlock (SBK): values carried as text, which psrp keeps as strings.
import { decodeClixmlString, encodeClixmlString } from '../string-escape.js';
import { PSTypedValue } from '../typed-value.js';

export type TextTypeTag = 'G' | 'URI' | 'Version' | 'XD' | 'SBK';

/**
 * Reads the text of one of these tags: a GUID or Version trimmed (they are parsed by .NET, which
 * ignores surrounding white space), the others `_xHHHH_`-decoded as strings. With `preserve`, a
 * PSTypedValue keeps the tag.
 */
export function parseTextType(text: string, tag: TextTypeTag, preserve: boolean): unknown {
  const v = tag === 'G' || tag === 'Version' ? text.trim() : decodeClixmlString(text);
  return preserve ? new PSTypedValue(tag, v) : v;
}

/** Writes the value of one of these tags (or of another tag given as text) as escaped text. */
export function formatTextType(value: unknown): string {
  return encodeClixmlString(String(value));
}
