import { AUDIT_COLUMNS, auditValues, TOKEN_COLUMNS, tokenValues } from './columns.js';
import type { D1Client } from './d1-client.js';
import type { Row } from './rows.js';
import type { AuditEvent, IssuedToken, IssueOutcome, OneTime } from './types.js';

/*
 * The D1 store's writes of tokens, each one batch (one transaction) whose
 * statements carry their own conditions in SQL: see D1Store.
 */

const tree = `WITH RECURSIVE tree(jti) AS (
    SELECT jti FROM issued_tokens WHERE jti = ?
    UNION SELECT t.jti FROM issued_tokens t JOIN tree ON t.parent_jti = tree.jti)`;

/**
 * The token row goes in only when its parent (if any) is live and its
 * one-time value unused; the guard and the audit row follow it only when it
 * went in (its jti is new, so its presence says so).
 */
export async function recordIssue(
  db: D1Client,
  token: IssuedToken,
  audit: AuditEvent,
  once?: OneTime,
): Promise<IssueOutcome> {
  const parentLive = `(?1 IS NULL OR EXISTS (SELECT 1 FROM issued_tokens WHERE jti = ?1 AND revoked_at IS NULL))`;
  const unused =
    once === undefined
      ? '1'
      : 'deviceCodeSha256' in once
        ? `EXISTS (SELECT 1 FROM device_codes WHERE device_code_sha256 = ?2 AND status = 'approved' AND expires_at > ?3)`
        : 'NOT EXISTS (SELECT 1 FROM replay_guard WHERE key = ?2)';
  const onceArgs =
    once === undefined
      ? [null, null]
      : 'deviceCodeSha256' in once
        ? [once.deviceCodeSha256, once.at]
        : [once.key, once.expiresAt];
  const values = tokenValues(token);
  const insertToken = db.stmt(
    `INSERT INTO issued_tokens (${TOKEN_COLUMNS}) SELECT ${values.map((_, i) => `?${i + 4}`).join(', ')}
     WHERE ${parentLive} AND ${unused}`,
    token.parentJti,
    ...onceArgs,
    ...values,
  );
  const issued = `EXISTS (SELECT 1 FROM issued_tokens WHERE jti = ?1)`;
  const consume =
    once === undefined
      ? []
      : 'deviceCodeSha256' in once
        ? [
            db.stmt(
              `UPDATE device_codes SET status = 'redeemed', jti = ?1 WHERE device_code_sha256 = ?2 AND ${issued}`,
              token.jti,
              once.deviceCodeSha256,
            ),
          ]
        : [
            db.stmt(
              `INSERT INTO replay_guard (key, expires_at) SELECT ?2, ?3 WHERE ${issued}`,
              token.jti,
              once.key,
              once.expiresAt,
            ),
          ];
  const auditValuesList = auditValues(audit);
  const insertAudit = db.stmt(
    `INSERT INTO audit_events (${AUDIT_COLUMNS}) SELECT ${auditValuesList.map((_, i) => `?${i + 2}`).join(', ')}
     WHERE ${issued}`,
    token.jti,
    ...auditValuesList,
  );
  const parent = db.stmt('SELECT revoked_at FROM issued_tokens WHERE jti = ?', token.parentJti);
  const [parentRows, inserted] = await db.batch([parent, insertToken, ...consume, insertAudit]);
  if (inserted!.meta.changes === 1) return 'issued';
  const p = parentRows!.results[0] as Row | undefined;
  if (token.parentJti !== null && (!p || p.revoked_at !== null)) return 'parent_revoked';
  return 'replayed';
}

export async function revokeToken(
  db: D1Client,
  jti: string,
  at: number,
  audit: AuditEvent,
): Promise<string[]> {
  const auditRow = auditValues(audit);
  const detail = auditRow.pop();
  // Written first, from the rows the update is about to revoke: the same set, in one transaction.
  const insertAudit = db.stmt(
    `${tree} INSERT INTO audit_events (${AUDIT_COLUMNS})
     SELECT ${auditRow.map((_, i) => `?${i + 3}`).join(', ')},
       json_set(coalesce(?2, '{}'), '$.revoked', json(gone.jtis))
     FROM (SELECT json_group_array(jti) AS jtis, count(*) AS n FROM issued_tokens
           WHERE jti IN tree AND revoked_at IS NULL) gone
     WHERE gone.n > 0`,
    jti,
    detail,
    ...auditRow,
  );
  const revoke = db.stmt(
    `${tree} UPDATE issued_tokens SET revoked_at = ? WHERE jti IN tree AND revoked_at IS NULL RETURNING jti`,
    jti,
    at,
  );
  const [, revoked] = await db.batch([insertAudit, revoke]);
  return revoked!.results.map((r) => (r as Row).jti as string);
}

/**
 * Also denies the subject's approved device codes not yet redeemed: they
 * would otherwise still give a token after the person was revoked.
 */
export async function revokeSubject(
  db: D1Client,
  subject: string,
  at: number,
  audit: AuditEvent,
): Promise<string[]> {
  const auditRow = auditValues(audit);
  const detail = auditRow.pop();
  const live = 'subject = ?1 AND revoked_at IS NULL AND expires_at > ?2';
  const approved = `subject = ?1 AND status = 'approved' AND expires_at > ?2`;
  const insertAudit = db.stmt(
    `INSERT INTO audit_events (${AUDIT_COLUMNS})
     SELECT ${auditRow.map((_, i) => `?${i + 4}`).join(', ')},
       CASE WHEN d.n > 0 THEN json_set(r.detail, '$.device_codes_denied', d.n) ELSE r.detail END
     FROM (SELECT json_set(coalesce(?3, '{}'), '$.revoked',
             json((SELECT json_group_array(jti) FROM issued_tokens WHERE ${live}))) AS detail) r,
          (SELECT count(*) AS n FROM device_codes WHERE ${approved}) d`,
    subject,
    at,
    detail,
    ...auditRow,
  );
  const revoke = db.stmt(
    `UPDATE issued_tokens SET revoked_at = ?2 WHERE ${live} RETURNING jti`,
    subject,
    at,
  );
  const deny = db.stmt(
    `UPDATE device_codes SET status = 'denied', decided_at = ?2 WHERE ${approved}`,
    subject,
    at,
  );
  const [, revoked] = await db.batch([insertAudit, revoke, deny]);
  return revoked!.results.map((r) => (r as Row).jti as string);
}
