import type { ScimUser } from '../store/types.js';
import { USER_SCHEMA } from './user.js';

const iso = (seconds: number) => new Date(seconds * 1000).toISOString();

/**
 * A stored user as SCIM answers it: the resource the directory sent, with
 * the attributes the broker owns (id, meta) and the ones it reads (userName,
 * active, externalId) as it holds them.
 */
export function userResource(user: ScimUser, base: string): Record<string, unknown> {
  const { resource } = user;
  const schemas = Array.isArray(resource.schemas) ? resource.schemas : [USER_SCHEMA];
  return {
    schemas,
    id: user.id,
    ...(user.externalId === null ? {} : { externalId: user.externalId }),
    ...resource,
    userName: user.userName,
    active: user.active,
    meta: {
      resourceType: 'User',
      created: iso(user.createdAt),
      lastModified: iso(user.lastModified),
      location: `${base}/Users/${user.id}`,
    },
  };
}
