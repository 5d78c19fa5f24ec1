/**
 * Text of a Windows console code page (the WinRS WINRS_CODEPAGE option): 65001 is UTF-8; 437 (OEM
 * United States, the default of an English console) is decoded with its own table, since the WHATWG
 * TextDecoder has no IBM437; other code pages go to TextDecoder as `windows-<n>` / `ibm<n>` when it
 * knows them.
 */
import { InvalidArgumentError } from '../errors.js';

// Code page 437, bytes 0x80-0xFF (0x00-0x7F are ASCII).
const CP437_HIGH =
  'ÇüéâäàåçêëèïîìÄÅÉæÆôöòûùÿÖÜ¢£¥₧ƒáíóúñÑªº¿⌐¬½¼¡«»░▒▓│┤╡╢╖╕╣║╗╝╜╛┐└┴┬├─┼╞╟╚╔╩╦╠═╬╧╨╤╥╙╘╒╓╫╪┘┌█▄▌▐▀αßΓπΣσµτΦΘΩδ∞φε∩≡±≥≤⌠⌡÷≈°∙·√ⁿ²■\u00a0';

export interface CodepageDecoder {
  /** Decodes a chunk; with `stream`, a multi-byte sequence split across chunks is held back. */
  decode(bytes: Uint8Array, options?: { readonly stream?: boolean }): string;
}

/** A decoder for a Windows code page, or a typed error naming the code pages that work. */
export function codepageDecoder(codepage: number): CodepageDecoder {
  if (codepage === 65001) return new TextDecoder('utf-8');
  if (codepage === 437) {
    return {
      decode(bytes: Uint8Array): string {
        let out = '';
        for (const b of bytes) out += b < 0x80 ? String.fromCharCode(b) : CP437_HIGH[b - 0x80]!;
        return out;
      },
    };
  }
  for (const label of [`windows-${codepage}`, `ibm${codepage}`, `cp${codepage}`]) {
    try {
      return new TextDecoder(label);
    } catch {
      // not known under this label
    }
  }
  throw new InvalidArgumentError(
    `No text decoder for code page ${codepage} in this Node.js (65001 and 437 always work); read the bytes instead (stdoutBytes / stderrBytes).`,
  );
}

/** Encodes text for a process's stdin in a code page (65001 UTF-8, 437; others only as ASCII). */
export function encodeCodepage(text: string, codepage: number): Uint8Array {
  if (codepage === 65001) return new Uint8Array(Buffer.from(text, 'utf8'));
  const out: number[] = [];
  for (const ch of text) {
    const c = ch.codePointAt(0)!;
    if (c < 0x80) out.push(c);
    else if (codepage === 437 && CP437_HIGH.includes(ch)) out.push(0x80 + CP437_HIGH.indexOf(ch));
    else out.push(0x3f); // '?', as Windows' best-fit would for an unmappable character
  }
  return new Uint8Array(out);
}
