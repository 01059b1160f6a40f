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
-- One line on purpose: D1's exec() takes one statement per line, and remote
-- `wrangler d1 migrations apply` has cut trigger bodies at their inner `;`
-- ("incomplete input"). Databases created with the body on a second line are
-- the same trigger: the schema check compares triggers whitespace-insensitively.
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END;

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
