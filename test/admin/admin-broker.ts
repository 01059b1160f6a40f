import {
  ROLES,
  csrfOf,
  get,
  startSamlBroker,
  type SamlTestBroker,
} from '../helpers/saml-broker.js';

/** The test roles plus one that opens /admin, matched on the IdP's `broker-admins` group. */
export const ADMIN_ROLES = [
  ...ROLES,
  { name: 'broker-admins', when: { groups: 'broker-admins' }, grant: ['read:**'], admin: true },
];

export const ADMIN = 'root@example.com';
export const ALICE = 'alice@example.com';

/** A SAML broker whose config has an admin role (extra config keys merged in). */
export function startAdminBroker(config: Record<string, unknown> = {}): Promise<SamlTestBroker> {
  return startSamlBroker({ sso: { roles: ADMIN_ROLES }, config });
}

/** Logs a person in through the IdP; returns their session cookie and their page's CSRF field. */
export async function loginAs(
  t: SamlTestBroker,
  email: string,
  groups: string[],
): Promise<{ cookie: string; csrf: string }> {
  const cookie = await t.login({ nameId: email, attributes: { email: [email], groups } });
  return { cookie, csrf: await csrfOf(t, cookie) };
}

export const loginAdmin = (t: SamlTestBroker) => loginAs(t, ADMIN, ['broker-admins']);
export const loginAlice = (t: SamlTestBroker) => loginAs(t, ALICE, ['ml-engineers']);

/** GET /admin as `cookie`: the status and the page. */
export async function adminPage(
  t: SamlTestBroker,
  cookie: string,
  query = '',
): Promise<{ status: number; html: string }> {
  const res = await get(t, `/admin${query}`, cookie);
  return { status: res.status, html: await res.text() };
}
