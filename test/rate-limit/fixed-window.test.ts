import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/shared/clock.js';
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

  it('drops a closed window at the next call, and nothing before the window closes', async () => {
    const clock = new ManualClock();
    const limiter = new FixedWindowLimiter(clock, 60);
    for (const key of ['203.0.113.1', '203.0.113.2', '203.0.113.3']) await limiter.consume(key);
    clock.advance(59);
    await limiter.peek('203.0.113.9');
    expect(limiter.size).toBe(3);
    clock.advance(1);
    await limiter.peek('203.0.113.9');
    expect(limiter.size).toBe(0);
  });

  it('drains a flood of keys 64 per call, faster than calls can add keys', async () => {
    const clock = new ManualClock();
    const limiter = new FixedWindowLimiter(clock, 60);
    for (let i = 0; i < 10_000; i++) await limiter.consume(`flood-${i}`);
    expect(limiter.size).toBe(10_000);
    clock.advance(60);
    // Each call pays for at most 64 drops, and a call that opens a key still shrinks the table.
    await limiter.consume('next-0');
    expect(limiter.size).toBe(10_000 - 64 + 1);
    // A closed window still held is never counted: this key opens a new one (and moves to the back).
    expect(await limiter.consume('flood-9999')).toEqual({ count: 1, msBeforeReset: 60_000 });
    expect(limiter.size).toBe(10_000 - 2 * 64 + 1);
    for (let i = 1; i < 160; i++) await limiter.consume(`next-${i}`);
    expect(limiter.size).toBe(161);
  });

  it('drops windows in the order they close, a reopened key included', async () => {
    const clock = new ManualClock();
    const limiter = new FixedWindowLimiter(clock, 60);
    await limiter.consume('a'); // closes at 60
    clock.advance(30);
    await limiter.consume('b'); // closes at 90
    clock.advance(31);
    await limiter.peek('c');
    expect(limiter.size).toBe(1);
    await limiter.consume('a'); // reopened at 61, closes at 121: now behind b
    clock.advance(30);
    expect(await limiter.peek('b')).toBeUndefined();
    expect(limiter.size).toBe(1);
    expect(await limiter.peek('a')).toEqual({ count: 1, msBeforeReset: 30_000 });
    clock.advance(30);
    await limiter.peek('c');
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
    await limiter.peek('c');
    expect(limiter.size).toBe(0);
  });
});
