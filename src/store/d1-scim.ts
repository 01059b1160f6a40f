import { AUDIT_COLUMNS, auditValues } from './columns.js';
import type { D1Client, D1StatementLike } from './d1-client.js';
import type { Row } from './rows.js';
import type { ScimWrite, ScimWriteOutcome } from './types.js';

/*
 * The D1 store's SCIM write: one batch (one transaction). A batch cannot
 * branch in JavaScript, so every statement that writes carries the same
 * condition in SQL (the user still at the version read, its userName and
 * subject free), and they all run before the user's own row is written,
 * which is what would change the condition. The two reads at the front
 * see the same state, and say afterwards why nothing was written.
 */

interface Sql {
  sql: string;
  args: unknown[];
}

const NAME_TAKEN = `EXISTS (SELECT 1 FROM scim_users WHERE user_name_key = ? AND deleted_at IS NULL AND id <> ?)`;
const SUBJECT_TAKEN = `EXISTS (SELECT 1 FROM scim_users WHERE subject = ? AND deleted_at IS NULL AND id <> ?)`;
const SUBJECTS = '(SELECT value FROM json_each(?))';
const TREE = `WITH RECURSIVE tree(jti) AS (
    SELECT jti FROM issued_tokens WHERE subject IN ${SUBJECTS}
    UNION SELECT t.jti FROM issued_tokens t JOIN tree ON t.parent_jti = tree.jti)`;

/** The condition every write of the batch carries. */
function condition(w: ScimWrite): Sql {
  const id = w.op === 'delete' ? w.id : w.user.id;
  const unique =
    w.op === 'delete'
      ? { sql: '', args: [] }
      : {
          sql: ` AND NOT ${NAME_TAKEN} AND NOT ${SUBJECT_TAKEN}`,
          args: [w.user.userNameKey, id, w.user.subject, id],
        };
  if (w.op === 'create') {
    return {
      sql: `NOT EXISTS (SELECT 1 FROM scim_users WHERE id = ?)${unique.sql}`,
      args: [id, ...unique.args],
    };
  }
  return {
    sql: `EXISTS (SELECT 1 FROM scim_users WHERE id = ? AND version = ? AND deleted_at IS NULL)${unique.sql}`,
    args: [id, w.readVersion, ...unique.args],
  };
}

export async function writeScimUser(db: D1Client, w: ScimWrite): Promise<ScimWriteOutcome> {
  const id = w.op === 'delete' ? w.id : w.user.id;
  const ok = condition(w);
  const subjects = JSON.stringify(w.endAccess);
  const ending = w.endAccess.length > 0;
  const found = db.stmt('SELECT version, deleted_at FROM scim_users WHERE id = ?', id);
  const taken =
    w.op === 'delete'
      ? db.stmt('SELECT 0 AS name_taken, 0 AS subject_taken')
      : db.stmt(
          `SELECT ${NAME_TAKEN} AS name_taken, ${SUBJECT_TAKEN} AS subject_taken`,
          w.user.userNameKey,
          id,
          w.user.subject,
          id,
        );

  const auditRow = auditValues(w.audit);
  const detail = auditRow.pop();
  const liveInTree = 'jti IN tree AND revoked_at IS NULL AND expires_at > ?';
  const approved = `subject IN ${SUBJECTS} AND status = 'approved' AND expires_at > ?`;
  // Written first, from the rows the statements below are about to change.
  const insertAudit = ending
    ? db.stmt(
        `${TREE} INSERT INTO audit_events (${AUDIT_COLUMNS})
         SELECT ${auditRow.map(() => '?').join(', ')},
           json_set(coalesce(?, '{}'),
             '$.revoked', json((SELECT json_group_array(jti) FROM issued_tokens WHERE ${liveInTree})),
             '$.sessions_ended', (SELECT count(*) FROM sessions WHERE subject IN ${SUBJECTS}),
             '$.device_codes_denied', (SELECT count(*) FROM device_codes WHERE ${approved}))
         WHERE ${ok.sql}`,
        subjects,
        ...auditRow,
        detail,
        w.at,
        subjects,
        subjects,
        w.at,
        ...ok.args,
      )
    : db.stmt(
        `INSERT INTO audit_events (${AUDIT_COLUMNS}) SELECT ${[...auditRow, detail].map(() => '?').join(', ')}
         WHERE ${ok.sql}`,
        ...auditRow,
        detail,
        ...ok.args,
      );
  const endAccess: D1StatementLike[] = ending
    ? [
        db.stmt(
          `${TREE} UPDATE issued_tokens SET revoked_at = ? WHERE ${liveInTree} AND ${ok.sql} RETURNING jti`,
          subjects,
          w.at,
          w.at,
          ...ok.args,
        ),
        db.stmt(
          `DELETE FROM sessions WHERE subject IN ${SUBJECTS} AND ${ok.sql}`,
          subjects,
          ...ok.args,
        ),
        db.stmt(
          `UPDATE device_codes SET status = 'denied', decided_at = ? WHERE ${approved} AND ${ok.sql}`,
          w.at,
          subjects,
          w.at,
          ...ok.args,
        ),
      ]
    : [];
  const [foundRows, takenRows, , ...rest] = await db.batch([
    found,
    taken,
    insertAudit,
    ...endAccess,
    ...userWrites(db, w, ok),
  ]);

  const before = foundRows!.results[0] as Row | undefined;
  const conflict = takenRows!.results[0] as Row;
  if (w.op === 'create') {
    if (before) return { outcome: 'conflict', attribute: 'id' };
  } else {
    if (!before || before.deleted_at !== null) return { outcome: 'not_found' };
    if (before.version !== w.readVersion) return { outcome: 'stale' };
  }
  if (conflict.name_taken) return { outcome: 'conflict', attribute: 'userName' };
  if (conflict.subject_taken) return { outcome: 'conflict', attribute: 'subject' };
  if (!ending) return { outcome: 'written', revoked: [], sessionsEnded: 0 };
  const [revoked, sessions] = rest;
  return {
    outcome: 'written',
    revoked: revoked!.results.map((r) => (r as Row).jti as string),
    sessionsEnded: sessions!.meta.changes ?? 0,
  };
}

/** The user's own row, last: writing it changes the condition the statements before it share. */
function userWrites(db: D1Client, w: ScimWrite, ok: Sql): D1StatementLike[] {
  if (w.op === 'delete') {
    return [
      db.stmt(
        `UPDATE scim_users SET deleted_at = ?, active = 0, resource = '{}', last_modified = ?,
           version = version + 1 WHERE id = ? AND ${ok.sql}`,
        w.at,
        w.at,
        w.id,
        ...ok.args,
      ),
    ];
  }
  const u = w.user;
  const values = [
    u.userName,
    u.userNameKey,
    u.subject,
    u.externalId,
    u.active ? 1 : 0,
    JSON.stringify(u.resource),
  ];
  // A live user now speaks for the subject: its older deleted users no longer do.
  const dropTombstones = db.stmt(
    `DELETE FROM scim_users WHERE subject = ? AND deleted_at IS NOT NULL AND ${ok.sql}`,
    u.subject,
    ...ok.args,
  );
  const write =
    w.op === 'create'
      ? db.stmt(
          `INSERT INTO scim_users (id, user_name, user_name_key, subject, external_id, active,
             resource, created_at, last_modified, version)
           SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, 1 WHERE ${ok.sql}`,
          u.id,
          ...values,
          u.createdAt,
          u.lastModified,
          ...ok.args,
        )
      : db.stmt(
          `UPDATE scim_users SET user_name = ?, user_name_key = ?, subject = ?, external_id = ?,
             active = ?, resource = ?, last_modified = ?, version = version + 1
           WHERE id = ? AND ${ok.sql}`,
          ...values,
          u.lastModified,
          u.id,
          ...ok.args,
        );
  return [dropTombstones, write];
}
