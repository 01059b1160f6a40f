import { sha256Hex } from '../../src/shared/crypto.js';
import { startSamlBroker, type SamlTestBroker } from '../helpers/saml-broker.js';

export const SCIM_SECRET = 'scim-secret-for-tests-0123456789abcdef';
export const USER_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const PATCH_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
export const ERROR_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:Error';

export interface ScimTestBroker extends SamlTestBroker {
  /** A SCIM request as a directory sends it: the bearer secret, JSON as application/scim+json. */
  scim(
    method: string,
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<Response>;
}

/** The SAML test broker (real app, SQLite file, ManualClock, test IdP) with `scim` configured. */
export async function startScimBroker(scim: Record<string, unknown> = {}): Promise<ScimTestBroker> {
  const t = await startSamlBroker({
    config: { scim: { token_sha256: await sha256Hex(SCIM_SECRET), ...scim } },
  });
  return Object.assign(t, {
    async scim(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
      return t.broker.app.request(`/scim/v2${path}`, {
        method,
        headers: {
          Authorization: `Bearer ${SCIM_SECRET}`,
          ...(body === undefined ? {} : { 'Content-Type': 'application/scim+json' }),
          ...headers,
        },
        ...(body === undefined
          ? {}
          : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
      });
    },
  });
}

/** The User Okta sends on assignment (Okta's SCIM 2.0 guide). */
export const oktaUser = (email = 'alice@example.com') => ({
  schemas: [USER_SCHEMA],
  userName: email,
  name: { givenName: 'Alice', familyName: 'Smith' },
  emails: [{ primary: true, value: email, type: 'work' }],
  displayName: 'Alice Smith',
  locale: 'en-US',
  externalId: '00ujl29u0le5T6Aj10h7',
  groups: [],
  password: 'never-stored-P4ss!',
  active: true,
});

/** The User Entra ID sends: userName is the UPN, the email is a work email, active may be a string. */
export const entraUser = (upn = 'alice@contoso.onmicrosoft.com', email = 'Alice@Example.com') => ({
  schemas: [USER_SCHEMA, 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User'],
  externalId: '0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef',
  userName: upn,
  active: true,
  emails: [{ primary: false, type: 'work', value: email }],
  meta: { resourceType: 'User' },
  name: { formatted: 'Alice Smith', familyName: 'Smith', givenName: 'Alice' },
  'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User': { department: 'ML' },
});
