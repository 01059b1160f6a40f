import type { AuditFilter, Store } from './types.js';

/** A query with its arguments, built from a filter: the SQLite and D1 stores run the same SQL. */
export interface Query {
  sql: string;
  args: unknown[];
}

export const where = (conditions: string[]) =>
  conditions.length ? `WHERE ${conditions.join(' AND ')}` : '';

/** `listTokens`: newest first, 1,000 at most unless the filter says. */
export function tokensQuery(filter: Parameters<Store['listTokens']>[0]): Query {
  const conditions: string[] = [];
  const args: unknown[] = [];
  if (filter.subject !== undefined) {
    conditions.push('subject = ?');
    args.push(filter.subject);
  }
  if (filter.source !== undefined) {
    conditions.push('source = ?');
    args.push(filter.source);
  }
  if (filter.activeAt !== undefined) {
    conditions.push('revoked_at IS NULL AND expires_at > ?');
    args.push(filter.activeAt);
  }
  return {
    sql: `SELECT * FROM issued_tokens ${where(conditions)} ORDER BY issued_at DESC, rowid DESC LIMIT ?`,
    args: [...args, filter.limit ?? 1000],
  };
}

/** `queryAudit`: in the order written (or newest first), 10,000 rows at most unless the filter says. */
export function auditQuery(filter: AuditFilter): Query {
  const conditions: string[] = [];
  const args: unknown[] = [];
  const add = (sql: string, v: unknown) => {
    conditions.push(sql);
    args.push(v);
  };
  if (filter.since !== undefined) add('time >= ?', filter.since);
  if (filter.afterId !== undefined) add('id > ?', filter.afterId);
  if (filter.subject !== undefined) add('subject = ?', filter.subject);
  if (filter.outcome !== undefined) add('outcome = ?', filter.outcome);
  if (filter.event !== undefined) add('event = ?', filter.event);
  return {
    sql: `SELECT * FROM audit_events ${where(conditions)} ORDER BY id${filter.newestFirst ? ' DESC' : ''} LIMIT ?`,
    args: [...args, filter.limit ?? 10_000],
  };
}
