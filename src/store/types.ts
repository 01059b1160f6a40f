import type { JWK } from 'jose';

/**
 * The one storage interface. Everything is async so the same core runs on
 * SQLite (Node) and D1 (Workers). Times are Unix seconds.
 */
export interface Store {
  /**
   * What keeps the database from serving exchanges now (it does not answer,
   * it cannot be written, its disk is full), each with where and what to do;
   * empty when ready. Used by /readyz; it may commit a small write.
   */
  readiness(): Promise<string[]>;
  close(): Promise<void>;

  listKeys(): Promise<StoredKey[]>;
  /** Adds a key; when `retireCurrentAt` is set, the current key is retired in the same transaction. */
  addKey(key: NewKey, retireCurrentAt?: number): Promise<void>;
  /** Deletes retired keys that no unexpired token was signed with; returns their kids. */
  pruneKeys(now: number): Promise<string[]>;

  /**
   * Writes the token row and its audit row in one transaction, or nothing:
   * `replayed` when `once` (a CI token's jti) was already used, `parent_revoked`
   * when the token narrows one that is revoked (or gone) by now, checked in the
   * same transaction so a revocation racing the exchange cannot be missed.
   */
  recordIssue(token: IssuedToken, audit: AuditEvent, once?: OneTimeKey): Promise<IssueOutcome>;
  getToken(jti: string): Promise<IssuedToken | undefined>;
  /**
   * Revokes a token and every token narrowed from it; returns the jtis revoked
   * now. The audit row is written only when something was revoked.
   */
  revokeToken(jti: string, at: number, audit: AuditEvent): Promise<string[]>;
  /** Revokes every live token of a subject; always audited, even when none was live. */
  revokeSubject(subject: string, at: number, audit: AuditEvent): Promise<string[]>;
  listTokens(filter: {
    subject?: string;
    activeAt?: number;
    limit?: number;
  }): Promise<IssuedToken[]>;

  appendAudit(event: AuditEvent): Promise<void>;
  queryAudit(filter: AuditFilter): Promise<StoredAuditEvent[]>;

  /**
   * Marks a one-time value (a CI token's jti, a SAML assertion ID) as used
   * until `expiresAt`. True the first time, false on every later call.
   */
  claimOnce(key: string, expiresAt: number): Promise<boolean>;

  /** Sessions of the person's page. Only the SHA-256 of a session id is ever stored. */
  createSession(session: StoredSession): Promise<void>;
  getSession(idSha256: string): Promise<StoredSession | undefined>;
  touchSession(idSha256: string, lastSeenAt: number): Promise<void>;
  deleteSession(idSha256: string): Promise<void>;
  /** Ends every session of a subject (SCIM deactivation, "log out everywhere"); returns how many. */
  deleteSubjectSessions(subject: string): Promise<number>;

  /**
   * Removes expired replay guards, expired tokens and sessions, and audit rows
   * past retention.
   */
  prune(now: number, auditRetentionSeconds: number): Promise<PruneCounts>;
}

export type IssueOutcome = 'issued' | 'replayed' | 'parent_revoked';

export interface OneTimeKey {
  key: string;
  expiresAt: number;
}

export interface NewKey {
  kid: string;
  alg: string;
  privateJwk: JWK;
  publicJwk: JWK;
  createdAt: number;
}

export interface StoredKey extends NewKey {
  retiredAt: number | null;
  /** Latest expiry among tokens signed with this key, or null when none is recorded. */
  lastTokenExpiry: number | null;
}

/**
 * Which grant issued a token: a CI token exchanged, a broker token narrowed,
 * a person's page. Each grant of src/exchange names its own.
 */
export type TokenSource = 'ci' | 'exchange' | 'web';

export interface IssuedToken {
  jti: string;
  subject: string;
  scopes: string[];
  audience: string;
  clientId: string;
  source: TokenSource;
  kid: string;
  parentJti: string | null;
  issuedAt: number;
  expiresAt: number;
  revokedAt: number | null;
  tokenSha256: string;
}

export type AuditOutcome = 'success' | 'denied';

export interface AuditEvent {
  time: number;
  event: string;
  outcome: AuditOutcome;
  subject?: string | null;
  source?: string | null;
  /** The trust policy or role names involved. */
  policy?: string | null;
  scopes?: string[] | null;
  reason?: string | null;
  clientAddress?: string | null;
  userAgent?: string | null;
  tokenSha256?: string | null;
  jti?: string | null;
  detail?: Record<string, unknown> | null;
}

export interface StoredAuditEvent extends AuditEvent {
  id: number;
}

export interface AuditFilter {
  since?: number;
  subject?: string;
  outcome?: AuditOutcome;
  event?: string;
  limit?: number;
}

export interface StoredSession {
  idSha256: string;
  subject: string;
  /** JSON-serialisable session content (identity, claims, CSRF token). */
  data: Record<string, unknown>;
  createdAt: number;
  lastSeenAt: number;
  /** Absolute expiry; the idle timeout is checked against lastSeenAt. */
  expiresAt: number;
}

export interface PruneCounts {
  replayGuards: number;
  tokens: number;
  sessions: number;
  auditEvents: number;
}
