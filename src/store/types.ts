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
   * `replayed` when `once` (a CI token's jti) was already used, or names a
   * device code that is no longer approved and live, `parent_revoked`
   * when the token narrows one that is revoked (or gone) by now, checked in the
   * same transaction so a revocation racing the exchange cannot be missed.
   */
  recordIssue(token: IssuedToken, audit: AuditEvent, once?: OneTime): Promise<IssueOutcome>;
  getToken(jti: string): Promise<IssuedToken | undefined>;
  /**
   * Revokes a token and every token narrowed from it; returns the jtis revoked
   * now. The audit row is written only when something was revoked.
   */
  revokeToken(jti: string, at: number, audit: AuditEvent): Promise<string[]>;
  /** Revokes every live token of a subject; always audited, even when none was live. */
  revokeSubject(subject: string, at: number, audit: AuditEvent): Promise<string[]>;
  /** Newest first; `activeAt`: only those neither revoked nor expired then. */
  listTokens(filter: {
    subject?: string;
    source?: TokenSource;
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

  /**
   * Device authorization requests (RFC 8628). Only the SHA-256 of a device
   * code is stored. False when a live request holds the same user code (the
   * caller draws another); an expired one holding it is replaced.
   */
  createDeviceCode(code: NewDeviceCode): Promise<boolean>;
  /** The request a (normalized) user code names, whatever its state. */
  getDeviceCodeByUserCode(userCode: string): Promise<DeviceCode | undefined>;
  /** Requests not yet expired at `at`: all of them, or those asked from one client address. */
  countLiveDeviceCodes(at: number, clientAddress?: string | null): Promise<number>;
  /**
   * Approves or denies a pending, live request, with its audit row in the
   * same transaction; false (and no row) when it was no longer pending or had
   * expired by `decision.at`.
   */
  decideDeviceCode(
    deviceCodeSha256: string,
    decision: DeviceDecision,
    audit: AuditEvent,
  ): Promise<boolean>;
  /**
   * A device's poll at the token endpoint: the request as it stands, and
   * whether this poll came sooner than its interval after the previous one.
   * A pending request records the poll, and a poll that came too soon adds
   * 5 s to its interval (RFC 8628 section 3.5), in one transaction, so
   * concurrent polls agree. Undefined for an unknown device code.
   */
  pollDeviceCode(deviceCodeSha256: string, now: number): Promise<DevicePoll | undefined>;

  /** Sessions of the person's page. Only the SHA-256 of a session id is ever stored. */
  createSession(session: StoredSession): Promise<void>;
  getSession(idSha256: string): Promise<StoredSession | undefined>;
  touchSession(idSha256: string, lastSeenAt: number): Promise<void>;
  deleteSession(idSha256: string): Promise<void>;
  /**
   * Ends every session of a subject ("log out everywhere", an administrator);
   * returns how many. With `audit`, its row is written in the same
   * transaction, with the count as `detail.sessions`.
   */
  deleteSubjectSessions(subject: string, audit?: AuditEvent): Promise<number>;
  /** Sessions that expire after `now` and were last seen after `seenAfter` (the metrics' gauge). */
  countLiveSessions(now: number, seenAfter: number): Promise<number>;
  /**
   * The same live sessions, newest first, up to `limit` (default 1,000), for
   * the operator's page: who is logged in and since when, never the id's hash
   * or the session's content (its CSRF token).
   */
  listLiveSessions(filter: {
    now: number;
    seenAfter: number;
    subject?: string;
    limit?: number;
  }): Promise<SessionSummary[]>;

  /** A user the directory provisioned over SCIM, unless deleted. */
  getScimUser(id: string): Promise<ScimUser | undefined>;
  /**
   * What the directory says of a person: their live user, else the newest
   * deleted one (a tombstone: still refused at login), else undefined.
   */
  scimStanding(subject: string): Promise<ScimStanding | undefined>;
  /** Live users in creation order, matching at most one equality filter; with the total matched. */
  listScimUsers(filter: ScimUserFilter): Promise<{ total: number; users: ScimUser[] }>;
  /**
   * Creates, replaces or deletes a SCIM user, and ends the access of the
   * subjects in `write.endAccess` (their sessions, their approved device
   * codes, their live tokens and every token narrowed from them), with the
   * audit row naming what ended, in ONE transaction. Nothing is written
   * unless the outcome is `written`: a replace or delete names the version it
   * read (`stale` when another write came first), and a live user's userName
   * and subject are unique.
   */
  writeScimUser(write: ScimWrite): Promise<ScimWriteOutcome>;

  /**
   * Removes expired replay guards, expired tokens, sessions and device codes,
   * and audit rows past retention.
   */
  prune(now: number, auditRetentionSeconds: number): Promise<PruneCounts>;
}

export type IssueOutcome = 'issued' | 'replayed' | 'parent_revoked';

export interface OneTimeKey {
  key: string;
  expiresAt: number;
}

/** An approved device code, redeemed by the issue it is recorded with (at most once). */
export interface RedeemedDeviceCode {
  deviceCodeSha256: string;
  /** The redemption's time: a code that has expired by then is not redeemed. */
  at: number;
}

/** What an issue consumes, in its own transaction, so that it happens at most once. */
export type OneTime = OneTimeKey | RedeemedDeviceCode;

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
 * a person's page, a device the person approved (RFC 8628). Each grant of
 * src/exchange names its own.
 */
export type TokenSource = 'ci' | 'exchange' | 'web' | 'device';

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
  /** Only rows written after the row with this id: a cursor to page through the whole log. */
  afterId?: number;
  subject?: string;
  outcome?: AuditOutcome;
  event?: string;
  limit?: number;
  /** Newest rows first (the limit then keeps the newest); default: in the order written. */
  newestFirst?: boolean;
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

/** A live session as the operator's page shows it. */
export type SessionSummary = Pick<
  StoredSession,
  'subject' | 'createdAt' | 'lastSeenAt' | 'expiresAt'
>;

export interface PruneCounts {
  replayGuards: number;
  tokens: number;
  sessions: number;
  deviceCodes: number;
  auditEvents: number;
}

/**
 * `pending` until a person decides; `approved` until the device redeems it
 * for its one token (`redeemed`); `denied` for good. Any of them expires.
 */
export type DeviceCodeStatus = 'pending' | 'approved' | 'denied' | 'redeemed';

/** A device authorization request as it is made (RFC 8628 section 3.1). */
export interface NewDeviceCode {
  deviceCodeSha256: string;
  /** Normalized: upper case, no dash. */
  userCode: string;
  /** The scopes asked; null when none were: everything the approver's roles grant. */
  scopes: string[] | null;
  /** The lifetime asked, seconds; null for the default. */
  ttlSeconds: number | null;
  /** The client_id the device sent, if any; its token request must send the same. */
  clientId: string | null;
  /** Who asked, as the approval page shows it: all of it is the requester's own text. */
  clientAddress: string | null;
  userAgent: string | null;
  createdAt: number;
  expiresAt: number;
  /** Seconds the device must wait between polls. */
  interval: number;
}

export interface DeviceCode extends NewDeviceCode {
  status: DeviceCodeStatus;
  lastPollAt: number | null;
  /** The person who approved or denied it. */
  subject: string | null;
  /** The scopes approved: what the token carries if the roles still grant them at redemption. */
  approvedScopes: string[] | null;
  /** The approver's IdP claims: roles are matched on them again at redemption. */
  approverClaims: Record<string, string[]> | null;
  decidedAt: number | null;
  /** The token it was redeemed for. */
  jti: string | null;
}

export type DeviceDecision =
  | {
      status: 'approved';
      subject: string;
      approvedScopes: string[];
      approverClaims: Record<string, string[]>;
      at: number;
    }
  | { status: 'denied'; subject: string; at: number };

export interface DevicePoll {
  code: DeviceCode;
  /** This poll came sooner than the interval after the previous one (the interval has grown). */
  tooFast: boolean;
}

/** A user provisioned over SCIM (RFC 7643 section 4.1), as stored. */
export interface ScimUser {
  id: string;
  userName: string;
  /** userName folded to ASCII lower case: userName is unique and not case-exact. */
  userNameKey: string;
  /** The person it maps to, `user:<email>`. */
  subject: string;
  externalId: string | null;
  active: boolean;
  /** The User as the directory sent it, without id, meta or password. */
  resource: Record<string, unknown>;
  createdAt: number;
  lastModified: number;
  /** Grows by one at every write: what a write read is checked against. */
  version: number;
}

export interface ScimStanding {
  active: boolean;
  deleted: boolean;
}

export interface ScimUserFilter {
  userNameKey?: string;
  externalId?: string;
  id?: string;
  /** 0-based. */
  offset: number;
  limit: number;
}

export type ScimWrite =
  | { op: 'create'; user: ScimUser; endAccess: string[]; at: number; audit: AuditEvent }
  | {
      op: 'replace';
      user: ScimUser;
      /** The version the replacement was made from; the stored one becomes version + 1. */
      readVersion: number;
      endAccess: string[];
      at: number;
      audit: AuditEvent;
    }
  | {
      op: 'delete';
      id: string;
      readVersion: number;
      endAccess: string[];
      at: number;
      audit: AuditEvent;
    };

export type ScimWriteOutcome =
  | {
      outcome: 'written';
      /** The tokens revoked and the sessions ended for `endAccess`. */
      revoked: string[];
      sessionsEnded: number;
    }
  | { outcome: 'not_found' }
  | { outcome: 'stale' }
  | { outcome: 'conflict'; attribute: 'userName' | 'subject' | 'id' };
