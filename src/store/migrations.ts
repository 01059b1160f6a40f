/**
 * Numbered schema migrations, shared by the SQLite and D1 stores. Append only:
 * a released migration is never edited. Plain SQL that both engines accept
 * (D1 refuses some SQLite functions, so none are used here).
 */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const MIGRATIONS: Migration[] = [
  {
    version: 1,
    name: 'initial',
    sql: `
CREATE TABLE signing_keys (
  kid TEXT PRIMARY KEY,
  alg TEXT NOT NULL,
  private_jwk TEXT NOT NULL,
  public_jwk TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  retired_at INTEGER
);

CREATE TABLE issued_tokens (
  jti TEXT PRIMARY KEY,
  subject TEXT NOT NULL,
  scopes TEXT NOT NULL,
  audience TEXT NOT NULL,
  client_id TEXT NOT NULL,
  source TEXT NOT NULL,
  kid TEXT NOT NULL,
  parent_jti TEXT,
  issued_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  revoked_at INTEGER,
  token_sha256 TEXT NOT NULL
);
CREATE INDEX issued_tokens_subject ON issued_tokens (subject, expires_at);
CREATE INDEX issued_tokens_kid ON issued_tokens (kid, expires_at);
CREATE INDEX issued_tokens_parent ON issued_tokens (parent_jti);
CREATE INDEX issued_tokens_expiry ON issued_tokens (expires_at);

CREATE TABLE audit_events (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  time INTEGER NOT NULL,
  event TEXT NOT NULL,
  outcome TEXT NOT NULL,
  subject TEXT,
  source TEXT,
  policy TEXT,
  scopes TEXT,
  reason TEXT,
  client_address TEXT,
  user_agent TEXT,
  token_sha256 TEXT,
  jti TEXT,
  detail TEXT
);
CREATE INDEX audit_events_time ON audit_events (time);
CREATE INDEX audit_events_subject ON audit_events (subject, time);

-- The audit log is append-only: rows leave only by retention pruning.
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END;

CREATE TABLE replay_guard (
  key TEXT PRIMARY KEY,
  expires_at INTEGER NOT NULL
);
CREATE INDEX replay_guard_expiry ON replay_guard (expires_at);

CREATE TABLE sessions (
  id_sha256 TEXT PRIMARY KEY,
  subject TEXT NOT NULL,
  data TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  last_seen_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
);
CREATE INDEX sessions_subject ON sessions (subject);
CREATE INDEX sessions_expiry ON sessions (expires_at);
`,
  },
  {
    version: 2,
    name: 'saml_requests',
    sql: `
CREATE TABLE saml_requests (
  id TEXT PRIMARY KEY,
  value TEXT NOT NULL,
  expires_at INTEGER NOT NULL
);
CREATE INDEX saml_requests_expiry ON saml_requests (expires_at);
`,
  },
  {
    version: 3,
    name: 'drop_saml_requests',
    // Login requests now travel in a cookie bound to the browser: nothing is stored before the IdP answers.
    sql: 'DROP TABLE saml_requests;',
  },
  {
    version: 4,
    name: 'partial_parent_index',
    // Only narrowed tokens have a parent: CI and web tokens no longer add an index entry each.
    sql: `
DROP INDEX issued_tokens_parent;
CREATE INDEX issued_tokens_parent ON issued_tokens (parent_jti) WHERE parent_jti IS NOT NULL;
`,
  },
  {
    version: 5,
    name: 'readiness_probe',
    // /readyz commits a real write here: an empty transaction writes nothing, so it would
    // report a full disk as ready while every exchange fails.
    sql: `
CREATE TABLE readiness_probe (
  id INTEGER PRIMARY KEY,
  checked_at INTEGER NOT NULL
);
`,
  },
  {
    version: 6,
    name: 'device_codes',
    // RFC 8628 requests. Only the device code's SHA-256 is kept: a copy of the
    // database redeems nothing. The user code is unique, so an approval names
    // exactly one request; rows leave with the other expired rows (prune).
    sql: `
CREATE TABLE device_codes (
  device_code_sha256 TEXT PRIMARY KEY,
  user_code TEXT NOT NULL UNIQUE,
  scopes TEXT,
  ttl INTEGER,
  client_id TEXT,
  client_address TEXT,
  user_agent TEXT,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  poll_interval INTEGER NOT NULL,
  last_poll_at INTEGER,
  status TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'denied', 'redeemed')),
  subject TEXT,
  approved_scopes TEXT,
  approver_claims TEXT,
  decided_at INTEGER,
  jti TEXT
);
CREATE INDEX device_codes_expiry ON device_codes (expires_at);
`,
  },
];
