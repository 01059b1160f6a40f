import type { Clock } from '../shared/clock.js';
import type { RateLimiter, RateLimiterFactory, WindowCount } from './limiter.js';

/** Closed windows dropped per call at most: bounded work per request. */
const SWEEP = 64;

interface Window {
  count: number;
  /** When the window closes, in the clock's milliseconds. */
  endsAt: number;
}

/**
 * A fixed-window counter in memory, on the injected clock. A key's window
 * opens at its first hit and lasts `windowSeconds`; the next hit after it
 * closes opens a new one. (rate-limiter-flexible's memory limiter counts the
 * same way but reads wall-clock time, so its windows could not be tested.)
 *
 * Memory is bounded by the keys one window can open: a key per client
 * address, per verified subject, or per (address, known client_id) for failed
 * authentication. Every window has the same length, so the map, in insertion
 * order, is also in closing order: each call first drops up to SWEEP closed
 * windows from its front, and opens at most one. Closed windows thus drain
 * 64 times faster than keys can be added, no request pays for more than 64
 * (a full sweep of 100,000 keys took 45 ms), and a closed window is never
 * counted meanwhile. No timer: nothing keeps a process alive or runs while
 * the broker is idle.
 */
export class FixedWindowLimiter implements RateLimiter {
  private readonly windows = new Map<string, Window>();
  private readonly windowMs: number;

  constructor(
    private readonly clock: Clock,
    windowSeconds: number,
  ) {
    this.windowMs = windowSeconds * 1000;
  }

  consume(key: string): Promise<WindowCount> {
    const now = this.clock.now();
    this.sweep(now);
    let w = this.open(key, now);
    if (!w) {
      // Deleted first so that a reopened key moves to the back: the map stays in closing order.
      this.windows.delete(key);
      w = { count: 0, endsAt: now + this.windowMs };
      this.windows.set(key, w);
    }
    w.count += 1;
    return Promise.resolve(this.view(w, now));
  }

  peek(key: string): Promise<WindowCount | undefined> {
    const now = this.clock.now();
    this.sweep(now);
    const w = this.open(key, now);
    return Promise.resolve(w && this.view(w, now));
  }

  /** Windows held: the open ones, and closed ones that calls have not yet swept. */
  get size(): number {
    return this.windows.size;
  }

  private open(key: string, now: number): Window | undefined {
    const w = this.windows.get(key);
    return w && this.isOpen(w, now) ? w : undefined;
  }

  /**
   * A window that begins after `now` (the clock was set back) counts as
   * closed too, so a key is never held for longer than one window. Windows
   * opened before the jump sit in front of any opened after it, so sweeps
   * still reach them, at the latest when the front windows close.
   */
  private isOpen(w: Window, now: number): boolean {
    return now < w.endsAt && w.endsAt - this.windowMs <= now;
  }

  private sweep(now: number): void {
    let budget = SWEEP;
    for (const [key, w] of this.windows) {
      if (budget-- === 0 || this.isOpen(w, now)) return;
      this.windows.delete(key);
    }
  }

  private view(w: Window, now: number): WindowCount {
    return { count: w.count, msBeforeReset: w.endsAt - now };
  }
}

/** The default: each kind's windows in this instance's memory, on the injected clock. */
export function inMemoryLimiters(clock: Clock): RateLimiterFactory {
  return (_kind, windowSeconds) => new FixedWindowLimiter(clock, windowSeconds);
}
