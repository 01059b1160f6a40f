import { BrokerError } from '../errors.js';
import { decodeBase64Xml } from './response.js';
import { checkIssueInstant, checkWindow } from './time.js';
import { NS, attr, child, children, parseXml, select, textOnly } from './xml.js';

/**
 * An IdP-initiated LogoutRequest (SAML single logout), checked before and
 * beside node-saml: node-saml verifies the signature (and accepts an
 * unsigned HTTP-Redirect request, so we require one), but checks neither the
 * issuer (without idpIssuer), the time (off, as for logins) nor replay.
 */
export interface LogoutRequest {
  id: string;
  nameId: string;
  nameIdFormat: string | undefined;
  sessionIndexes: string[];
  /** Until when this request could be valid: its replay guard lasts that long. */
  validUntilMs: number;
}

/** A LogoutRequest older than this (past clock_skew) is refused. */
const MAX_AGE_SECONDS = 10 * 60;
const MAX_XML = 48 * 1024;

const refuse = (message: string, detail: Record<string, unknown>) =>
  new BrokerError('saml_invalid', message, { detail: { logout: true, ...detail } });

/** The LogoutRequest XML, from either binding; DEFLATE output is capped while it streams. */
export async function readLogoutRequest(
  input:
    | { binding: 'redirect'; query: Record<string, string> }
    | { binding: 'post'; samlRequest: string },
): Promise<string> {
  if (input.binding === 'post') return decodeBase64Xml(input.samlRequest, 'SAMLRequest');
  const { SAMLRequest: b64, Signature, SigAlg } = input.query;
  if (!Signature || !SigAlg) {
    throw refuse('this logout request is not signed: the IdP must sign its LogoutRequest', {
      check: 'signature',
    });
  }
  if (!/sha(256|384|512)$/i.test(SigAlg)) {
    throw refuse('this logout request is not signed with SHA-256 or better', {
      check: 'algorithm',
      algorithm: SigAlg.slice(0, 100),
    });
  }
  let bytes: Uint8Array<ArrayBuffer>;
  try {
    bytes = Uint8Array.from(atob(b64!.replace(/\s+/g, '')), (ch) => ch.charCodeAt(0));
  } catch {
    throw refuse('SAMLRequest is not base64', { check: 'base64' });
  }
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream('deflate-raw'));
  const reader = stream.getReader();
  const chunks: Uint8Array<ArrayBuffer>[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > MAX_XML) {
        await reader.cancel();
        throw refuse('SAMLRequest is larger than 48 KiB', { check: 'size' });
      }
      chunks.push(value as Uint8Array<ArrayBuffer>);
    }
  } catch (e) {
    if (e instanceof BrokerError) throw e;
    throw refuse('SAMLRequest is not DEFLATE-compressed XML', { check: 'deflate' });
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(await new Blob(chunks).arrayBuffer());
  } catch {
    throw refuse('SAMLRequest is not UTF-8 XML', { check: 'utf8' });
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
  if (/<!DOCTYPE|<!ENTITY/i.test(xml) || xml.includes('<!--')) {
    throw refuse('the logout request contains a DOCTYPE, entity or comment, which is refused', {
      check: 'doctype',
    });
  }
  if (xml.replace(/^\uFEFF?\s*<\?xml\s[^>]*\?>/, '').includes('<?')) {
    throw refuse('the logout request contains a processing instruction, which is refused', {
      check: 'processing_instruction',
    });
  }
  const doc = await parseXml(xml);
  if (!doc) throw refuse('the logout request is not well-formed XML', { check: 'xml' });
  const root = doc.documentElement;
  if (root.namespaceURI !== NS.protocol || root.localName !== 'LogoutRequest') {
    throw refuse('this is not a SAML 2.0 LogoutRequest', { check: 'root' });
  }
  const id = attr(root, 'ID');
  if (!id) throw refuse('the logout request has no ID', { check: 'id' });

  const issuer = child(root, NS.assertion, 'Issuer');
  const issuerText = issuer && textOnly(issuer);
  if (issuerText !== expect.idpEntityId) {
    throw refuse(
      `the logout request comes from ${issuerText ?? '(no issuer)'}, not from the configured IdP`,
      { check: 'issuer', issuer: issuerText ?? null },
    );
  }
  const destination = attr(root, 'Destination');
  if (destination !== undefined && destination !== expect.sloUrl) {
    throw refuse(`the logout request is addressed to ${destination}, not to this broker`, {
      check: 'destination',
      destination,
    });
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
    throw refuse('the logout request must name exactly one NameID, directly in the request', {
      check: 'name_id',
      count: nameIds.length,
    });
  }
  const nameId = textOnly(nameIdEl!);
  if (!nameId) throw refuse('the logout request has an empty NameID', { check: 'name_id' });

  if (expect.binding === 'post') {
    const signatures = children(root, NS.dsig, 'Signature');
    if (signatures.length !== 1) {
      throw refuse('this logout request is not signed: the IdP must sign its LogoutRequest', {
        check: 'signature',
      });
    }
  }
  for (const m of select(
    doc,
    "//*[local-name()='SignatureMethod' or local-name()='DigestMethod']",
  )) {
    if (/sha1$/i.test(attr(m, 'Algorithm') ?? '')) {
      throw refuse('this logout request is signed with SHA-1', { check: 'algorithm' });
    }
  }

  const issueInstant = attr(root, 'IssueInstant');
  if (!issueInstant) throw refuse('the logout request has no IssueInstant', { check: 'time' });
  const policy = {
    nowMs: expect.nowMs,
    skewSeconds: expect.skewSeconds,
    maxAgeSeconds: MAX_AGE_SECONDS,
  };
  const issuedMs = checkIssueInstant(issueInstant, policy);
  const notOnOrAfter = attr(root, 'NotOnOrAfter');
  checkWindow({ element: 'LogoutRequest', notOnOrAfter }, policy);

  return {
    id,
    nameId,
    nameIdFormat: attr(nameIdEl!, 'Format'),
    sessionIndexes: children(root, NS.protocol, 'SessionIndex')
      .map((e) => textOnly(e))
      .filter((s): s is string => Boolean(s)),
    validUntilMs: issuedMs + (MAX_AGE_SECONDS + 2 * expect.skewSeconds) * 1000,
  };
}
