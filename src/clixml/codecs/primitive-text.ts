// MS-PSRP 2.2.5.1 Serialization of Primitive Type Objects: the text a primitive element carries as
// its codec receives it, and the typed error a bad one raises.
import { ProtocolError } from '../../errors.js';
import { MAX_NUMBER_LITERAL, trimXmlSpace } from '../number-text.js';

/** Throws `PSRP_CLIXML_INVALID` about element `name` at offset `pos` (or about the input, without a name). */
export function invalidClixml(message: string, name?: string, pos = 0): never {
  throw new ProtocolError(`${message}${name !== undefined ? ` (<${name}> at offset ${pos})` : ''}`, {
    code: 'PSRP_CLIXML_INVALID',
    ...(name !== undefined ? { offset: pos, element: name } : {}),
  });
}

/**
 * A literal's text without XML whitespace (XmlConvert trims it), refused with
 * `PSRP_CLIXML_TOO_LARGE` beyond `max` characters before anything else looks at it.
 */
export function literalText(text: string, name: string, pos: number, max = MAX_NUMBER_LITERAL): string {
  const t = trimXmlSpace(text);
  if (t.length > max) {
    throw new ProtocolError(
      `<${name}> literal of ${t.length} characters exceeds the limit of ${max} (<${name}> at offset ${pos})`,
      { code: 'PSRP_CLIXML_TOO_LARGE', offset: pos, element: name },
    );
  }
  return t;
}
