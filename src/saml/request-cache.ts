import type { CacheItem, CacheProvider } from '@node-saml/node-saml';
import type { Clock } from '../clock.js';
import { nowSeconds } from '../clock.js';
import type { Store } from '../store/types.js';

/**
 * node-saml's request-id cache (for InResponseTo), kept in the database so a
 * login started on one instance can finish on another or after a restart.
 * Expiry follows the broker's clock.
 */
export class StoreRequestCache implements CacheProvider {
  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly ttlSeconds: number,
  ) {}

  async saveAsync(key: string, value: string): Promise<CacheItem | null> {
    const now = nowSeconds(this.clock);
    await this.store.saveSamlRequest(key, value, now + this.ttlSeconds);
    return { value, createdAt: now * 1000 };
  }

  async getAsync(key: string): Promise<string | null> {
    return (await this.store.getSamlRequest(key, nowSeconds(this.clock))) ?? null;
  }

  async removeAsync(key: string | null): Promise<string | null> {
    if (key === null) return null;
    return (await this.store.deleteSamlRequest(key)) ?? null;
  }
}
