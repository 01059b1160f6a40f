import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { FixedWindowLimiter } from '../../src/rate-limit/fixed-window.js';

describe('FixedWindowLimiter', () => {
  it('counts hits per key until the window closes, then starts again from one', async () => {
    const clock = new ManualClock();
    const limiter = new FixedWindowLimiter(clock, 60);
    expect(await limiter.consume('a')).toEqual({ count: 1, msBeforeReset: 60_000 });
    clock.advance(10);
    expect(await limiter.consume('a')).toEqual({ count: 2, msBeforeReset: 50_000 });
    expect(await limiter.consume('b')).toEqual({ count: 1, msBeforeReset: 60_000 });
    clock.advance(49.999);
    expect(await limiter.consume('a')).toEqual({ count: 3, msBeforeReset: 1 });
    clock.advance(0.001);
    expect(await limiter.consume('a')).toEqual({ count: 1, msBeforeReset: 60_000 });
  });

  it('peeks without counting and without opening a window', async () => {
    const clock = new ManualClock();
    const limiter = new FixedWindowLimiter(clock, 60);
    expect(await limiter.peek('a')).toBeUndefined();
    expect(limiter.size).toBe(0);
    await limiter.consume('a');
    clock.advance(15);
    expect(await limiter.peek('a')).toEqual({ count: 1, msBeforeReset: 45_000 });
    expect(await limiter.peek('a')).toEqual({ count: 1, msBeforeReset: 45_000 });
    clock.advance(45);
    expect(await limiter.peek('a')).toBeUndefined();
  });

  it('drops every key once its window has closed, so a flood of keys leaves nothing behind', async () => {
    const clock = new ManualClock();
    const limiter = new FixedWindowLimiter(clock, 60);
    for (let i = 0; i < 10_000; i++) await limiter.consume(`address-${i}`);
    expect(limiter.size).toBe(10_000);
    clock.advance(59);
    expect(limiter.size).toBe(10_000);
    clock.advance(1);
    expect(limiter.size).toBe(0);
  });

  it('drops windows in the order they close, a reopened key included', async () => {
    const clock = new ManualClock();
    const limiter = new FixedWindowLimiter(clock, 60);
    await limiter.consume('a'); // closes at 60
    clock.advance(30);
    await limiter.consume('b'); // closes at 90
    clock.advance(31);
    expect(limiter.size).toBe(1);
    await limiter.consume('a'); // reopened at 61, closes at 121: now behind b
    clock.advance(30);
    expect(limiter.size).toBe(1);
    expect(await limiter.peek('b')).toBeUndefined();
    expect(await limiter.peek('a')).toEqual({ count: 1, msBeforeReset: 30_000 });
    clock.advance(30);
    expect(limiter.size).toBe(0);
  });

  it('starts a new window when the clock is set back before the open one began', async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1, 12));
    const limiter = new FixedWindowLimiter(clock, 60);
    await limiter.consume('a');
    await limiter.consume('a');
    await limiter.consume('b');
    clock.set(Date.UTC(2026, 0, 1, 11));
    // Not held for the hour until 12:01, and never told to wait more than one window.
    expect(await limiter.peek('b')).toBeUndefined();
    expect(await limiter.consume('a')).toEqual({ count: 1, msBeforeReset: 60_000 });
    expect(limiter.size).toBe(1);
    clock.advance(60);
    expect(limiter.size).toBe(0);
  });
});
