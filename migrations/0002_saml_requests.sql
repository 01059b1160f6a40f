CREATE TABLE saml_requests (
  id TEXT PRIMARY KEY,
  value TEXT NOT NULL,
  expires_at INTEGER NOT NULL
);
CREATE INDEX saml_requests_expiry ON saml_requests (expires_at);
