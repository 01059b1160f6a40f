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
 * token's subject or the person), kept in memory per instance: a flood is
 * stopped where it lands, and a restart forgets nothing that matters.
 */
export class RateLimits {
  private readonly perClient: RateLimiterMemoryType;
  private readonly perSubject: RateLimiterMemoryType;

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
