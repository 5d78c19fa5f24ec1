// XML 1.0 subset (no DTD, no entities beyond the predefined ones): a small element tree for
// WS-Management envelopes, which are small (MaxEnvelopeSize ≤ 512 KB) and namespace-prefixed.
import { ProtocolError } from '../errors.js';
import { XmlReader } from './xml-reader.js';

export interface XmlElement {
  /** Local name without prefix (`Envelope` for `s:Envelope`). */
  readonly name: string;
  readonly prefix: string;
  readonly attrs: Readonly<Record<string, string>>;
  readonly children: readonly XmlElement[];
  /** Concatenated character data directly inside this element. */
  readonly text: string;
}

export interface XmlTreeLimits {
  readonly maxLength?: number;
  readonly maxDepth?: number;
}

/** Parses a document into an element tree, refusing DTDs, entities, absurd depth and size. */
export function parseXmlTree(xml: string, limits: XmlTreeLimits = {}): XmlElement {
  const maxLength = limits.maxLength ?? 64 * 1024 * 1024;
  const maxDepth = limits.maxDepth ?? 64;
  if (xml.length > maxLength) {
    throw new ProtocolError(`XML document of ${xml.length} characters exceeds the ${maxLength} limit`, { code: 'PSRP_XML_TOO_LARGE' });
  }
  const r = new XmlReader(xml);
  r.skipMisc();
  const root = element(r, 1, maxDepth);
  r.skipMisc();
  if (r.pos < xml.length) r.fail('Unexpected content after the root element');
  return root;
}

function element(r: XmlReader, depth: number, maxDepth: number): XmlElement {
  if (depth > maxDepth) r.fail(`XML nesting deeper than ${maxDepth}`, 'PSRP_XML_TOO_DEEP');
  const tag = r.startTag();
  const colon = tag.name.indexOf(':');
  const name = colon >= 0 ? tag.name.slice(colon + 1) : tag.name;
  const prefix = colon >= 0 ? tag.name.slice(0, colon) : '';
  const children: XmlElement[] = [];
  let text = '';
  if (!tag.empty) {
    for (;;) {
      text += r.text();
      if (r.src.startsWith('</', r.pos)) break;
      children.push(element(r, depth + 1, maxDepth));
    }
    r.endTag(tag.name);
  }
  return { name, prefix, attrs: tag.attrs ?? {}, children, text };
}

/** The first child with local name `name`. */
export function child(e: XmlElement | undefined, name: string): XmlElement | undefined {
  return e?.children.find((c) => c.name === name);
}

/** Follows a path of local names. */
export function path(e: XmlElement | undefined, ...names: string[]): XmlElement | undefined {
  let cur = e;
  for (const n of names) cur = child(cur, n);
  return cur;
}

/** Every descendant (depth-first) with local name `name`. */
export function descendants(e: XmlElement, name: string, out: XmlElement[] = []): XmlElement[] {
  for (const c of e.children) {
    if (c.name === name) out.push(c);
    descendants(c, name, out);
  }
  return out;
}

/** An attribute by local name (ignoring its prefix). */
export function attr(e: XmlElement | undefined, name: string): string | undefined {
  if (!e) return undefined;
  if (name in e.attrs) return e.attrs[name];
  for (const [k, v] of Object.entries(e.attrs)) if (k.endsWith(`:${name}`)) return v;
  return undefined;
}
