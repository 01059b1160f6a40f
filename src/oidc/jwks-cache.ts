import type { JWK } from 'jose';

/**
 * A second level under each CI provider's in-memory key set, shared by every
 * instance of the broker: on Workers many isolates run at once, and each would
 * otherwise fetch every provider's JWKS itself. Node has one process and
 * passes none. Entries carry the injected clock's times, so the refetch limits
 * (an unknown kid refetches at most once a minute) hold across instances: one
 * that finds an entry fetched less than a minute ago takes it instead of
 * fetching.
 */
export interface SharedJwksCache {
  get(key: string): Promise<CachedJwks | undefined>;
  /** Keeps `entry` until its freshUntil at least; a failure is the caller's to ignore. */
  put(key: string, entry: CachedJwks): Promise<void>;
}

export interface CachedJwks {
  /** The published keys, as fetched (already checked to be a non-empty list of objects). */
  keys: JWK[];
  /** When they were fetched, in the clock's milliseconds. */
  fetchedAt: number;
  /** Until when they are fresh (the response's max-age, bounded), in the clock's milliseconds. */
  freshUntil: number;
}

/** An entry as read back from a shared cache: shape-checked, never trusted blindly. */
export function readCachedJwks(value: unknown): CachedJwks | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const { keys, fetchedAt, freshUntil } = value as Record<string, unknown>;
  if (!Array.isArray(keys) || keys.length === 0) return undefined;
  if (!keys.every((k) => typeof k === 'object' && k !== null && !Array.isArray(k)))
    return undefined;
  if (typeof fetchedAt !== 'number' || typeof freshUntil !== 'number') return undefined;
  return { keys: keys as JWK[], fetchedAt, freshUntil };
}
