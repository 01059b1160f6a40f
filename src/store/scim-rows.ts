import type { Query } from './queries.js';
import type { Row } from './rows.js';
import type { ScimStanding, ScimUser, ScimUserFilter } from './types.js';

/*
 * The reads of SCIM users, built once for the SQLite and D1 stores, and the
 * mapping of their rows.
 */

export const scimUserFromRow = (r: Row): ScimUser => ({
  id: r.id as string,
  userName: r.user_name as string,
  userNameKey: r.user_name_key as string,
  subject: r.subject as string,
  externalId: (r.external_id as string | null) ?? null,
  active: r.active === 1,
  resource: JSON.parse(r.resource as string) as Record<string, unknown>,
  createdAt: r.created_at as number,
  lastModified: r.last_modified as number,
  version: r.version as number,
});

export const scimStandingFromRow = (r: Row): ScimStanding => ({
  active: r.active === 1 && r.deleted_at === null,
  deleted: r.deleted_at !== null,
});

export const SCIM_USER_SQL = 'SELECT * FROM scim_users WHERE id = ? AND deleted_at IS NULL';

/** The live user first, else the newest deleted one. */
export const SCIM_STANDING_SQL = `SELECT active, deleted_at FROM scim_users WHERE subject = ?
  ORDER BY deleted_at IS NULL DESC, deleted_at DESC LIMIT 1`;

function conditions(filter: ScimUserFilter): Query {
  const sql = ['deleted_at IS NULL'];
  const args: unknown[] = [];
  const add = (condition: string, v: unknown) => {
    sql.push(condition);
    args.push(v);
  };
  if (filter.userNameKey !== undefined) add('user_name_key = ?', filter.userNameKey);
  if (filter.externalId !== undefined) add('external_id = ?', filter.externalId);
  if (filter.id !== undefined) add('id = ?', filter.id);
  return { sql: sql.join(' AND '), args };
}

/** One page of live users, in creation order (stable across pages), and how many match in all. */
export function scimListQueries(filter: ScimUserFilter): { page: Query; count: Query } {
  const where = conditions(filter);
  return {
    page: {
      sql: `SELECT * FROM scim_users WHERE ${where.sql} ORDER BY created_at, rowid LIMIT ? OFFSET ?`,
      args: [...where.args, filter.limit, filter.offset],
    },
    count: { sql: `SELECT count(*) AS n FROM scim_users WHERE ${where.sql}`, args: where.args },
  };
}
