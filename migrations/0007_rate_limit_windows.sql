-- Rate-limit windows shared by every instance of the broker (the Workers
-- entry's limiter; Node counts in memory and leaves this table empty). One row
-- per (kind, key): a hit after the window closed restarts that row, so the
-- table holds at most the keys seen in one window, and the scheduled prune
-- drops the rows of closed windows. Times are the clock's milliseconds.
CREATE TABLE rate_limit_windows (
  kind TEXT NOT NULL,
  key TEXT NOT NULL,
  started_at INTEGER NOT NULL,
  ends_at INTEGER NOT NULL,
  count INTEGER NOT NULL,
  PRIMARY KEY (kind, key)
) WITHOUT ROWID;
CREATE INDEX rate_limit_windows_end ON rate_limit_windows (ends_at);
