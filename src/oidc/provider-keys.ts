import type { JWK } from 'jose';
import type { Clock } from '../shared/clock.js';
import type { Provider } from '../config/compile.js';
import { BrokerError } from '../shared/errors.js';
import type { Logger } from '../shared/log.js';
import type { Metrics } from '../shared/metrics.js';
import { isSecureUrl } from '../shared/url.js';
import { hasPrivateMembers, keyFitsAlgorithm } from '../jws/algorithms.js';
import { showJson } from '../shared/show.js';
import { FetchProblem, fetchJson } from '../shared/fetch-json.js';
import { readCachedJwks, type CachedJwks, type SharedJwksCache } from './jwks-cache.js';

const MAX_JWKS_BYTES = 100 * 1024;
const MIN_CACHE_SECONDS = 5 * 60;
const MAX_CACHE_SECONDS = 24 * 3600;
const DEFAULT_CACHE_SECONDS = 3600;
/** An unknown `kid` may trigger a refetch at most this often per provider. */
const UNKNOWN_KID_REFETCH_SECONDS = 60;
/** After a failed refresh, wait this long before trying again. */
const RETRY_AFTER_FAILURE_SECONDS = 60;

/**
 * One CI provider's signing keys. Fetched once and kept per the response's
 * cache headers (bounded), so the steady state makes no fetch at all. An
 * unknown `kid` refetches at most once a minute; a failed or empty fetch
 * never replaces the last good set. With a shared cache (Workers), a stale or
 * missing set is first looked up there, and an entry some other instance
 * fetched counts as this instance's fetch for those limits.
 */
export class ProviderKeys {
  private set: JWK[] | undefined;
  private freshUntil = 0;
  private lastFetch = -Infinity;
  private nextAttempt = 0;
  private jwksUri: string | undefined;
  private inflight: Promise<void> | undefined;
  private lastError: BrokerError | undefined;

  constructor(
    private readonly provider: Provider,
    private readonly deps: {
      fetch: typeof fetch;
      clock: Clock;
      logger: Logger;
      jwksCache?: SharedJwksCache;
      metrics?: Metrics;
    },
  ) {
    this.jwksUri = provider.jwksUri;
  }

  /** The shared cache's key: the provider's issuer and where its keys are configured to come from. */
  private get sharedKey(): string {
    return `${this.provider.issuer}\n${this.provider.jwksUri ?? ''}`;
  }

  /**
   * The published keys that may have signed a token with this header: same
   * `kid` (when the header names one), a key type and curve fitting `alg`, and
   * no `use`/`key_ops`/`alg` saying otherwise. Never empty: an unknown key
   * refetches the set (at most once a minute), then refuses the token.
   */
  async keysFor(header: { alg: string; kid?: string }): Promise<JWK[]> {
    await this.ensureFresh();
    let found = matching(this.set!, header);
    if (found.length === 0) {
      const sinceLast = (this.deps.clock.now() - this.lastFetch) / 1000;
      if (sinceLast >= UNKNOWN_KID_REFETCH_SECONDS) {
        // The issuer may have rotated: look once more.
        await this.refresh(true);
        found = matching(this.set!, header);
      }
    }
    if (found.length === 0) {
      throw new BrokerError(
        'token_invalid',
        `CI token is signed by a key that ${this.provider.name} does not publish (kid ${showJson(header.kid ?? null)}): it was not issued by ${this.provider.issuer}`,
      );
    }
    return found;
  }

  private async ensureFresh(): Promise<void> {
    const now = this.deps.clock.now();
    if (this.set && now < this.freshUntil) return;
    if (now < this.nextAttempt) {
      // A refresh just failed: serve the stale set, or repeat the failure without another fetch.
      if (this.set) return;
      throw this.lastError!;
    }
    await this.refresh(false);
  }

  private refresh(force: boolean): Promise<void> {
    this.inflight ??= this.load(force).finally(() => (this.inflight = undefined));
    return this.inflight;
  }

  private async load(force: boolean): Promise<void> {
    const now = this.deps.clock.now();
    if (!force && this.set && now < this.freshUntil) return;
    const shared = await this.readShared(now);
    if (shared && shared.fetchedAt > this.lastFetch) {
      this.set = shared.keys;
      this.freshUntil = shared.freshUntil;
      this.lastFetch = shared.fetchedAt;
      // Another instance fetched: fresh enough, or (for an unknown kid) too recent to fetch again.
      const fetchedFor = now - shared.fetchedAt;
      if (force ? fetchedFor < UNKNOWN_KID_REFETCH_SECONDS * 1000 : now < shared.freshUntil) return;
    }
    try {
      const uri = await this.resolveJwksUri();
      this.lastFetch = now;
      const { body, maxAge } = await fetchJson(this.deps.fetch, uri, { maxBytes: MAX_JWKS_BYTES });
      const jwks = body as { keys?: unknown };
      const keys = Array.isArray(jwks?.keys)
        ? (jwks.keys as unknown[]).filter(
            (k): k is JWK => typeof k === 'object' && k !== null && !Array.isArray(k),
          )
        : [];
      if (keys.length === 0) throw new FetchProblem(`${uri} published no keys`);
      if (keys.some(hasPrivateMembers)) {
        this.deps.logger.warn('JWKS publishes private key material; those keys are never used', {
          provider: this.provider.name,
          uri,
        });
      }
      this.set = keys;
      const ttl = Math.min(
        MAX_CACHE_SECONDS,
        Math.max(MIN_CACHE_SECONDS, maxAge ?? DEFAULT_CACHE_SECONDS),
      );
      this.freshUntil = now + ttl * 1000;
      this.deps.metrics?.jwksFetch(this.provider.name, true);
      await this.writeShared({ keys, fetchedAt: now, freshUntil: this.freshUntil });
    } catch (e) {
      this.deps.metrics?.jwksFetch(this.provider.name, false);
      this.nextAttempt = now + RETRY_AFTER_FAILURE_SECONDS * 1000;
      const reason = e instanceof FetchProblem || e instanceof BrokerError ? e.message : String(e);
      if (this.set) {
        this.deps.logger.warn('JWKS refresh failed; keeping the last good keys', {
          provider: this.provider.name,
          reason,
        });
        return;
      }
      this.lastError =
        e instanceof BrokerError
          ? e
          : new BrokerError(
              'unavailable',
              `the signing keys of CI provider ${this.provider.name} could not be fetched (${reason}): ${
                e instanceof FetchProblem && e.lasting
                  ? "the broker's operator must check the provider's issuer URL and the network"
                  : 'try again shortly'
              }`,
              {
                detail: { reason },
                headers: { 'Retry-After': String(RETRY_AFTER_FAILURE_SECONDS) },
              },
            );
      throw this.lastError;
    }
  }

  /**
   * The shared cache's entry, when it holds a usable one: never one fetched
   * "after" now (a clock set back), and a cache that fails is only logged, as
   * if empty: the provider is then asked directly.
   */
  private async readShared(now: number): Promise<CachedJwks | undefined> {
    if (!this.deps.jwksCache) return undefined;
    try {
      const entry = readCachedJwks(await this.deps.jwksCache.get(this.sharedKey));
      return entry && entry.fetchedAt <= now ? entry : undefined;
    } catch (e) {
      this.deps.logger.warn('shared JWKS cache could not be read; asking the provider', {
        provider: this.provider.name,
        reason: e instanceof Error ? e.message : String(e),
      });
      return undefined;
    }
  }

  private async writeShared(entry: CachedJwks): Promise<void> {
    if (!this.deps.jwksCache) return;
    try {
      await this.deps.jwksCache.put(this.sharedKey, entry);
    } catch (e) {
      this.deps.logger.warn('shared JWKS cache could not be written; other instances will fetch', {
        provider: this.provider.name,
        reason: e instanceof Error ? e.message : String(e),
      });
    }
  }

  /** `jwks_uri` from config, else from discovery, whose `issuer` must be exactly ours. */
  private async resolveJwksUri(): Promise<string> {
    if (this.jwksUri) return this.jwksUri;
    const url = `${this.provider.issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
    const { body } = await fetchJson(this.deps.fetch, url, { maxBytes: MAX_JWKS_BYTES });
    const doc = body as { issuer?: unknown; jwks_uri?: unknown };
    if (doc?.issuer !== this.provider.issuer) {
      // Not transient: the document at that address speaks for another issuer.
      throw new BrokerError(
        'unknown_issuer',
        `the discovery document of CI provider ${this.provider.name} names issuer ${JSON.stringify(doc?.issuer)}, not ${this.provider.issuer}: its tokens are refused until the operator fixes ci.providers`,
      );
    }
    if (typeof doc.jwks_uri !== 'string' || !/^https?:\/\//.test(doc.jwks_uri)) {
      throw new FetchProblem(`the discovery document at ${url} has no usable jwks_uri`);
    }
    if (!isSecureUrl(doc.jwks_uri)) {
      // Not transient either: keys fetched over plain http could be replaced by anyone on the path.
      throw new BrokerError(
        'unknown_issuer',
        `the discovery document of CI provider ${this.provider.name} names a jwks_uri over plain http (${showJson(doc.jwks_uri)}), whose keys anyone on the network path could replace: its tokens are refused until the operator sets an https jwks_uri under ci.providers`,
      );
    }
    this.jwksUri = doc.jwks_uri;
    return this.jwksUri;
  }
}

function matching(keys: readonly JWK[], header: { alg: string; kid?: string }): JWK[] {
  return keys.filter(
    (k) => (header.kid === undefined || k.kid === header.kid) && keyFitsAlgorithm(k, header.alg),
  );
}
