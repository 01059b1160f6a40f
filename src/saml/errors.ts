import { SamlStatusError } from '@node-saml/node-saml';
import type { Saml } from '../config/compile.js';
import { BrokerError } from '../errors.js';

/**
 * node-saml throws plain Errors whose messages are its only interface; this
 * maps the ones a person can act on to a message that says what to do, and
 * keeps node-saml's own words in the private detail.
 */
const RULES: Array<[RegExp, (saml: Saml) => string]> = [
  [
    /signature|too many transforms|referenced node|cannot refer/i,
    () =>
      "the SAML assertion is not signed by the IdP's certificate: if the IdP rotated its signing certificate, add the new one to sso.saml.idp (or refresh its metadata); make sure the IdP signs the assertion",
  ],
  [
    /InResponseTo is missing/i,
    () =>
      'this login was not started here (IdP-initiated logins are off): open this site and log in from it, or set sso.saml.allow_idp_initiated: true',
  ],
  [
    /InResponseTo/i,
    () =>
      'this login response does not answer a login started here, or it was already used or took too long: start again from this site',
  ],
  [
    /audience|AudienceRestriction/i,
    (saml) =>
      `the assertion is meant for another application (Audience): set the IdP's Audience URI / SP Entity ID to ${saml.entityId}`,
  ],
  [
    /decrypt|EncryptedAssertion/i,
    () => 'encrypted assertions are not supported: turn off assertion encryption in the IdP',
  ],
  [/Missing SAML assertion/i, () => 'the SAML response carries no assertion: try again'],
];

export function fromNodeSaml(e: unknown, saml: Saml): BrokerError {
  if (e instanceof BrokerError) return e;
  const message = e instanceof Error ? e.message : String(e);
  if (e instanceof SamlStatusError) {
    return new BrokerError('saml_invalid', `the IdP did not log you in: ${message}`, {
      detail: { check: 'status', nodeSaml: message },
    });
  }
  const rule = RULES.find(([re]) => re.test(message));
  return new BrokerError(
    'saml_invalid',
    rule ? rule[1](saml) : `the SAML response was refused: ${message}`,
    { detail: { check: 'node-saml', nodeSaml: message.slice(0, 300) } },
  );
}
