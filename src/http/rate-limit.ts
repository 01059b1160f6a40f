import type {
  RateLimiterMemory as RateLimiterMemoryType,
  RateLimiterRes,
} from 'rate-limiter-flexible';
// The package root pulls in node:cluster; the memory limiter alone runs on Workers too.
import RateLimiterMemoryImpl from 'rate-limiter-flexible/lib/RateLimiterMemory.js';
import type { RateLimit } from '../config/compile.js';
import { BrokerError } from '../errors.js';
import { formatDuration } from '../config/duration.js';

const RateLimiterMemory = RateLimiterMemoryImpl as unknown as typeof RateLimiterMemoryType;

/**
 * Limits on the token endpoints, per client address and per subject (the CI
 * token's subject or the person), and on failed client authentication at
 * /introspect, kept in memory per instance: a flood is stopped where it
 * lands, and a restart forgets nothing that matters. Every key expires with
 * its window, so memory is bounded by the keys one window can create.
 */
export class RateLimits {
  private readonly perClient: RateLimiterMemoryType;
  private readonly perSubject: RateLimiterMemoryType;
  private readonly failedAuth: RateLimiterMemoryType;

  constructor(private readonly limits: RateLimit) {
    this.perClient = new RateLimiterMemory({
      keyPrefix: 'client',
      points: limits.perClient.limit,
      duration: limits.perClient.windowSeconds,
    });
    this.perSubject = new RateLimiterMemory({
      keyPrefix: 'subject',
      points: limits.perSubject.limit,
      duration: limits.perSubject.windowSeconds,
    });
    this.failedAuth = new RateLimiterMemory({
      keyPrefix: 'failed-auth',
      points: limits.failedAuth.limit,
      duration: limits.failedAuth.windowSeconds,
    });
  }

  async client(address: string | null): Promise<void> {
    await consume(
      this.perClient,
      address ?? 'unknown',
      'this client address',
      this.limits.perClient,
    );
  }

  async subject(subject: string): Promise<void> {
    await consume(this.perSubject, subject, `subject ${subject}`, this.limits.perSubject);
  }

  /**
   * Refuses a caller whose client authentication has failed `failed_auth`
   * times within the window, before its credentials are even checked (so the
   * right secret, found by guessing, is refused too). Only failures count: a
   * busy resource server that authenticates is never slowed down.
   */
  async checkFailedAuth(key: FailedAuthKey): Promise<void> {
    const res = await this.failedAuth.get(failedAuthKey(key));
    if (!res || res.consumedPoints < this.limits.failedAuth.limit) return;
    const { limit, windowSeconds } = this.limits.failedAuth;
    const retryAfter = Math.max(1, Math.ceil(res.msBeforeNext / 1000));
    throw new BrokerError(
      'rate_limited',
      `too many failed client authentications for this client_id from this address (limit ${limit} per ${formatDuration(windowSeconds)}): check the secret in resource_servers and retry after ${retryAfter}s`,
      { headers: { 'Retry-After': String(retryAfter) } },
    );
  }

  /** Counts one failed client authentication; true when it reaches the limit. */
  async recordFailedAuth(key: FailedAuthKey): Promise<boolean> {
    try {
      const res = await this.failedAuth.consume(failedAuthKey(key));
      return res.consumedPoints === this.limits.failedAuth.limit;
    } catch (e) {
      if (e instanceof Error) throw e;
      return false; // already over (concurrent failures): counted, nothing more to say
    }
  }
}

/**
 * Who failed to authenticate: the address, and the client_id when it is one
 * of resource_servers. Every unknown client_id from an address shares one
 * key, so random client_ids cannot grow the table: it holds at most
 * (addresses seen in one window) x (resource servers + 1) keys. A guesser at
 * one address locks out only that (address, client_id), never the real
 * resource server calling from its own address.
 */
export interface FailedAuthKey {
  address: string | null;
  knownClientId: string | undefined;
}

function failedAuthKey({ address, knownClientId }: FailedAuthKey): string {
  // A space never appears in an address; the prefix keeps known ids apart from the unknown bucket.
  return `${address ?? 'unknown'} ${knownClientId === undefined ? '?' : `=${knownClientId}`}`;
}

async function consume(
  limiter: RateLimiterMemoryType,
  key: string,
  who: string,
  limit: { limit: number; windowSeconds: number },
): Promise<void> {
  try {
    await limiter.consume(key);
  } catch (e) {
    if (e instanceof Error) throw e;
    const retryAfter = Math.max(1, Math.ceil((e as RateLimiterRes).msBeforeNext / 1000));
    throw new BrokerError(
      'rate_limited',
      `too many requests from ${who} (limit ${limit.limit} per ${formatDuration(limit.windowSeconds)}): retry after ${retryAfter}s`,
      { headers: { 'Retry-After': String(retryAfter) } },
    );
  }
}
