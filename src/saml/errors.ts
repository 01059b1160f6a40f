import type { Saml } from '../config/compile.js';
import { BrokerError } from '../shared/errors.js';
import { LOGIN, type SamlKind } from './checks.js';

/**
 * node-saml throws plain Errors whose messages are its only interface; this
 * maps the ones a person can act on to a message that says what to do, and
 * keeps node-saml's own words in the private detail. (Our checks refuse a
 * failed, unsolicited, encrypted or assertion-less response before node-saml
 * sees it, and node-saml's InResponseTo checks are off, so only these are left.)
 */
const RULES: Array<[RegExp, (saml: Saml, kind: SamlKind) => string]> = [
  [
    /signature|too many transforms|referenced node|cannot refer/i,
    (_saml, kind) =>
      kind === LOGIN
        ? "the SAML assertion is not signed by the IdP's certificate: if the IdP rotated its signing certificate, ask the broker's administrator to add the new one to sso.saml.idp (or refresh its metadata); ask the IdP admin to sign the assertion"
        : `${kind.signed} is not signed by the IdP's certificate: if the IdP rotated its signing certificate, ask the broker's administrator to add the new one to sso.saml.idp (or refresh its metadata); ask the IdP admin to sign logout requests`,
  ],
  [
    /audience|AudienceRestriction/i,
    (saml) =>
      `the assertion is meant for another application (Audience): ask the IdP admin to set the Audience URI / SP Entity ID to ${saml.entityId}`,
  ],
];

export function fromNodeSaml(e: unknown, saml: Saml, kind: SamlKind = LOGIN): BrokerError {
  if (e instanceof BrokerError) return e;
  const message = e instanceof Error ? e.message : String(e);
  const nodeSaml = message.slice(0, 300);
  const rule = RULES.find(([re]) => re.test(message));
  return new BrokerError(
    'saml_invalid',
    rule
      ? rule[1](saml, kind)
      : `${kind.noun} was refused by the SAML checks: ${kind.retry}; if it keeps happening, ask the broker's administrator to look up the ${kind.auditEvent} entry in the audit log`,
    { detail: { ...kind.detail, check: 'node-saml', nodeSaml } },
  );
}
