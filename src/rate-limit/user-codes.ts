import { BrokerError } from '../shared/errors.js';
import type { RateLimiter, RateLimiterFactory } from './limiter.js';

/**
 * Wrong user codes allowed, per client address and across the whole broker
 * (the code space is one), in fixed windows of a minute.
 *
 * Why this makes guessing hopeless: a code is 8 letters from 20, one of
 * 20^8 = 2.56 * 10^10. A code lives 10 minutes, and a 10-minute span touches
 * at most 11 one-minute windows, so the whole broker hears at most
 * 11 * 100 = 1,100 wrong codes in a code's life (one address: 110). The
 * chance that they hit one given code is at most 1,100 / 2.56e10 = 4.3e-8;
 * with 1,000 people approving at the same moment, hitting any of their codes
 * is at most 4.3e-5. And a hit gives the guesser no token: the token goes to
 * the device that asked, for the guesser's own roles if they approve.
 * A person mistyping a code needs a few tries, far below 10 a minute.
 *
 * Always on, even with `rate_limit: false`: that turns off the load limits,
 * and this one is what makes an 8-letter code safe.
 */
export const WRONG_USER_CODES = {
  perAddress: 10,
  everywhere: 100,
  windowSeconds: 60,
} as const;

const EVERYWHERE = '*';
const addressKey = (address: string | null) => `a ${address ?? 'unknown'}`;

/**
 * Counts the user codes that matched no request, and refuses every lookup
 * once a limit is reached, before the code is looked at: a right code found
 * by guessing is refused too. Only misses count, so a person who types their
 * code right is never slowed down by their own earlier typo beyond the window.
 */
export class WrongUserCodes {
  private readonly counts: RateLimiter;

  constructor(limiter: RateLimiterFactory) {
    this.counts = limiter('user-code', WRONG_USER_CODES.windowSeconds);
  }

  /** Throws `rate_limited` when this address, or the whole broker, has had too many misses. */
  async check(address: string | null): Promise<void> {
    const mine = await this.counts.peek(addressKey(address));
    if (mine && mine.count >= WRONG_USER_CODES.perAddress) {
      throw limited(
        mine.msBeforeReset,
        `too many wrong codes from your address (${WRONG_USER_CODES.perAddress} a minute)`,
      );
    }
    const all = await this.counts.peek(EVERYWHERE);
    if (all && all.count >= WRONG_USER_CODES.everywhere) {
      throw limited(all.msBeforeReset, 'too many wrong codes were tried on this broker just now');
    }
  }

  /** Counts a miss; says which limit it has just reached, if any (to record once a window). */
  async miss(address: string | null): Promise<'address' | 'everywhere' | undefined> {
    const mine = await this.counts.consume(addressKey(address));
    const all = await this.counts.consume(EVERYWHERE);
    if (all.count === WRONG_USER_CODES.everywhere) return 'everywhere';
    if (mine.count === WRONG_USER_CODES.perAddress) return 'address';
    return undefined;
  }
}

function limited(msBeforeReset: number, what: string): BrokerError {
  const retryAfter = Math.max(1, Math.ceil(msBeforeReset / 1000));
  return new BrokerError(
    'rate_limited',
    `${what}: wait ${retryAfter}s, then copy the code from your terminal again (or open the link it shows)`,
    { headers: { 'Retry-After': String(retryAfter) } },
  );
}
