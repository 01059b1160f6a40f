import type { Clock } from '../shared/clock.js';
import type {
  LimitKind,
  RateLimiter,
  RateLimiterFactory,
  WindowCount,
} from '../rate-limit/limiter.js';
import { D1Client, type D1Like } from '../store/d1-client.js';

/*
 * One statement per hit, so that isolates hitting the same key at once each
 * get their own count: SQLite runs the upsert atomically, and RETURNING reads
 * the row it wrote. A window is open while started_at <= now < ends_at; any
 * other row (closed, or opened "in the future" before the clock was set back)
 * restarts at this hit. Every SET expression reads the row as it was, so the
 * three CASEs agree.
 */
const CONSUME = `INSERT INTO rate_limit_windows (kind, key, started_at, ends_at, count)
VALUES (?1, ?2, ?3, ?3 + ?4, 1)
ON CONFLICT (kind, key) DO UPDATE SET
  count = CASE WHEN started_at <= ?3 AND ?3 < ends_at THEN count + 1 ELSE 1 END,
  started_at = CASE WHEN started_at <= ?3 AND ?3 < ends_at THEN started_at ELSE ?3 END,
  ends_at = CASE WHEN started_at <= ?3 AND ?3 < ends_at THEN ends_at ELSE ?3 + ?4 END
RETURNING count, ends_at`;

const PEEK = `SELECT count, ends_at FROM rate_limit_windows
WHERE kind = ?1 AND key = ?2 AND started_at <= ?3 AND ?3 < ends_at`;

const PRUNE = 'DELETE FROM rate_limit_windows WHERE ends_at <= ?1';

interface Row {
  count: number;
  ends_at: number;
}

/**
 * A fixed-window counter in D1, which every isolate of the Worker shares: the
 * same counting as FixedWindowLimiter (a window opens at a key's first hit,
 * lasts `windowSeconds`, the count includes this hit, peek does not count),
 * on the injected clock. One row per key; rows of closed windows are
 * restarted by the key's next hit or dropped by `pruneRateLimits`.
 */
export class D1FixedWindowLimiter implements RateLimiter {
  private readonly windowMs: number;
  /** D1 failing is a 503 that says to retry, as for the store. */
  private readonly db: D1Client;

  constructor(
    db: D1Like,
    private readonly clock: Clock,
    private readonly kind: LimitKind,
    windowSeconds: number,
  ) {
    this.db = new D1Client(db);
    this.windowMs = windowSeconds * 1000;
  }

  async consume(key: string): Promise<WindowCount> {
    const now = this.clock.now();
    const [row] = (await this.db.all(
      CONSUME,
      this.kind,
      key,
      now,
      this.windowMs,
    )) as unknown as Row[];
    if (!row) throw new Error('rate_limit_windows: the upsert returned no row');
    return view(row, now);
  }

  async peek(key: string): Promise<WindowCount | undefined> {
    const now = this.clock.now();
    const [row] = (await this.db.all(PEEK, this.kind, key, now)) as unknown as Row[];
    return row ? view(row, now) : undefined;
  }
}

const view = (row: Row, now: number): WindowCount => ({
  count: Number(row.count),
  msBeforeReset: Number(row.ends_at) - now,
});

/** Every kind's windows in D1, on `clock`: limits that hold across isolates. */
export function d1Limiters(db: D1Like, clock: Clock): RateLimiterFactory {
  return (kind, windowSeconds) => new D1FixedWindowLimiter(db, clock, kind, windowSeconds);
}

/** Drops the rows of windows closed at `nowMs`; returns how many. */
export async function pruneRateLimits(db: D1Like, nowMs: number): Promise<number> {
  const { meta } = await db.prepare(PRUNE).bind(nowMs).run();
  return meta.changes ?? 0;
}
