/**
 * XML access for our own checks. We parse with node-saml's own parser
 * (@xmldom/xmldom through `lib/xml`) on purpose: our structural checks then
 * see the document exactly as node-saml's signature verifier does, so no
 * parser differential can hide an element from one and show it to the other.
 */
import { parseDomFromString, xpath } from '@node-saml/node-saml/lib/xml.js';

export const NS = {
  protocol: 'urn:oasis:names:tc:SAML:2.0:protocol',
  assertion: 'urn:oasis:names:tc:SAML:2.0:assertion',
  metadata: 'urn:oasis:names:tc:SAML:2.0:metadata',
  dsig: 'http://www.w3.org/2000/09/xmldsig#',
} as const;

export async function parseXml(text: string): Promise<Document | undefined> {
  try {
    const doc = await parseDomFromString(text);
    return doc.documentElement ? doc : undefined;
  } catch {
    return undefined;
  }
}

/** Elements selected by an XPath (use local-name() tests; namespaces are checked by callers). */
export function select(node: Node, path: string): Element[] {
  return xpath.selectElements(node, path);
}

/** Direct children of `parent` with this namespace and local name. */
export function children(parent: Element, ns: string, localName: string): Element[] {
  const out: Element[] = [];
  for (let n = parent.firstChild; n; n = n.nextSibling) {
    const e = n as Element;
    if (n.nodeType === 1 && e.namespaceURI === ns && e.localName === localName) out.push(e);
  }
  return out;
}

export function child(parent: Element, ns: string, localName: string): Element | undefined {
  return children(parent, ns, localName)[0];
}

/**
 * The text of an element that holds only text. Anything else inside (a
 * comment, a child element, a processing instruction) is refused: a comment
 * splits a value in two for naive readers, which is how NameID comment
 * injection turns `alice@example.com.evil.com` into `alice@example.com`.
 */
export function textOnly(e: Element): string | undefined {
  let s = '';
  for (let n = e.firstChild; n; n = n.nextSibling) {
    // 3 = text, 4 = CDATA section
    if (n.nodeType !== 3 && n.nodeType !== 4) return undefined;
    s += n.nodeValue ?? '';
  }
  return s.trim();
}

export function attr(e: Element, name: string): string | undefined {
  return e.hasAttribute(name) ? e.getAttribute(name)! : undefined;
}
