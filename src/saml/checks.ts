import { BrokerError } from '../shared/errors.js';
import { showText } from '../shared/show.js';
import { NS, attr, child, parseXml, select, textOnly } from './xml.js';

/**
 * What a SAML message is, so that one set of checks can refuse a login's
 * SAMLResponse and an IdP's LogoutRequest in words that fit each, and say
 * what to do next.
 */
export interface SamlKind {
  /** The form field it arrives in. */
  field: 'SAMLResponse' | 'SAMLRequest';
  /** How refusals name the whole message: `the SAML response`. */
  noun: string;
  /** How refusals name what carries the times and the signature: `this assertion`. */
  signed: string;
  /** The element whose IssueInstant is checked, for the audit detail. */
  element: 'Assertion' | 'LogoutRequest';
  /** The next step after a refusal a fresh attempt can fix. */
  retry: string;
  /** The audit event a refusal is written under, for the administrator. */
  auditEvent: 'login.failed' | 'logout.failed';
  /** Private detail every refusal of this kind carries. */
  detail: Record<string, unknown>;
}

export const LOGIN: SamlKind = {
  field: 'SAMLResponse',
  noun: 'the SAML response',
  signed: 'this assertion',
  element: 'Assertion',
  retry: 'start the login again from /saml/login',
  auditEvent: 'login.failed',
  detail: {},
};

export const LOGOUT: SamlKind = {
  field: 'SAMLRequest',
  noun: 'the logout request',
  signed: 'this logout request',
  element: 'LogoutRequest',
  retry: 'log out again at the IdP',
  auditEvent: 'logout.failed',
  detail: { logout: true },
};

/** The one refusal of a SAML message; `detail` is private (audit log only). */
export function refuse(
  message: string,
  detail: Record<string, unknown>,
  kind: SamlKind = LOGIN,
): BrokerError {
  return new BrokerError('saml_invalid', message, { detail: { ...kind.detail, ...detail } });
}

/**
 * Parses a SAML message after refusing what no IdP sends and attacks need:
 * a DTD or entity (node-saml 5.1 parses a DOCTYPE and silently ignores an
 * external DTD), a comment (canonicalization drops comments, so one can be
 * added to signed content without breaking the signature), a processing
 * instruction, and SHA-1 signatures or digests.
 */
export async function parseSafeXml(xml: string, kind: SamlKind): Promise<Document> {
  const altered = `it was altered after the IdP made it: ${kind.retry}; if it keeps happening, ask the IdP admin what adds it`;
  if (/<!DOCTYPE|<!ENTITY/i.test(xml)) {
    throw refuse(
      `${kind.noun} contains a DOCTYPE or entity declaration, which SAML never needs: ${altered}`,
      { check: 'doctype' },
      kind,
    );
  }
  if (xml.includes('<!--')) {
    throw refuse(
      `${kind.noun} contains an XML comment, which signatures do not cover: ${altered}`,
      { check: 'comment' },
      kind,
    );
  }
  if (xml.replace(/^\uFEFF?\s*<\?xml\s[^>]*\?>/, '').includes('<?')) {
    throw refuse(
      `${kind.noun} contains a processing instruction, which SAML never needs: ${altered}`,
      { check: 'processing_instruction' },
      kind,
    );
  }
  // XML 1.0 allows no control character but tab, CR and LF; xmldom keeps them,
  // and base64 decoders skip them, so a NUL in a SignatureValue still verified.
  // eslint-disable-next-line no-control-regex
  const doc = /[\u0000-\u0008\u000b\u000c\u000e-\u001f]/.test(xml)
    ? undefined
    : await parseXml(xml);
  if (!doc) {
    throw refuse(`${kind.noun} is not well-formed XML: ${kind.retry}`, { check: 'xml' }, kind);
  }
  for (const m of select(
    doc,
    "//*[local-name()='SignatureMethod' or local-name()='DigestMethod']",
  )) {
    const alg = attr(m, 'Algorithm') ?? '';
    if (/sha1$/i.test(alg)) {
      throw refuse(
        `${kind.noun} is signed with SHA-1: ask the IdP admin to sign with SHA-256 (RSA-SHA256)`,
        { check: 'algorithm', algorithm: alg.slice(0, 100) },
        kind,
      );
    }
  }
  // Base64 decoders skip what is not base64, so `]]>` or `!` inside a
  // SignatureValue still verified: one signature, many spellings. XML DSig
  // values are base64 and whitespace, nothing else.
  for (const v of select(doc, "//*[local-name()='SignatureValue' or local-name()='DigestValue']")) {
    if (!/^[A-Za-z0-9+/=\s]*$/.test(v.textContent ?? '')) {
      throw refuse(
        `${kind.noun} has a ${v.localName} that is not base64: ${altered}`,
        { check: 'signature_encoding' },
        kind,
      );
    }
  }
  return doc;
}

/**
 * The Issuer of `el` must be the configured IdP; `optional` lets a Response
 * leave its own Issuer out (its assertion's is still required).
 */
export function checkIssuer(
  el: Element,
  o: { idpEntityId: string; what: string; check: string; optional?: boolean; kind?: SamlKind },
): void {
  const issuer = child(el, NS.assertion, 'Issuer');
  if (!issuer && o.optional) return;
  const text = issuer && textOnly(issuer);
  if (text !== o.idpEntityId) {
    // Unsigned yet, and quoted on a page of ours: short and escaped (see showText).
    const shown = !issuer
      ? '(no Issuer)'
      : text === undefined
        ? '(an unreadable Issuer)'
        : showText(text);
    throw refuse(
      `${o.what} comes from ${shown}, not from the configured IdP ${o.idpEntityId}: if the IdP's entity ID changed, ask the broker's administrator to update sso.saml.idp (or refresh its metadata)`,
      { check: o.check, issuer: text ?? null },
      o.kind,
    );
  }
}
