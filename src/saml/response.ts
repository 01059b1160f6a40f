import { showText } from '../shared/show.js';
import { LOGIN, checkIssuer, parseSafeXml, refuse, type SamlKind } from './checks.js';
import { NS, attr, child, children, select, textOnly } from './xml.js';

/**
 * The checks on the whole SAMLResponse document that come before (or beside)
 * node-saml's signature checks. node-saml verifies signatures and picks the
 * signed assertion; these refuse the shapes that signature wrapping and parser
 * tricks need, and check the Response-level fields node-saml leaves alone.
 */
interface ResponseExpectations {
  acsUrl: string;
  idpEntityId: string;
  allowIdpInitiated: boolean;
}

const SUCCESS = 'urn:oasis:names:tc:SAML:2.0:status:Success';
const MAX_XML = 48 * 1024;

/** The XML of a posted SAMLResponse (or SAMLRequest, for `LOGOUT`). */
export function decodeBase64Xml(value: string, kind: SamlKind = LOGIN): string {
  const b64 = value.replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64) || b64.length % 4 !== 0) {
    throw refuse(
      `${kind.field} is not base64: post the form exactly as the IdP sent it, or ${kind.retry}`,
      { check: 'base64' },
      kind,
    );
  }
  const bin = atob(b64);
  if (bin.length > MAX_XML) {
    throw refuse(
      `${kind.field} is larger than 48 KiB: ask the IdP admin to send less (for a login, fewer attributes or groups) to this application`,
      { check: 'size', bytes: bin.length },
      kind,
    );
  }
  const bytes = Uint8Array.from(bin, (ch) => ch.charCodeAt(0));
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw refuse(
      `${kind.field} is not UTF-8 XML: ask the IdP admin to send UTF-8 encoded SAML`,
      { check: 'utf8' },
      kind,
    );
  }
}

/** Checks the Response; returns its InResponseTo (undefined for an IdP-initiated login). */
export async function inspectResponse(
  xml: string,
  expect: ResponseExpectations,
): Promise<string | undefined> {
  const doc = await parseSafeXml(xml, LOGIN);
  const root = doc.documentElement;
  if (root.namespaceURI !== NS.protocol || root.localName !== 'Response') {
    throw refuse(
      'this is not a SAML 2.0 Response: ask the IdP admin to post login responses to /saml/acs (and logout requests to /saml/slo)',
      { check: 'root', root: root.localName },
    );
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
      `the IdP did not log you in (status ${why || 'missing'}${text ? `: ${text}` : ''}): ${LOGIN.retry}, or ask your IdP administrator to assign you to this application`,
      { check: 'status', status: value ?? null, nested: nested ? attr(nested, 'Value') : null },
    );
  }

  // Exactly one assertion anywhere: wrapping attacks need a second one
  // (in Extensions, Advice, a ds:Object...) for the checks to disagree about.
  if (select(doc, "//*[local-name()='EncryptedAssertion']").length > 0) {
    throw refuse(
      'the SAML response holds an encrypted assertion, which this broker does not decrypt: ask the IdP admin to turn off assertion encryption for this application',
      { check: 'encrypted_assertion' },
    );
  }
  const assertions = select(doc, "//*[local-name()='Assertion']");
  if (assertions.length !== 1 || assertions[0]!.parentNode !== root) {
    throw refuse(
      `the SAML response must hold exactly one Assertion, directly in the Response; it holds ${assertions.length}${assertions.length === 1 ? ' elsewhere' : ''}: ${LOGIN.retry}; if it keeps happening, ask the IdP admin to send one signed assertion`,
      { check: 'assertion_count', count: assertions.length },
    );
  }

  const destination = attr(root, 'Destination');
  if (destination !== expect.acsUrl) {
    throw refuse(
      `the SAML response is addressed to ${destination === undefined ? '(no Destination)' : showText(destination)}, not to this broker: ask the IdP admin to set the ACS URL to ${expect.acsUrl}`,
      { check: 'destination', destination: destination ?? null },
    );
  }
  checkIssuer(root, {
    idpEntityId: expect.idpEntityId,
    what: 'the SAML response',
    check: 'response_issuer',
    optional: true,
  });
  const inResponseTo = attr(root, 'InResponseTo');
  if (!inResponseTo && !expect.allowIdpInitiated) {
    throw refuse(
      "this login was not started here (IdP-initiated logins are off): start the login from /saml/login instead of the IdP dashboard, or ask the broker's administrator to set sso.saml.allow_idp_initiated: true",
      { check: 'in_response_to' },
    );
  }
  return inResponseTo || undefined;
}
