import { showText } from '../shared/show.js';
import { readStreamCapped } from '../shared/fetch-json.js';
import { LOGOUT, checkIssuer, parseSafeXml, refuse } from './checks.js';
import { decodeBase64Xml } from './response.js';
import { checkIssueInstant, checkWindow } from './time.js';
import { NS, attr, children, select, textOnly } from './xml.js';

/**
 * An IdP-initiated LogoutRequest (SAML single logout), checked before and
 * beside node-saml: node-saml verifies the signature (and accepts an
 * unsigned HTTP-Redirect request, so we require one), but checks neither the
 * issuer (without idpIssuer), the time (off, as for logins) nor replay.
 */
export interface LogoutRequest {
  id: string;
  nameId: string;
  /** Until when this request could be valid: its replay guard lasts that long. */
  validUntilMs: number;
}

/** A LogoutRequest older than this (past clock_skew) is refused. */
const MAX_AGE_SECONDS = 10 * 60;
const MAX_XML = 48 * 1024;
const FIX_IDP = "ask the IdP admin to check the IdP's single-logout settings for this application";
const UNSIGNED =
  'this logout request is not signed: ask the IdP admin to sign logout requests for this application';

const fail = (message: string, detail: Record<string, unknown>) => refuse(message, detail, LOGOUT);

/** The LogoutRequest XML, from either binding; DEFLATE output is capped while it streams. */
export async function readLogoutRequest(
  input:
    | { binding: 'redirect'; query: Record<string, string> }
    | { binding: 'post'; samlRequest: string },
): Promise<string> {
  if (input.binding === 'post') return decodeBase64Xml(input.samlRequest, LOGOUT);
  const { SAMLRequest: b64, Signature, SigAlg } = input.query;
  if (!Signature || !SigAlg) throw fail(UNSIGNED, { check: 'signature' });
  if (!/sha(256|384|512)$/i.test(SigAlg)) {
    throw fail(
      'this logout request is not signed with SHA-256 or better: ask the IdP admin to sign with SHA-256 (RSA-SHA256)',
      { check: 'algorithm', algorithm: SigAlg.slice(0, 100) },
    );
  }
  const retry = `: ${LOGOUT.retry}; if it keeps happening, ${FIX_IDP}`;
  let bytes: Uint8Array<ArrayBuffer>;
  try {
    bytes = Uint8Array.from(atob(b64!.replace(/\s+/g, '')), (ch) => ch.charCodeAt(0));
  } catch {
    throw fail(`SAMLRequest is not base64${retry}`, { check: 'base64' });
  }
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream('deflate-raw'));
  let xml: Uint8Array<ArrayBuffer> | undefined;
  try {
    xml = await readStreamCapped(stream, MAX_XML);
  } catch {
    throw fail(`SAMLRequest is not DEFLATE-compressed XML${retry}`, { check: 'deflate' });
  }
  if (!xml) throw fail(`SAMLRequest is larger than 48 KiB: ${FIX_IDP}`, { check: 'size' });
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(xml);
  } catch {
    throw fail(`SAMLRequest is not UTF-8 XML: ${FIX_IDP}`, { check: 'utf8' });
  }
}

export async function inspectLogoutRequest(
  xml: string,
  expect: {
    binding: 'redirect' | 'post';
    idpEntityId: string;
    sloUrl: string;
    nowMs: number;
    skewSeconds: number;
  },
): Promise<LogoutRequest> {
  const doc = await parseSafeXml(xml, LOGOUT);
  const root = doc.documentElement;
  if (root.namespaceURI !== NS.protocol || root.localName !== 'LogoutRequest') {
    throw fail(
      `this is not a SAML 2.0 LogoutRequest: ask the IdP admin to send logout requests to ${expect.sloUrl} (and login responses to /saml/acs)`,
      { check: 'root' },
    );
  }
  const id = attr(root, 'ID');
  if (!id) throw fail(`the logout request has no ID: ${FIX_IDP}`, { check: 'id' });

  checkIssuer(root, {
    idpEntityId: expect.idpEntityId,
    what: 'the logout request',
    check: 'issuer',
    kind: LOGOUT,
  });
  const destination = attr(root, 'Destination');
  if (destination !== undefined && destination !== expect.sloUrl) {
    throw fail(
      `the logout request is addressed to ${showText(destination)}, not to this broker: ask the IdP admin to set the single-logout URL to ${expect.sloUrl}`,
      { check: 'destination', destination },
    );
  }
  // One NameID, directly in the request: the signature of a POSTed request
  // leaves the inside of ds:Signature (a ds:Object) unsigned.
  const nameIds = select(doc, "//*[local-name()='NameID' or local-name()='EncryptedID']");
  const nameIdEl = nameIds[0];
  if (
    nameIds.length !== 1 ||
    nameIdEl!.parentNode !== root ||
    nameIdEl!.namespaceURI !== NS.assertion ||
    nameIdEl!.localName !== 'NameID'
  ) {
    throw fail(
      `the logout request must name exactly one plain NameID, directly in the request: ${FIX_IDP} (encrypted NameIDs are not supported)`,
      { check: 'name_id', count: nameIds.length },
    );
  }
  const nameId = textOnly(nameIdEl!);
  if (!nameId) {
    throw fail(`the logout request has an empty NameID: ${FIX_IDP}`, { check: 'name_id' });
  }

  if (expect.binding === 'post') {
    const signatures = children(root, NS.dsig, 'Signature');
    if (signatures.length === 0) throw fail(UNSIGNED, { check: 'signature' });
    if (signatures.length > 1) {
      throw fail(
        `the logout request carries ${signatures.length} signatures, where the IdP signs once: ${LOGOUT.retry}; if it keeps happening, ${FIX_IDP}`,
        { check: 'signature', count: signatures.length },
      );
    }
  }

  const issueInstant = attr(root, 'IssueInstant');
  if (!issueInstant) {
    throw fail(`the logout request has no IssueInstant: ${FIX_IDP}`, { check: 'time' });
  }
  const policy = {
    nowMs: expect.nowMs,
    skewSeconds: expect.skewSeconds,
    maxAgeSeconds: MAX_AGE_SECONDS,
    maxAgeName: 'the age a logout request may have',
    kind: LOGOUT,
  };
  const issuedMs = checkIssueInstant(issueInstant, policy);
  const notOnOrAfter = attr(root, 'NotOnOrAfter');
  checkWindow({ element: 'LogoutRequest', notOnOrAfter }, policy);

  return {
    id,
    nameId,
    validUntilMs: issuedMs + (MAX_AGE_SECONDS + 2 * expect.skewSeconds) * 1000,
  };
}
