import { USER_SCHEMA, ENTERPRISE_SCHEMA } from './user.js';
import { MAX_RESULTS } from './users.js';

/*
 * What a directory reads before it provisions (RFC 7644 section 4):
 * ServiceProviderConfig, ResourceTypes and Schemas. Okta and Entra ID read
 * ServiceProviderConfig to decide whether to PATCH or PUT and whether to filter.
 */

export const LIST_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';
const SPC_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig';
const RT_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:ResourceType';
const SCHEMA_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:Schema';

const meta = (base: string, resourceType: string, path: string) => ({
  resourceType,
  location: `${base}${path}`,
});

export function serviceProviderConfig(base: string) {
  return {
    schemas: [SPC_SCHEMA],
    patch: { supported: true },
    bulk: { supported: false, maxOperations: 0, maxPayloadSize: 0 },
    filter: { supported: true, maxResults: MAX_RESULTS },
    changePassword: { supported: false },
    sort: { supported: false },
    etag: { supported: false },
    authenticationSchemes: [
      {
        type: 'oauthbearertoken',
        name: 'Bearer token',
        description:
          'The secret whose SHA-256 is scim.token_sha256 in the broker config, as Authorization: Bearer <secret>',
        primary: true,
      },
    ],
    meta: meta(base, 'ServiceProviderConfig', '/ServiceProviderConfig'),
  };
}

export function userResourceType(base: string) {
  return {
    schemas: [RT_SCHEMA],
    id: 'User',
    name: 'User',
    endpoint: '/Users',
    description: 'A person, known to the broker as user:<email>',
    schema: USER_SCHEMA,
    schemaExtensions: [{ schema: ENTERPRISE_SCHEMA, required: false }],
    meta: meta(base, 'ResourceType', '/ResourceTypes/User'),
  };
}

const attr = (name: string, extra: Record<string, unknown> = {}) => ({
  name,
  type: 'string',
  multiValued: false,
  required: false,
  caseExact: false,
  mutability: 'readWrite',
  returned: 'default',
  uniqueness: 'none',
  ...extra,
});

/** The User schema as far as the broker reads it; other attributes are kept as sent. */
export function userSchema(base: string) {
  return {
    schemas: [SCHEMA_SCHEMA],
    id: USER_SCHEMA,
    name: 'User',
    description: 'User Account',
    attributes: [
      attr('userName', { required: true, uniqueness: 'server' }),
      attr('externalId', { caseExact: true }),
      attr('displayName'),
      attr('active', { type: 'boolean' }),
      attr('emails', {
        type: 'complex',
        multiValued: true,
        description:
          "The person's email is the primary one, else the work one, else the first, else userName",
        subAttributes: [attr('value'), attr('type'), attr('primary', { type: 'boolean' })],
      }),
      attr('name', {
        type: 'complex',
        subAttributes: [attr('givenName'), attr('familyName'), attr('formatted')],
      }),
    ],
    meta: meta(base, 'Schema', `/Schemas/${USER_SCHEMA}`),
  };
}
