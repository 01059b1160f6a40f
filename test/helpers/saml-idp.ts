import { randomUUID } from 'node:crypto';
import { createSign } from 'node:crypto';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { signElement } from '../../src/demo/saml-idp.js';
import { selfSignedCert, type TestKeyPair } from './x509.js';

/**
 * A SAML IdP for tests: it builds Responses the way Okta or Keycloak do and
 * signs them for real (xml-crypto, RSA-SHA256, exclusive c14n), so the
 * broker's ACS runs its real checks. Attack tests take a signed response and
 * alter it afterwards.
 */
export const IDP_ENTITY_ID = 'https://idp.test/metadata';
export const IDP_SSO_URL = 'https://idp.test/sso';
const EMAIL_FORMAT = 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress';
const SAMLP = 'urn:oasis:names:tc:SAML:2.0:protocol';
const SAML = 'urn:oasis:names:tc:SAML:2.0:assertion';

export interface ResponseOptions {
  acsUrl: string;
  audience: string;
  inResponseTo?: string | undefined;
  nameId?: string;
  attributes?: Record<string, string[]>;
  /** Milliseconds; defaults to the IdP's clock. */
  issueInstant?: number;
  notBefore?: number;
  notOnOrAfter?: number;
  destination?: string;
  recipient?: string;
  issuer?: string;
  assertionId?: string;
  statusCode?: string;
  signAssertion?: boolean;
  signResponse?: boolean;
  /** Sign with this key instead of the IdP's (a forger's key). */
  key?: TestKeyPair;
}

const esc = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const iso = (ms: number) => new Date(ms).toISOString();

export class TestIdp {
  readonly keys: TestKeyPair;

  constructor(
    private readonly now: () => number,
    readonly entityId = IDP_ENTITY_ID,
    readonly ssoUrl = IDP_SSO_URL,
    readonly sloUrl?: string,
  ) {
    this.keys = selfSignedCert('test-idp');
  }

  metadataXml(): string {
    const slo = this.sloUrl
      ? `<md:SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="${esc(this.sloUrl)}"/>`
      : '';
    return `<?xml version="1.0"?>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="${esc(this.entityId)}">
  <md:IDPSSODescriptor WantAuthnRequestsSigned="false" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>${this.keys.certBase64}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>
    ${slo}
    <md:NameIDFormat>${EMAIL_FORMAT}</md:NameIDFormat>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="${esc(this.ssoUrl)}"/>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="${esc(this.ssoUrl)}"/>
  </md:IDPSSODescriptor>
</md:EntityDescriptor>`;
  }

  /** The unsigned Response XML. */
  responseXml(o: ResponseOptions): string {
    const now = o.issueInstant ?? this.now();
    const notBefore = o.notBefore ?? now;
    const notOnOrAfter = o.notOnOrAfter ?? now + 5 * 60_000;
    const irt = o.inResponseTo ? ` InResponseTo="${esc(o.inResponseTo)}"` : '';
    const attrs = Object.entries(
      o.attributes ?? { email: ['alice@example.com'], groups: ['ml-engineers'] },
    )
      .map(
        ([name, values]) =>
          `<saml:Attribute Name="${esc(name)}" NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:basic">${values
            .map((v) => `<saml:AttributeValue>${esc(v)}</saml:AttributeValue>`)
            .join('')}</saml:Attribute>`,
      )
      .join('');
    const issuer = esc(o.issuer ?? this.entityId);
    return `<samlp:Response xmlns:samlp="${SAMLP}" xmlns:saml="${SAML}" ID="_r${randomUUID()}" Version="2.0" IssueInstant="${iso(now)}" Destination="${esc(o.destination ?? o.acsUrl)}"${irt}><saml:Issuer>${issuer}</saml:Issuer><samlp:Status><samlp:StatusCode Value="${esc(o.statusCode ?? 'urn:oasis:names:tc:SAML:2.0:status:Success')}"/></samlp:Status><saml:Assertion xmlns:saml="${SAML}" ID="${esc(o.assertionId ?? `_a${randomUUID()}`)}" Version="2.0" IssueInstant="${iso(now)}"><saml:Issuer>${issuer}</saml:Issuer><saml:Subject><saml:NameID Format="${EMAIL_FORMAT}">${esc(o.nameId ?? 'alice@example.com')}</saml:NameID><saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml:SubjectConfirmationData NotOnOrAfter="${iso(notOnOrAfter)}" Recipient="${esc(o.recipient ?? o.acsUrl)}"${irt}/></saml:SubjectConfirmation></saml:Subject><saml:Conditions NotBefore="${iso(notBefore)}" NotOnOrAfter="${iso(notOnOrAfter)}"><saml:AudienceRestriction><saml:Audience>${esc(o.audience)}</saml:Audience></saml:AudienceRestriction></saml:Conditions><saml:AuthnStatement AuthnInstant="${iso(now)}" SessionIndex="_s${randomUUID()}"><saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement><saml:AttributeStatement>${attrs}</saml:AttributeStatement></saml:Assertion></samlp:Response>`;
  }

  /** Signs the assertion (and, if asked, the response) of `xml`. */
  sign(
    xml: string,
    o: Pick<ResponseOptions, 'signAssertion' | 'signResponse' | 'key'> = {},
  ): string {
    const key = o.key ?? this.keys;
    let out = xml;
    if (o.signAssertion ?? true) {
      out = signElement(out, key, "//*[local-name(.)='Assertion']");
    }
    if (o.signResponse) out = signElement(out, key, "/*[local-name(.)='Response']");
    return out;
  }

  /** A signed Response, base64 as the browser posts it. */
  response(o: ResponseOptions): string {
    return b64(this.sign(this.responseXml(o), o));
  }
}

export interface LogoutRequestOptions {
  /** Our SLO URL (the Destination). */
  destination: string;
  nameId?: string;
  sessionIndex?: string;
  issuer?: string;
  id?: string;
  /** Milliseconds; defaults to the IdP's clock. */
  issueInstant?: number;
  /** Milliseconds; no NotOnOrAfter when absent. */
  notOnOrAfter?: number;
  /** Sign the HTTP-Redirect query with RSA-SHA1 instead of RSA-SHA256. */
  sha1?: boolean;
  key?: TestKeyPair;
}

export class TestIdpLogout {
  constructor(
    private readonly idp: TestIdp,
    private readonly now: () => number,
  ) {}

  xml(o: LogoutRequestOptions): string {
    const issued = o.issueInstant ?? this.now();
    const until = o.notOnOrAfter === undefined ? '' : ` NotOnOrAfter="${iso(o.notOnOrAfter)}"`;
    const index = o.sessionIndex
      ? `<samlp:SessionIndex>${esc(o.sessionIndex)}</samlp:SessionIndex>`
      : '';
    return `<samlp:LogoutRequest xmlns:samlp="${SAMLP}" xmlns:saml="${SAML}" ID="${esc(o.id ?? `_l${randomUUID()}`)}" Version="2.0" IssueInstant="${iso(issued)}"${until} Destination="${esc(o.destination)}"><saml:Issuer>${esc(o.issuer ?? this.idp.entityId)}</saml:Issuer><saml:NameID Format="${EMAIL_FORMAT}">${esc(o.nameId ?? 'alice@example.com')}</saml:NameID>${index}</samlp:LogoutRequest>`;
  }

  /** The query string of an HTTP-Redirect LogoutRequest, signed as the binding says. */
  redirectQuery(o: LogoutRequestOptions, relayState?: string): string {
    const enc = encodeURIComponent;
    const request = deflateRawSync(Buffer.from(this.xml(o))).toString('base64');
    const sigAlg = o.sha1
      ? 'http://www.w3.org/2000/09/xmldsig#rsa-sha1'
      : 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256';
    const signed = `SAMLRequest=${enc(request)}${relayState ? `&RelayState=${enc(relayState)}` : ''}&SigAlg=${enc(sigAlg)}`;
    const signature = createSign(o.sha1 ? 'RSA-SHA1' : 'RSA-SHA256')
      .update(signed)
      .sign((o.key ?? this.idp.keys).privateKeyPem, 'base64');
    return `${signed}&Signature=${enc(signature)}`;
  }

  /** The signed XML of an HTTP-POST LogoutRequest (enveloped signature on the root). */
  postXml(o: LogoutRequestOptions): string {
    return signElement(this.xml(o), o.key ?? this.idp.keys, "/*[local-name(.)='LogoutRequest']");
  }
}

export { signElement };

export const b64 = (xml: string) => Buffer.from(xml, 'utf8').toString('base64');
export const unb64 = (s: string) => Buffer.from(s, 'base64').toString('utf8');

/** What an AuthnRequest carried, read from the broker's redirect to the IdP. */
export function readAuthnRequest(location: string): {
  id: string;
  acsUrl: string;
  relayState: string | null;
  xml: string;
} {
  const url = new URL(location);
  const xml = inflateRawSync(
    Buffer.from(url.searchParams.get('SAMLRequest')!, 'base64'),
  ).toString();
  return {
    id: /\sID="([^"]+)"/.exec(xml)![1]!,
    acsUrl: /AssertionConsumerServiceURL="([^"]+)"/.exec(xml)![1]!,
    relayState: url.searchParams.get('RelayState'),
    xml,
  };
}
