import type { AuditEvent, IssuedToken } from './types.js';

/*
 * The columns of the two rows every issue writes, in one order, with the
 * values to bind in that order: for stores that build their own SQL around
 * them (D1's conditional INSERT ... SELECT).
 */

export const TOKEN_COLUMNS = `jti, subject, scopes, audience, client_id, source, kid, parent_jti,
  issued_at, expires_at, revoked_at, token_sha256`;

export const tokenValues = (t: IssuedToken): unknown[] => [
  t.jti,
  t.subject,
  JSON.stringify(t.scopes),
  t.audience,
  t.clientId,
  t.source,
  t.kid,
  t.parentJti,
  t.issuedAt,
  t.expiresAt,
  t.revokedAt,
  t.tokenSha256,
];

/** `detail` comes last, so that a statement can pop it and build on it in SQL. */
export const AUDIT_COLUMNS = `time, event, outcome, subject, source, policy, scopes, reason,
  client_address, user_agent, token_sha256, jti, detail`;

export const auditValues = (e: AuditEvent): unknown[] => [
  e.time,
  e.event,
  e.outcome,
  e.subject ?? null,
  e.source ?? null,
  e.policy ?? null,
  e.scopes ? JSON.stringify(e.scopes) : null,
  e.reason ?? null,
  e.clientAddress ?? null,
  e.userAgent ?? null,
  e.tokenSha256 ?? null,
  e.jti ?? null,
  e.detail ? JSON.stringify(e.detail) : null,
];
