// MS-PSRP 2.2.5.1 Serialization of Primitive Type Objects: every primitive tag and where its codec
// lives. Nil (2.2.5.1.20) has no content and is read and written by the (de)serializer itself; the
// Progress Record (2.2.5.1.25) has children and is read by progress-record.ts.
import { type PSTypedValue } from '../typed-value.js';
import { parseBoolean } from './boolean.js';
import { parseBytes } from './bytes.js';
import { parseDateTime } from './date-time.js';
import { parseDecimal } from './decimal.js';
import { parseDuration } from './duration.js';
import { formatFloating, parseFloating } from './floating.js';
import { formatInteger, isIntegerTag, parseInteger } from './integers.js';
import { type SecureStringCipher, parseSecureString } from './secure-string.js';
import { formatChar, parseChar, parseString } from './strings.js';
import { formatTextType, parseTextType } from './text-types.js';

/** What a primitive's reading depends on beyond its text. */
export interface PrimitiveContext {
  /** Return PSTypedValue wrappers for the types a plain JS value cannot tell apart. */
  readonly preserve: boolean;
  /** Decrypts `<SS>` content. */
  readonly cipher: SecureStringCipher | undefined;
}

/** Every primitive element name: those with text content, Nil and PR. */
export const PRIMITIVE_TAGS: ReadonlySet<string> = new Set([
  'S',
  'C',
  'B',
  'DT',
  'TS',
  'By',
  'SB',
  'U16',
  'I16',
  'U32',
  'I32',
  'U64',
  'I64',
  'Sg',
  'Db',
  'D',
  'BA',
  'G',
  'URI',
  'Version',
  'XD',
  'SBK',
  'SS',
  'Nil',
  'PR',
]);

/**
 * Reads the text content of the primitive element `tag` (`pos`: its start tag's offset, for
 * errors), or returns `undefined` for a tag that has no text codec (Nil, PR, not a primitive).
 */
export function parsePrimitive(tag: string, text: string, pos: number, ctx: PrimitiveContext): unknown {
  switch (tag) {
    case 'S':
      return parseString(text);
    case 'I32':
    case 'By':
    case 'SB':
    case 'U16':
    case 'I16':
    case 'U32':
    case 'I64':
    case 'U64':
      return parseInteger(text, tag, pos, ctx.preserve);
    case 'B':
      return parseBoolean(text, pos);
    case 'DT':
      return parseDateTime(text, pos);
    case 'G':
    case 'URI':
    case 'Version':
    case 'XD':
    case 'SBK':
      return parseTextType(text, tag, ctx.preserve);
    case 'Db':
    case 'Sg':
      return parseFloating(text, tag, pos, ctx.preserve);
    case 'TS':
      return parseDuration(text, pos);
    case 'C':
      return parseChar(text, pos, ctx.preserve);
    case 'D':
      return parseDecimal(text, pos);
    case 'BA':
      return parseBytes(text, pos);
    case 'SS':
      return parseSecureString(text, pos, ctx.cipher);
    default:
      return undefined;
  }
}

/** The text of a PSTypedValue's element: integers range-checked, Sg as a float, C as its code. */
export function formatTypedValue(v: PSTypedValue): string {
  const tag = v.type;
  if (isIntegerTag(tag)) return formatInteger(tag, v.value as number | bigint);
  if (tag === 'Sg') return formatFloating(v.value as number);
  if (tag === 'C') return formatChar(v.value as string);
  return formatTextType(v.value);
}
