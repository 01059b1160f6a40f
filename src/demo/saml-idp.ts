import { randomUUID } from 'node:crypto';
import { inflateRawSync } from 'node:zlib';
import { DOMParser } from '@xmldom/xmldom';
import { SignedXml } from 'xml-crypto';
import type { DemoUser } from './users.js';
import { selfSignedCert, type DemoKeyPair } from './x509.js';

/*
 * The demo's SAML IdP: it reads the broker's AuthnRequest (HTTP-Redirect
 * binding) and answers with a Response whose assertion it signs for real
 * (RSA-SHA256, exclusive c14n) with a key made at start, so the broker's ACS
 * runs every check it runs for Okta or Entra ID.
 */

const SAMLP = 'urn:oasis:names:tc:SAML:2.0:protocol';
const SAML = 'urn:oasis:names:tc:SAML:2.0:assertion';
const EMAIL_FORMAT = 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress';
/** What a redirect's SAMLRequest may take, encoded and inflated: an AuthnRequest is ~1 KiB. */
const MAX_ENCODED = 8 * 1024;
const MAX_XML = 64 * 1024;
/** An xs:ID (an NCName), bounded; the broker's are `_` and hex. */
const XML_ID = /^[A-Za-z_][A-Za-z0-9_.-]{0,127}$/;
const ASSERTION_LIFETIME_MS = 5 * 60_000;

const esc = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const iso = (ms: number) => new Date(ms).toISOString();

/** Where the IdP sends its answers: the demo broker's own SP. */
export interface DemoSp {
  acsUrl: string;
  entityId: string;
}

export class DemoIdp {
  readonly keys: DemoKeyPair;

  constructor(
    readonly entityId: string,
    private readonly sp: DemoSp,
    private readonly now: () => number = Date.now,
  ) {
    this.keys = selfSignedCert('tokenbroker demo IdP', now());
  }

  get acsUrl(): string {
    return this.sp.acsUrl;
  }

  /**
   * The ID of the AuthnRequest in a redirect's `SAMLRequest`, or why it is
   * not one. Bounded before and while inflating: a small deflate bomb
   * cannot make the demo allocate more than MAX_XML.
   */
  readAuthnRequest(encoded: string | undefined): { id: string } | { problem: string } {
    if (!encoded)
      return { problem: 'no SAMLRequest: start the login from the broker (/saml/login)' };
    if (encoded.length > MAX_ENCODED) return { problem: 'SAMLRequest is too large' };
    let xml: string;
    try {
      xml = inflateRawSync(Buffer.from(encoded, 'base64'), { maxOutputLength: MAX_XML }).toString(
        'utf8',
      );
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
        return { problem: `SAMLRequest inflates to more than ${MAX_XML / 1024} KiB` };
      }
      return { problem: 'SAMLRequest is not a deflated, base64 AuthnRequest' };
    }
    let id: string | null | undefined;
    try {
      // Anything odd in the request is a refusal, not a console warning.
      const parser = new DOMParser({
        onError: (level, message) => {
          throw new Error(`${level}: ${message}`);
        },
      });
      const root = parser.parseFromString(xml, 'text/xml').documentElement;
      if (root?.localName !== 'AuthnRequest' || root.namespaceURI !== SAMLP) {
        return { problem: 'SAMLRequest is not an AuthnRequest' };
      }
      id = root.getAttribute('ID');
    } catch {
      return { problem: 'SAMLRequest is not well-formed XML' };
    }
    if (!id || !XML_ID.test(id)) return { problem: 'the AuthnRequest has no usable ID' };
    return { id };
  }

  /** A signed Response logging `user` in, answering `inResponseTo`, base64 as the browser posts it. */
  response(user: DemoUser, inResponseTo: string): string {
    const now = this.now();
    const until = iso(now + ASSERTION_LIFETIME_MS);
    const acs = esc(this.sp.acsUrl);
    const issuer = `<saml:Issuer>${esc(this.entityId)}</saml:Issuer>`;
    const attribute = (name: string, values: string[]) =>
      `<saml:Attribute Name="${name}" NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:basic">${values
        .map((v) => `<saml:AttributeValue>${esc(v)}</saml:AttributeValue>`)
        .join('')}</saml:Attribute>`;
    const xml =
      `<samlp:Response xmlns:samlp="${SAMLP}" xmlns:saml="${SAML}" ID="_r${randomUUID()}" Version="2.0" IssueInstant="${iso(now)}" Destination="${acs}" InResponseTo="${esc(inResponseTo)}">` +
      issuer +
      `<samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>` +
      `<saml:Assertion xmlns:saml="${SAML}" ID="_a${randomUUID()}" Version="2.0" IssueInstant="${iso(now)}">` +
      issuer +
      `<saml:Subject><saml:NameID Format="${EMAIL_FORMAT}">${esc(user.email)}</saml:NameID>` +
      `<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml:SubjectConfirmationData NotOnOrAfter="${until}" Recipient="${acs}" InResponseTo="${esc(inResponseTo)}"/></saml:SubjectConfirmation></saml:Subject>` +
      `<saml:Conditions NotBefore="${iso(now)}" NotOnOrAfter="${until}"><saml:AudienceRestriction><saml:Audience>${esc(this.sp.entityId)}</saml:Audience></saml:AudienceRestriction></saml:Conditions>` +
      `<saml:AuthnStatement AuthnInstant="${iso(now)}" SessionIndex="_s${randomUUID()}"><saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>` +
      `<saml:AttributeStatement>${attribute('email', [user.email])}${attribute('displayName', [user.name])}${attribute('groups', user.groups)}</saml:AttributeStatement>` +
      `</saml:Assertion></samlp:Response>`;
    return Buffer.from(this.signAssertion(xml), 'utf8').toString('base64');
  }

  private signAssertion(xml: string): string {
    return signElement(xml, this.keys, "//*[local-name(.)='Assertion']");
  }
}

/**
 * Signs the element `xpath` names (enveloped, exclusive c14n, RSA-SHA256),
 * the signature right after its Issuer, where the SAML schema wants it.
 */
export function signElement(
  xml: string,
  key: { privateKeyPem: string; certPem: string },
  xpath: string,
): string {
  const sig = new SignedXml({ privateKey: key.privateKeyPem, publicCert: key.certPem });
  sig.addReference({
    xpath,
    digestAlgorithm: 'http://www.w3.org/2001/04/xmlenc#sha256',
    transforms: [
      'http://www.w3.org/2000/09/xmldsig#enveloped-signature',
      'http://www.w3.org/2001/10/xml-exc-c14n#',
    ],
  });
  sig.canonicalizationAlgorithm = 'http://www.w3.org/2001/10/xml-exc-c14n#';
  sig.signatureAlgorithm = 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256';
  sig.computeSignature(xml, {
    location: { reference: `${xpath}/*[local-name(.)='Issuer']`, action: 'after' },
  });
  return sig.getSignedXml();
}
