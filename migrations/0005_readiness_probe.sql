-- /readyz commits a real write here: an empty transaction writes nothing, so it would
-- report a full disk as ready while every exchange fails.
CREATE TABLE readiness_probe (
  id INTEGER PRIMARY KEY,
  checked_at INTEGER NOT NULL
);
