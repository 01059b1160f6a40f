/**
 * Bounded exponential backoff with full jitter, for calls that may fail for a
 * moment (network errors, timeouts, 5xx). Sleep and randomness are injected so
 * tests assert the delays instead of waiting for them.
 */
export interface RetryOptions {
  /** Tries in all, the first included. */
  attempts: number;
  /** Cap of the first delay; doubles each time. */
  baseDelayMs: number;
  /** No single delay is longer than this, whatever the server asks. */
  maxDelayMs: number;
  sleep: (ms: number) => Promise<void>;
  /** In [0, 1); Math.random in production. */
  random: () => number;
  /** Told before each wait, so the user sees why the step is slow. */
  onRetry?: (info: RetryInfo) => void;
}

export interface RetryInfo {
  attempt: number;
  attempts: number;
  delayMs: number;
  reason: string;
}

/** The retries of the real action and CLI: 4 tries, waits from 1s doubling to 10s, real timers. */
export const DEFAULT_RETRY: Omit<RetryOptions, 'onRetry'> = {
  attempts: 4,
  baseDelayMs: 1000,
  maxDelayMs: 10_000,
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  random: Math.random,
};

/** The line the action and the CLI print before waiting to retry. */
export function retryNotice(info: RetryInfo): string {
  return `${info.reason}; try ${info.attempt + 1} of ${info.attempts} in ${(info.delayMs / 1000).toFixed(1)}s`;
}

/** 2026-01-01T00:15:00Z: an expiry as the action's output and the CLI show it. */
export const isoSeconds = (d: Date): string => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

/** Thrown by the retried function for a failure worth another try. */
export class TransientError extends Error {
  override readonly name = 'TransientError';
  constructor(
    message: string,
    /** The server's Retry-After, in seconds, when it sent one. */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }
}

/**
 * Runs `fn` until it succeeds, throws anything but a TransientError, or has
 * been tried `attempts` times; then the last TransientError is thrown.
 */
export async function retry<T>(fn: (attempt: number) => Promise<T>, o: RetryOptions): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (e) {
      if (!(e instanceof TransientError) || attempt >= o.attempts) throw e;
      const delayMs = backoffDelay(attempt, e.retryAfterSeconds, o);
      o.onRetry?.({ attempt, attempts: o.attempts, delayMs, reason: e.message });
      await o.sleep(delayMs);
    }
  }
}

/**
 * A server's Retry-After wins (capped); otherwise "full jitter": uniform in
 * [0, base * 2^(attempt-1)], so many CI jobs failing together do not retry
 * in lockstep.
 */
export function backoffDelay(
  attempt: number,
  retryAfterSeconds: number | undefined,
  o: Pick<RetryOptions, 'baseDelayMs' | 'maxDelayMs' | 'random'>,
): number {
  if (retryAfterSeconds !== undefined) return Math.min(retryAfterSeconds * 1000, o.maxDelayMs);
  const ceiling = Math.min(o.baseDelayMs * 2 ** (attempt - 1), o.maxDelayMs);
  return Math.round(o.random() * ceiling);
}
