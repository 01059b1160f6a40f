import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/shared/clock.js';
import { FixedWindowLimiter } from '../../src/rate-limit/fixed-window.js';
import type { RateLimiter } from '../../src/rate-limit/limiter.js';
import { d1Limiters, pruneRateLimits } from '../../src/workers/d1-limiter.js';

// Two limiters on one D1 stand for two isolates of the Worker: each has its
// own objects, only the database is shared.
function isolates(clock: ManualClock, windowSeconds = 60) {
  return [
    d1Limiters(env.DB, clock)('client', windowSeconds),
    d1Limiters(env.DB, clock)('client', windowSeconds),
  ] as const;
}

// Earlier tests of this file leave rows in the same D1.
const closedRows = async (nowMs: number) =>
  (await env.DB.prepare('SELECT count(*) AS n FROM rate_limit_windows WHERE ends_at <= ?')
    .bind(nowMs)
    .first<{ n: number }>())!.n;
const keys = async () =>
  (await env.DB.prepare('SELECT key FROM rate_limit_windows').all<{ key: string }>()).results.map(
    (r) => r.key,
  );

describe('the D1 rate limiter', () => {
  it('counts hits on one key across two isolates, each count including its own hit', async () => {
    const clock = new ManualClock();
    const [a, b] = isolates(clock);
    expect(await a.consume('203.0.113.1')).toEqual({ count: 1, msBeforeReset: 60_000 });
    clock.advance(10);
    expect(await b.consume('203.0.113.1')).toEqual({ count: 2, msBeforeReset: 50_000 });
    expect(await a.consume('203.0.113.1')).toEqual({ count: 3, msBeforeReset: 50_000 });
    expect(await b.consume('198.51.100.7')).toEqual({ count: 1, msBeforeReset: 60_000 });
  });

  it('gives concurrent hits from two isolates each a different count, none lost', async () => {
    const clock = new ManualClock();
    const [a, b] = isolates(clock);
    const hits = await Promise.all(
      Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).consume('concurrent')),
    );
    expect(hits.map((h) => h.count).sort((x, y) => x - y)).toEqual(
      Array.from({ length: 20 }, (_, i) => i + 1),
    );
  });

  it('keeps kinds apart: the same key under another kind has its own window', async () => {
    const clock = new ManualClock();
    const make = d1Limiters(env.DB, clock);
    await make('client', 60).consume('shared-key');
    expect(await make('subject', 60).consume('shared-key')).toMatchObject({ count: 1 });
    expect(await make('client', 60).peek('shared-key')).toMatchObject({ count: 1 });
  });

  it('restarts a window that has closed, on the same row, and prune drops closed windows', async () => {
    const clock = new ManualClock();
    const [a, b] = isolates(clock);
    await a.consume('closing');
    await a.consume('closing');
    await a.consume('other');
    clock.advance(59.999);
    expect(await b.consume('closing')).toEqual({ count: 3, msBeforeReset: 1 });
    clock.advance(0.001);
    expect(await b.peek('closing')).toBeUndefined();
    expect(await b.consume('closing')).toEqual({ count: 1, msBeforeReset: 60_000 });
    const closed = await closedRows(clock.now());
    expect(closed).toBeGreaterThanOrEqual(1);
    expect(await pruneRateLimits(env.DB, clock.now())).toBe(closed);
    expect(await closedRows(clock.now())).toBe(0);
    // 'other' closed and is gone; 'closing' just restarted and stays.
    expect(await keys()).toContain('closing');
    expect(await keys()).not.toContain('other');
    expect(await a.peek('closing')).toEqual({ count: 1, msBeforeReset: 60_000 });
  });

  it('peeks without counting, and sees nothing for a key without a window', async () => {
    const clock = new ManualClock();
    const [a, b] = isolates(clock);
    expect(await a.peek('peeked')).toBeUndefined();
    await a.consume('peeked');
    clock.advance(5);
    expect(await b.peek('peeked')).toEqual({ count: 1, msBeforeReset: 55_000 });
    expect(await b.peek('peeked')).toEqual({ count: 1, msBeforeReset: 55_000 });
    expect(await a.consume('peeked')).toMatchObject({ count: 2 });
  });

  it('counts a window opened "in the future" as closed when the clock is set back', async () => {
    const clock = new ManualClock();
    const [a, b] = isolates(clock);
    await a.consume('time-travel');
    await a.consume('time-travel');
    clock.advance(-3600);
    expect(await b.peek('time-travel')).toBeUndefined();
    expect(await b.consume('time-travel')).toEqual({ count: 1, msBeforeReset: 60_000 });
  });

  it('answers as the in-memory limiter does, hit for hit, over a run of hits and clock moves', async () => {
    const clock = new ManualClock();
    const d1: RateLimiter = d1Limiters(env.DB, clock)('failed-auth', 30);
    const memory = new FixedWindowLimiter(clock, 30);
    const steps: (number | string)[] = ['k1', 'k1', 12, 'k2', 'k1', 18, 'k1', 'k2', -100, 'k2', 45];
    for (const step of steps) {
      if (typeof step === 'number') {
        clock.advance(step);
        expect(await d1.peek('k1')).toEqual(await memory.peek('k1'));
        expect(await d1.peek('k2')).toEqual(await memory.peek('k2'));
      } else {
        expect(await d1.consume(step)).toEqual(await memory.consume(step));
      }
    }
  });
});
