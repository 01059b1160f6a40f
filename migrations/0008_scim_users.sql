-- People provisioned by the organisation's directory over SCIM 2.0 (RFC 7643).
-- `subject` is the person (`user:<email>`, folded as SAML logins fold it);
-- `user_name_key` is userName folded to ASCII lower case, as userName is not
-- case-exact. `resource` is the User as the directory last sent it (never its
-- password), so GET answers what was written. A deleted user stays as a row
-- with `deleted_at` set: its subject's next SSO login is still refused, and
-- its userName and subject are free for a new user (the unique indexes skip it).
CREATE TABLE scim_users (
  id TEXT PRIMARY KEY,
  user_name TEXT NOT NULL,
  user_name_key TEXT NOT NULL,
  subject TEXT NOT NULL,
  external_id TEXT,
  active INTEGER NOT NULL,
  resource TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  last_modified INTEGER NOT NULL,
  version INTEGER NOT NULL,
  deleted_at INTEGER
);
CREATE UNIQUE INDEX scim_users_user_name ON scim_users (user_name_key) WHERE deleted_at IS NULL;
CREATE UNIQUE INDEX scim_users_subject ON scim_users (subject) WHERE deleted_at IS NULL;
CREATE INDEX scim_users_subject_any ON scim_users (subject, deleted_at);
CREATE INDEX scim_users_external_id ON scim_users (external_id) WHERE deleted_at IS NULL;
