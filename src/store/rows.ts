import type {
  DeviceCode,
  IssuedToken,
  StoredAuditEvent,
  StoredKey,
  StoredSession,
  SessionSummary,
} from './types.js';

/** SQLite (and D1) rows as the Store interface returns them: JSON columns parsed, NULLs as null. */
export type Row = Record<string, unknown>;

export const keyFromRow = (r: Row): StoredKey => ({
  kid: r.kid as string,
  alg: r.alg as string,
  privateJwk: JSON.parse(r.private_jwk as string),
  publicJwk: JSON.parse(r.public_jwk as string),
  createdAt: r.created_at as number,
  retiredAt: (r.retired_at as number | null) ?? null,
  lastTokenExpiry: (r.last_expiry as number | null) ?? null,
});

export const tokenFromRow = (r: Row): IssuedToken => ({
  jti: r.jti as string,
  subject: r.subject as string,
  scopes: JSON.parse(r.scopes as string) as string[],
  audience: r.audience as string,
  clientId: r.client_id as string,
  source: r.source as IssuedToken['source'],
  kid: r.kid as string,
  parentJti: (r.parent_jti as string | null) ?? null,
  issuedAt: r.issued_at as number,
  expiresAt: r.expires_at as number,
  revokedAt: (r.revoked_at as number | null) ?? null,
  tokenSha256: r.token_sha256 as string,
});

export const auditFromRow = (r: Row): StoredAuditEvent => ({
  id: r.id as number,
  time: r.time as number,
  event: r.event as string,
  outcome: r.outcome as StoredAuditEvent['outcome'],
  subject: r.subject as string | null,
  source: r.source as string | null,
  policy: r.policy as string | null,
  scopes: r.scopes ? (JSON.parse(r.scopes as string) as string[]) : null,
  reason: r.reason as string | null,
  clientAddress: r.client_address as string | null,
  userAgent: r.user_agent as string | null,
  tokenSha256: r.token_sha256 as string | null,
  jti: r.jti as string | null,
  detail: r.detail ? (JSON.parse(r.detail as string) as Record<string, unknown>) : null,
});

export const sessionFromRow = (r: Row): StoredSession => ({
  idSha256: r.id_sha256 as string,
  subject: r.subject as string,
  data: JSON.parse(r.data as string) as Record<string, unknown>,
  createdAt: r.created_at as number,
  lastSeenAt: r.last_seen_at as number,
  expiresAt: r.expires_at as number,
});

export const sessionSummaryFromRow = (r: Row): SessionSummary => ({
  subject: r.subject as string,
  createdAt: r.created_at as number,
  lastSeenAt: r.last_seen_at as number,
  expiresAt: r.expires_at as number,
});

const json = <T>(v: unknown): T | null =>
  v === null || v === undefined ? null : JSON.parse(v as string);

export const deviceCodeFromRow = (r: Row): DeviceCode => ({
  deviceCodeSha256: r.device_code_sha256 as string,
  userCode: r.user_code as string,
  scopes: json<string[]>(r.scopes),
  ttlSeconds: (r.ttl as number | null) ?? null,
  clientId: (r.client_id as string | null) ?? null,
  clientAddress: (r.client_address as string | null) ?? null,
  userAgent: (r.user_agent as string | null) ?? null,
  createdAt: r.created_at as number,
  expiresAt: r.expires_at as number,
  interval: r.poll_interval as number,
  lastPollAt: (r.last_poll_at as number | null) ?? null,
  status: r.status as DeviceCode['status'],
  subject: (r.subject as string | null) ?? null,
  approvedScopes: json<string[]>(r.approved_scopes),
  approverClaims: json<Record<string, string[]>>(r.approver_claims),
  decidedAt: (r.decided_at as number | null) ?? null,
  jti: (r.jti as string | null) ?? null,
});
