import { checkEmail, codePoint } from '../saml/email.js';
import { personSubject } from '../saml/identity.js';
import { BrokerError } from '../shared/errors.js';
import { asciiLower } from '../shared/show.js';

/*
 * A SCIM User (RFC 7643 section 4.1) as a directory sends it, read into what
 * the broker keeps: the resource itself (less what the server owns or must
 * never keep), and the fields derived from it: userName, the person it maps
 * to, externalId and active.
 */

export const USER_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const ENTERPRISE_SCHEMA = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
const MAX_USER_NAME = 256;
const MAX_EXTERNAL_ID = 256;

export interface UserFields {
  userName: string;
  userNameKey: string;
  subject: string;
  externalId: string | null;
  active: boolean;
  resource: Record<string, unknown>;
}

/** Attribute names are case-insensitive (RFC 7643 section 2.1): these are kept as the RFC spells them. */
const CANONICAL = new Map(
  [
    'schemas',
    'userName',
    'externalId',
    'active',
    'emails',
    'name',
    'displayName',
    'id',
    'meta',
    'password',
  ].map((n) => [n.toLowerCase(), n]),
);
/** The server's own (id, meta), and what it must never store (password, returned "never"). */
const NOT_KEPT = new Set(['id', 'meta', 'password']);

const invalidValue = (message: string) => new BrokerError('scim_invalid_value', message);

export const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** The key of `o` that names `name`, whatever its case. */
export function keyOf(o: Record<string, unknown>, name: string): string | undefined {
  const want = asciiLower(name);
  return Object.keys(o).find((k) => asciiLower(k) === want);
}

/** A SCIM boolean: true or false, or Entra ID's "True" and "False" strings. */
export function readBoolean(v: unknown, what: string): boolean {
  if (typeof v === 'boolean') return v;
  if (typeof v === 'string' && (asciiLower(v) === 'true' || asciiLower(v) === 'false')) {
    return asciiLower(v) === 'true';
  }
  throw invalidValue(`${what} must be true or false, not ${JSON.stringify(v)?.slice(0, 50)}`);
}

/** The body's top-level attributes under their RFC spelling, without what is never kept. */
export function normalise(body: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(body)) {
    const name = CANONICAL.get(asciiLower(k)) ?? k;
    if (!NOT_KEPT.has(name)) out[name] = v;
  }
  return out;
}

/** Reads a User a directory sent (POST, PUT, or the result of a PATCH); refuses what cannot be kept. */
/**
 * `defaultActive` is what a User without `active` is: true for a new one; a
 * PUT without it keeps the user as they were, so an update that leaves the
 * attribute out cannot reactivate someone.
 */
export function readUser(body: unknown, defaultActive = true): UserFields {
  if (!isObject(body)) {
    throw new BrokerError(
      'scim_invalid_syntax',
      'the body must be a JSON object: a SCIM User resource',
    );
  }
  const resource = normalise(body);
  const schemas = resource.schemas;
  if (
    !Array.isArray(schemas) ||
    !schemas.some((s) => typeof s === 'string' && asciiLower(s) === asciiLower(USER_SCHEMA))
  ) {
    throw new BrokerError('scim_invalid_syntax', `"schemas" must list ${USER_SCHEMA}`);
  }
  const userName = resource.userName;
  if (typeof userName !== 'string' || userName.trim() === '') {
    throw invalidValue(
      "userName is required: send the person's sign-in name (usually their email address)",
    );
  }
  if (userName.length > MAX_USER_NAME) {
    throw invalidValue(`userName is longer than ${MAX_USER_NAME} characters`);
  }
  const externalId = resource.externalId ?? null;
  if (
    externalId !== null &&
    (typeof externalId !== 'string' || externalId.length > MAX_EXTERNAL_ID)
  ) {
    throw invalidValue(`externalId must be a string of at most ${MAX_EXTERNAL_ID} characters`);
  }
  const active =
    resource.active === undefined ? defaultActive : readBoolean(resource.active, 'active');
  resource.active = active;
  return {
    userName,
    userNameKey: asciiLower(userName),
    subject: personOf(resource, userName),
    externalId,
    active,
    resource,
  };
}

/**
 * The person a User is: `user:<email>` from its primary email, else its work
 * email, else its first, else its userName (Entra ID's userName is usually
 * the UPN, which need not be the address people sign in with), folded
 * exactly as a SAML login folds the email it asserts.
 */
export function personOf(resource: Record<string, unknown>, userName: string): string {
  const emails = resource.emails;
  if (emails !== undefined && emails !== null && !Array.isArray(emails)) {
    throw invalidValue(
      'emails must be a list of {"value": "...", "type": "...", "primary": true|false}',
    );
  }
  const list = (emails ?? []).filter(isObject);
  const field = (e: Record<string, unknown>, name: string) => {
    const k = keyOf(e, name);
    return k === undefined ? undefined : e[k];
  };
  const primary = list.find((e) => {
    const p = field(e, 'primary');
    return p === true || (typeof p === 'string' && asciiLower(p) === 'true');
  });
  const work = list.find((e) => {
    const t = field(e, 'type');
    return typeof t === 'string' && asciiLower(t) === 'work';
  });
  const chosen = primary ?? work ?? list[0];
  const from =
    chosen === undefined
      ? 'userName'
      : chosen === primary
        ? 'the primary email'
        : chosen === work
          ? 'the work email'
          : 'the first email';
  const raw = chosen === undefined ? userName : field(chosen, 'value');
  if (typeof raw !== 'string')
    throw invalidValue(`${from} has no "value": send the address as emails[].value`);
  const checked = checkEmail(raw);
  if (!checked.ok) {
    const why =
      checked.problem === 'not_an_email'
        ? 'it is not an email address'
        : `it holds the ${checked.problem.replace('_', ' ')} ${codePoint(checked.character)}`;
    throw invalidValue(
      `${from} ${JSON.stringify(raw.slice(0, 100))} cannot name the person (${why}): the broker knows people by the email address their SAML login asserts; send it as the user's primary email`,
    );
  }
  return personSubject(checked.email);
}
