import { LOGIN, checkIssuer, refuse } from './checks.js';
import { checkIssueInstant, checkWindow, parseInstant, type TimePolicy } from './time.js';
import { NS, attr, child, children, parseXml, textOnly } from './xml.js';

/**
 * Checks on the assertion node-saml verified (the signed bytes it returns,
 * never the unsigned document around them) that node-saml leaves to us, and
 * what we read from it: the subject and the attributes.
 */
interface AssertionExpectations {
  acsUrl: string;
  idpEntityId: string;
  /** The Response's InResponseTo; undefined for an IdP-initiated login. */
  inResponseTo: string | undefined;
  time: TimePolicy;
}

export interface SamlAttribute {
  name: string;
  friendlyName: string | undefined;
  values: string[];
}

export interface VerifiedAssertion {
  id: string;
  nameId: string;
  nameIdFormat: string | undefined;
  sessionIndex: string | undefined;
  attributes: SamlAttribute[];
  /** Latest instant at which the assertion can still be presented, for the replay guard. */
  validUntilMs: number;
}

const BEARER = 'urn:oasis:names:tc:SAML:2.0:cm:bearer';
const FIX_IDP = "ask the IdP admin to check the IdP's SAML settings for this application";

export async function checkAssertion(
  signedXml: string,
  expect: AssertionExpectations,
): Promise<VerifiedAssertion> {
  const doc = await parseXml(signedXml);
  const a = doc?.documentElement;
  if (!a || a.namespaceURI !== NS.assertion || a.localName !== 'Assertion') {
    throw refuse(
      'the signed part of the SAML response is not an Assertion: ask the IdP admin to sign the assertion itself, not only the response',
      { check: 'signed' },
    );
  }
  const id = attr(a, 'ID');
  if (!id) throw refuse(`the assertion has no ID: ${FIX_IDP}`, { check: 'id' });

  checkIssuer(a, { idpEntityId: expect.idpEntityId, what: 'the assertion', check: 'issuer' });

  const issueInstant = attr(a, 'IssueInstant');
  if (!issueInstant) {
    throw refuse(`the assertion has no IssueInstant: ${FIX_IDP}`, { check: 'issue_instant' });
  }
  checkIssueInstant(issueInstant, expect.time);

  const conditions = children(a, NS.assertion, 'Conditions');
  if (conditions.length !== 1) {
    throw refuse(
      `the assertion must have exactly one Conditions element; it has ${conditions.length}: ${FIX_IDP}`,
      { check: 'conditions', count: conditions.length },
    );
  }
  const cond = conditions[0]!;
  checkWindow(
    {
      element: 'Conditions',
      notBefore: attr(cond, 'NotBefore'),
      notOnOrAfter: attr(cond, 'NotOnOrAfter'),
    },
    expect.time,
  );

  const subject = child(a, NS.assertion, 'Subject');
  const nameIds = subject ? children(subject, NS.assertion, 'NameID') : [];
  const nameId = nameIds.length === 1 ? textOnly(nameIds[0]!) : undefined;
  if (!nameId) {
    throw refuse(
      `the assertion must name its subject with exactly one plain-text NameID: ${FIX_IDP}`,
      { check: 'name_id', count: nameIds.length },
    );
  }
  const scd = bearerConfirmation(subject!, expect);
  checkWindow(
    {
      element: 'SubjectConfirmationData',
      notBefore: attr(scd, 'NotBefore'),
      notOnOrAfter: attr(scd, 'NotOnOrAfter'),
    },
    expect.time,
  );

  const ends = [attr(cond, 'NotOnOrAfter'), attr(scd, 'NotOnOrAfter')]
    .filter((v): v is string => v !== undefined)
    .map((v) => parseInstant(v, 'NotOnOrAfter', LOGIN));
  const authn = child(a, NS.assertion, 'AuthnStatement');
  return {
    id,
    nameId,
    nameIdFormat: attr(nameIds[0]!, 'Format'),
    sessionIndex: authn && attr(authn, 'SessionIndex'),
    attributes: readAttributes(a),
    validUntilMs:
      (ends.length ? Math.max(...ends) : expect.time.nowMs) + expect.time.skewSeconds * 1000,
  };
}

/**
 * The bearer SubjectConfirmation addressed to our ACS (Recipient) and, for
 * a login we started, answering our request (InResponseTo).
 */
function bearerConfirmation(subject: Element, expect: AssertionExpectations): Element {
  const datas = children(subject, NS.assertion, 'SubjectConfirmation')
    .filter((sc) => attr(sc, 'Method') === BEARER)
    .map((sc) => child(sc, NS.assertion, 'SubjectConfirmationData'))
    .filter((d): d is Element => d !== undefined);
  if (datas.length === 0) {
    throw refuse(
      'the assertion has no bearer SubjectConfirmationData: ask the IdP admin to use bearer subject confirmation (the usual one for browser SSO)',
      { check: 'subject_confirmation' },
    );
  }
  const forUs = datas.filter((d) => attr(d, 'Recipient') === expect.acsUrl);
  if (forUs.length === 0) {
    const recipient = attr(datas[0]!, 'Recipient');
    throw refuse(
      `the assertion is addressed to ${recipient ?? '(no Recipient)'}, not to this broker: ask the IdP admin to set the ACS URL (Recipient) to ${expect.acsUrl}`,
      { check: 'recipient', recipient: recipient ?? null },
    );
  }
  const answering = forUs.find((d) => attr(d, 'InResponseTo') === expect.inResponseTo);
  if (!answering) {
    throw refuse(`the assertion answers another login request than its response: ${LOGIN.retry}`, {
      check: 'subject_in_response_to',
    });
  }
  return answering;
}

function readAttributes(a: Element): SamlAttribute[] {
  const out: SamlAttribute[] = [];
  for (const statement of children(a, NS.assertion, 'AttributeStatement')) {
    for (const at of children(statement, NS.assertion, 'Attribute')) {
      const name = attr(at, 'Name');
      if (!name) continue;
      const values: string[] = [];
      for (const v of children(at, NS.assertion, 'AttributeValue')) {
        const text = textOnly(v);
        // Structured values (XML inside) are not attributes we map.
        if (text !== undefined && text !== '') values.push(text);
      }
      out.push({ name, friendlyName: attr(at, 'FriendlyName'), values });
    }
  }
  return out;
}
