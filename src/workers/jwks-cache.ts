import { sha256Hex } from '../shared/crypto.js';
import type { CachedJwks, SharedJwksCache } from '../oidc/jwks-cache.js';

/** The part of the Cache API used here (`caches.default` on Workers). */
export interface CacheLike {
  match(request: Request): Promise<Response | undefined>;
  put(request: Request, response: Response): Promise<void>;
}

/**
 * Never fetched: the Cache API keys entries by URL, and this host (RFC 2606
 * reserves .invalid) cannot collide with a URL the Worker really serves.
 */
const KEY_BASE = 'https://jwks-cache.tokenbroker.invalid/';

/**
 * CI providers' key sets in the Cache API, shared by the isolates of one
 * Cloudflare location (the cache is per location, not global). Entries expire
 * when their keys stop being fresh; the entry's own times, on the injected
 * clock, are what the verifier compares. The key is a digest, so a long
 * issuer URL makes no long cache key.
 */
export function cacheApiJwks(cache: CacheLike): SharedJwksCache {
  const request = async (key: string) => new Request(KEY_BASE + (await sha256Hex(key)));
  return {
    async get(key) {
      const hit = await cache.match(await request(key));
      return hit ? ((await hit.json()) as CachedJwks) : undefined;
    },
    async put(key, entry) {
      const seconds = Math.max(1, Math.ceil((entry.freshUntil - entry.fetchedAt) / 1000));
      await cache.put(
        await request(key),
        new Response(JSON.stringify(entry), {
          headers: { 'Content-Type': 'application/json', 'Cache-Control': `max-age=${seconds}` },
        }),
      );
    },
  };
}

/** `caches.default` where the runtime has it (Workers), else nothing: the verifier then fetches. */
export function defaultCache(): CacheLike | undefined {
  const caches = (globalThis as { caches?: { default?: CacheLike } }).caches;
  return caches?.default;
}
