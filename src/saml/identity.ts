import type { Saml } from '../config/compile.js';
import { BrokerError } from '../shared/errors.js';
import type { SamlAttribute, VerifiedAssertion } from './assertion.js';
import { EMAIL, MAX_EMAIL_LENGTH, checkEmail, codePoint, type EmailCheck } from './email.js';

/** Who logged in, as the session keeps it. */
export interface Identity {
  email: string;
  name: string | undefined;
  groups: string[];
  /**
   * Every value a role's `when` can test, by key: `email`, `name`, `groups`,
   * `nameid`, and each attribute under its Name and its FriendlyName.
   */
  claims: Record<string, string[]>;
}

/** Whether an opaque-looking value (a NameID of any format) is an email address. */
export const looksLikeEmail = (s: string) => s.length <= MAX_EMAIL_LENGTH && EMAIL.test(s);
export const EMAIL_NAME_ID = 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress';
// Caps keep a session row small even when an IdP sends every group there is.
const MAX_VALUES = 500;
const MAX_ATTRIBUTES = 100;

function lookup(attributes: SamlAttribute[], names: string[]): string[] {
  for (const n of names) {
    const hit = attributes.find((a) => a.name === n || a.friendlyName === n);
    if (hit && hit.values.length) return hit.values;
  }
  return [];
}

export function mapIdentity(a: VerifiedAssertion, saml: Saml): Identity {
  const fromAttribute = lookup(a.attributes, saml.attributes.email)[0];
  const fromNameId =
    a.nameIdFormat === EMAIL_NAME_ID || looksLikeEmail(a.nameId) ? a.nameId : undefined;
  const raw = fromAttribute ?? fromNameId;
  const checked: EmailCheck =
    raw === undefined ? { ok: false, problem: 'not_an_email' } : checkEmail(raw);
  if (!checked.ok)
    throw emailRefused(
      checked,
      fromAttribute === undefined ? 'NameID' : 'email attribute',
      raw,
      a,
      saml,
    );
  const { email } = checked;
  const name = lookup(a.attributes, saml.attributes.name)[0];
  const groups = lookup(a.attributes, saml.attributes.groups).slice(0, MAX_VALUES);

  // No prototype: attribute names come from the IdP, and `__proto__` must stay an ordinary name.
  const claims: Record<string, string[]> = Object.create(null);
  for (const at of a.attributes.slice(0, MAX_ATTRIBUTES)) {
    const values = at.values.slice(0, MAX_VALUES);
    claims[at.name] = values;
    if (at.friendlyName) claims[at.friendlyName] = values;
  }
  claims.nameid = [a.nameId];
  claims.email = [email];
  claims.name = name ? [name] : [];
  claims.groups = groups;
  return { email, name, groups, claims };
}

export const personSubject = (email: string) => `user:${email}`;

function emailRefused(
  checked: Exclude<EmailCheck, { ok: true }>,
  from: string,
  raw: string | undefined,
  a: VerifiedAssertion,
  saml: Saml,
): BrokerError {
  if (checked.problem === 'not_an_email') {
    return new BrokerError(
      'saml_invalid',
      `the IdP sent no email address for you: send NameID in emailAddress format, or an attribute named ${saml.attributes.email[0]} (sso.saml.attributes.email)`,
      { detail: { check: 'email', nameIdFormat: a.nameIdFormat ?? null } },
    );
  }
  const what =
    checked.problem === 'invisible_character'
      ? 'an invisible, control or space character'
      : 'a character that Unicode normalization or case folding turns into another';
  return new BrokerError(
    'saml_invalid',
    `the IdP asserted an email address for you that could be confused with another person's: it contains ${what} (${codePoint(checked.character)}). This broker refuses such addresses rather than guess who you are: ask your IdP administrator to give your account a plain address (ASCII, or Unicode in its normalized lower-case form)`,
    {
      detail: {
        check: 'email',
        problem: checked.problem,
        character: codePoint(checked.character),
        from,
        asserted: raw,
      },
    },
  );
}
