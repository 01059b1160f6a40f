-- Only narrowed tokens have a parent: CI and web tokens no longer add an index entry each.
DROP INDEX issued_tokens_parent;
CREATE INDEX issued_tokens_parent ON issued_tokens (parent_jti) WHERE parent_jti IS NOT NULL;
