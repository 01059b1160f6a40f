import { where, type Query } from './queries.js';
import type { Store } from './types.js';

/** `listLiveSessions`: newest first, 1,000 at most unless the filter says; no id hash, no data. */
export function liveSessionsQuery(filter: Parameters<Store['listLiveSessions']>[0]): Query {
  const conditions = ['expires_at > ?', 'last_seen_at > ?'];
  const args: unknown[] = [filter.now, filter.seenAfter];
  if (filter.subject !== undefined) {
    conditions.push('subject = ?');
    args.push(filter.subject);
  }
  return {
    sql: `SELECT subject, created_at, last_seen_at, expires_at FROM sessions ${where(conditions)}
          ORDER BY created_at DESC, rowid DESC LIMIT ?`,
    args: [...args, filter.limit ?? 1000],
  };
}
