import type { Rate, RateLimit } from '../config/compile.js';
import { BrokerError } from '../shared/errors.js';
import { formatDuration } from '../protocol/duration.js';
import type { RateLimiter, RateLimiterFactory } from './limiter.js';

/**
 * Limits on the token endpoints, per client address and per subject (the CI
 * token's subject or the person), and on failed client authentication at
 * /introspect. The counting is the injected `RateLimiter`'s: in memory per
 * instance by default (a flood is stopped where it lands, and a restart
 * forgets nothing that matters), every key dropped when its window closes.
 */
export class RateLimits {
  private readonly perClient: RateLimiter;
  private readonly perSubject: RateLimiter;
  private readonly failedAuth: RateLimiter;

  constructor(
    private readonly limits: RateLimit,
    limiter: RateLimiterFactory,
  ) {
    this.perClient = limiter('client', limits.perClient.windowSeconds);
    this.perSubject = limiter('subject', limits.perSubject.windowSeconds);
    this.failedAuth = limiter('failed-auth', limits.failedAuth.windowSeconds);
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
    const res = await this.failedAuth.peek(failedAuthKey(key));
    if (!res || res.count < this.limits.failedAuth.limit) return;
    const { limit, windowSeconds } = this.limits.failedAuth;
    const retryAfter = seconds(res.msBeforeReset);
    throw new BrokerError(
      'rate_limited',
      `too many failed client authentications for this client_id from this address (limit ${limit} per ${formatDuration(windowSeconds)}): check the secret in resource_servers and retry after ${retryAfter}s`,
      { headers: { 'Retry-After': String(retryAfter) } },
    );
  }

  /** Counts one failed client authentication; true when it reaches the limit. */
  async recordFailedAuth(key: FailedAuthKey): Promise<boolean> {
    // Past the limit (concurrent failures) it is counted, with nothing more to say.
    const res = await this.failedAuth.consume(failedAuthKey(key));
    return res.count === this.limits.failedAuth.limit;
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

async function consume(limiter: RateLimiter, key: string, who: string, limit: Rate): Promise<void> {
  const res = await limiter.consume(key);
  if (res.count <= limit.limit) return;
  const retryAfter = seconds(res.msBeforeReset);
  throw new BrokerError(
    'rate_limited',
    `too many requests from ${who} (limit ${limit.limit} per ${formatDuration(limit.windowSeconds)}): retry after ${retryAfter}s`,
    { headers: { 'Retry-After': String(retryAfter) } },
  );
}

/** Retry-After in whole seconds, rounded up so that a retry never lands inside the window. */
function seconds(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000));
}
