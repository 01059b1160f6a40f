-- RFC 8628 requests. Only the device code's SHA-256 is kept: a copy of the
-- database redeems nothing. The user code is unique, so an approval names
-- exactly one request; rows leave with the other expired rows (prune).
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
