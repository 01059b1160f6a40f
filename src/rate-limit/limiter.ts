/**
 * Counts hits per key in windows of a fixed length, injected like the store:
 * the Node entry and tests use the in-memory `FixedWindowLimiter` on the
 * injected clock; a runtime with many instances (Workers) can bring a shared
 * one. It only counts: the limits, and what to say when one is reached, are
 * `RateLimits`' business.
 */
export interface RateLimiter {
  /** Counts one hit on `key`, opening a window if it has none; the count includes this hit. */
  consume(key: string): Promise<WindowCount>;
  /** The key's open window without counting; undefined when it has none. */
  peek(key: string): Promise<WindowCount | undefined>;
}

export interface WindowCount {
  /** Hits in the key's window so far. */
  count: number;
  /** Milliseconds until the window closes and the count starts again from zero. */
  msBeforeReset: number;
}

/** The things limited; a shared limiter keeps them apart by this name. */
export type LimitKind = 'client' | 'subject' | 'failed-auth' | 'user-code';

/** Makes the limiter for one kind of key, with that kind's window. */
export type RateLimiterFactory = (kind: LimitKind, windowSeconds: number) => RateLimiter;
