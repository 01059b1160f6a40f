import { BrokerError } from '../errors.js';
import { NS, attr, child, children, parseXml, select, textOnly } from './xml.js';

/**
 * The checks on the whole SAMLResponse document that come before (or beside)
 * node-saml's signature checks. node-saml verifies signatures and picks the
 * signed assertion; these refuse the shapes that signature wrapping and parser
 * tricks need, and check the Response-level fields node-saml leaves alone.
 */
export interface ResponseExpectations {
  acsUrl: string;
  idpEntityId: string;
  allowIdpInitiated: boolean;
}

export interface InspectedResponse {
  xml: string;
  inResponseTo: string | undefined;
}

const SUCCESS = 'urn:oasis:names:tc:SAML:2.0:status:Success';
const MAX_XML = 48 * 1024;

const refuse = (message: string, detail: Record<string, unknown>) =>
  new BrokerError('saml_invalid', message, { detail });

export function decodeBase64Xml(value: string, field = 'SAMLResponse'): string {
  const b64 = value.replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64) || b64.length % 4 !== 0) {
    throw refuse(`${field} is not base64: post the form exactly as the IdP sent it`, {
      check: 'base64',
    });
  }
  const bin = atob(b64);
  if (bin.length > MAX_XML) {
    throw refuse(`${field} is larger than 48 KiB`, { check: 'size', bytes: bin.length });
  }
  const bytes = Uint8Array.from(bin, (ch) => ch.charCodeAt(0));
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw refuse(`${field} is not UTF-8 XML`, { check: 'utf8' });
  }
}

export async function inspectResponse(
  xml: string,
  expect: ResponseExpectations,
): Promise<InspectedResponse> {
  // node-saml 5.1 parses a DOCTYPE and silently ignores an external DTD;
  // nothing legitimate in SAML needs one, so any DTD or entity is refused.
  if (/<!DOCTYPE|<!ENTITY/i.test(xml)) {
    throw refuse('the SAML response contains a DOCTYPE or entity declaration, which is refused', {
      check: 'doctype',
    });
  }
  // Canonicalization drops comments, so a comment can be added to signed
  // content without breaking the signature; IdPs never send them.
  if (xml.includes('<!--')) {
    throw refuse(
      'the SAML response contains an XML comment, which signatures do not cover: it was altered after the IdP signed it',
      { check: 'comment' },
    );
  }
  if (xml.replace(/^\uFEFF?\s*<\?xml\s[^>]*\?>/, '').includes('<?')) {
    throw refuse('the SAML response contains a processing instruction, which is refused', {
      check: 'processing_instruction',
    });
  }
  const doc = await parseXml(xml);
  if (!doc) throw refuse('the SAML response is not well-formed XML', { check: 'xml' });
  const root = doc.documentElement;
  if (root.namespaceURI !== NS.protocol || root.localName !== 'Response') {
    throw refuse('this is not a SAML 2.0 Response: post it to the right endpoint', {
      check: 'root',
      root: root.localName,
    });
  }

  const status = child(root, NS.protocol, 'Status');
  const code = status && children(status, NS.protocol, 'StatusCode');
  const value = code?.length === 1 ? attr(code[0]!, 'Value') : undefined;
  if (value !== SUCCESS) {
    // A signed assertion inside a failed response is still a failure.
    const nested = code?.[0] && child(code[0], NS.protocol, 'StatusCode');
    const message = status && child(status, NS.protocol, 'StatusMessage');
    const why = [value, nested && attr(nested, 'Value')]
      .filter(Boolean)
      .map((v) => v!.replace(/^.*:/, ''))
      .join('/');
    const text = message ? textOnly(message)?.slice(0, 200) : undefined;
    throw refuse(
      `the IdP did not log you in (status ${why || 'missing'}${text ? `: ${text}` : ''}): try again, or ask your IdP administrator to assign you to this application`,
      { check: 'status', status: value ?? null, nested: nested ? attr(nested, 'Value') : null },
    );
  }

  // Exactly one assertion anywhere: wrapping attacks need a second one
  // (in Extensions, Advice, a ds:Object...) for the checks to disagree about.
  const assertions = select(doc, "//*[local-name()='Assertion']");
  if (select(doc, "//*[local-name()='EncryptedAssertion']").length > 0) {
    throw refuse(
      'the SAML response holds an encrypted assertion, which this broker does not decrypt: turn off assertion encryption for this application in the IdP',
      { check: 'encrypted_assertion' },
    );
  }
  if (assertions.length !== 1 || assertions[0]!.parentNode !== root) {
    throw refuse(
      `the SAML response must hold exactly one Assertion, directly in the Response; it holds ${assertions.length}`,
      { check: 'assertion_count', count: assertions.length },
    );
  }

  // Signatures must use SHA-256 or better.
  for (const m of select(
    doc,
    "//*[local-name()='SignatureMethod' or local-name()='DigestMethod']",
  )) {
    const alg = attr(m, 'Algorithm') ?? '';
    if (/sha1$/i.test(alg)) {
      throw refuse(
        'the SAML response is signed with SHA-1: set the IdP to sign with SHA-256 (RSA-SHA256)',
        { check: 'algorithm', algorithm: alg },
      );
    }
  }

  const destination = attr(root, 'Destination');
  if (destination !== expect.acsUrl) {
    throw refuse(
      `the SAML response is addressed to ${destination ?? '(no Destination)'}, not to this broker: set the IdP's ACS URL to ${expect.acsUrl}`,
      { check: 'destination', destination: destination ?? null },
    );
  }
  const issuer = child(root, NS.assertion, 'Issuer');
  const issuerText = issuer && textOnly(issuer);
  if (issuer && issuerText !== expect.idpEntityId) {
    throw refuse(
      `the SAML response comes from ${issuerText ?? '(unreadable issuer)'}, not from the configured IdP: check sso.saml.idp`,
      { check: 'response_issuer', issuer: issuerText ?? null },
    );
  }
  const inResponseTo = attr(root, 'InResponseTo');
  if (!inResponseTo && !expect.allowIdpInitiated) {
    throw refuse(
      'this login was not started here (IdP-initiated logins are off): open this site and log in from it, or set sso.saml.allow_idp_initiated: true',
      { check: 'in_response_to' },
    );
  }
  return { xml, inResponseTo: inResponseTo || undefined };
}
