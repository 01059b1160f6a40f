import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock, nowSeconds } from '../../src/shared/clock.js';
import { FixedWindowLimiter } from '../../src/rate-limit/fixed-window.js';
import type { LimitKind, RateLimiterFactory } from '../../src/rate-limit/limiter.js';
import {
  basic,
  EXCHANGE,
  form,
  HUB_SECRET,
  mintFor,
  startBroker,
  testConfig,
  type TestBroker,
} from '../helpers/broker.js';
import { startCi, type CiSetup } from '../helpers/ci.js';

// The windows run on the broker's injected clock: these tests move it across
// a window instead of sleeping through one.

let brokers: TestBroker[] = [];
let ci: CiSetup | undefined;
afterEach(async () => {
  for (const b of brokers) await b.cleanup();
  brokers = [];
  await ci?.close();
  ci = undefined;
});

async function broker(rateLimit: Record<string, string>, clock = new ManualClock(Date.now())) {
  const b = await startBroker({ config: await testConfig({ rate_limit: rateLimit }), clock });
  brokers.push(b);
  return b;
}

/** The 429's Retry-After in seconds, after checking it is one. */
async function retryAfter(res: Response, description: RegExp): Promise<number> {
  expect(res.status).toBe(429);
  const body = await res.json();
  expect(body.error).toBe('temporarily_unavailable');
  expect(body.error_description).toMatch(description);
  const seconds = Number(res.headers.get('retry-after'));
  // The description and the header tell the same wait.
  expect(body.error_description).toContain(`retry after ${seconds}s`);
  return seconds;
}

const narrow = (b: TestBroker, token: string) =>
  b.app.request(
    '/token',
    form({
      grant_type: EXCHANGE.grant_type,
      subject_token: token,
      subject_token_type: EXCHANGE.access,
    }),
  );

const introspectAs = (b: TestBroker, secret: string) =>
  b.app.request('/introspect', {
    ...form({ token: 'not-a-token' }),
    headers: {
      'Content-Type': 'application/x-www-form-urlencoded',
      Authorization: basic('hub', secret),
    },
  });

const PER_CLIENT = /^too many requests from this client address \(limit 3 per 1m\)/;
const PER_SUBJECT =
  /^too many requests from subject ci:github:repo:acme\/models:environment:production \(limit 2 per 1m\)/;
const FAILED_AUTH =
  /^too many failed client authentications for this client_id from this address \(limit 3 per 1m\)/;

describe('rate limit windows on the injected clock', () => {
  it('serves a client again once the clock passes its window, and Retry-After counts down to it', async () => {
    const b = await broker({ per_client: '3/1m', per_subject: '100/1m' });
    const { token } = await mintFor(b, ['read:models/acme/*']);
    for (let i = 0; i < 3; i++) expect((await narrow(b, token)).status).toBe(200);
    expect(await retryAfter(await narrow(b, token), PER_CLIENT)).toBe(60);
    b.clock.advance(20);
    expect(await retryAfter(await narrow(b, token), PER_CLIENT)).toBe(40);
    b.clock.advance(39.5);
    // Rounded up: a client that waits what it was told lands after the window.
    expect(await retryAfter(await narrow(b, token), PER_CLIENT)).toBe(1);
    b.clock.advance(0.5);
    for (let i = 0; i < 3; i++) expect((await narrow(b, token)).status).toBe(200);
    expect(await retryAfter(await narrow(b, token), PER_CLIENT)).toBe(60);
  });

  it('counts a window from its first request, not from the refusals', async () => {
    const b = await broker({ per_client: '3/1m', per_subject: '100/1m' });
    const revoke = () => b.app.request('/revoke', form({ token: 'x' }));
    expect((await revoke()).status).toBe(200);
    b.clock.advance(30);
    expect((await revoke()).status).toBe(200);
    expect((await revoke()).status).toBe(200);
    expect(await retryAfter(await revoke(), PER_CLIENT)).toBe(30);
    b.clock.advance(30);
    expect((await revoke()).status).toBe(200);
  });

  it('serves a CI subject again once the clock passes its window', async () => {
    ci = await startCi({ extra: { rate_limit: { per_client: '100/1m', per_subject: '2/1m' } } });
    const { broker: b } = ci;
    const job = () => ci!.github.github({}, { now: nowSeconds(b.clock) });
    for (let i = 0; i < 2; i++) expect((await ci.exchange(await job())).status).toBe(200);
    expect(await retryAfter(await ci.exchange(await job()), PER_SUBJECT)).toBe(60);
    b.clock.advance(45);
    expect(await retryAfter(await ci.exchange(await job()), PER_SUBJECT)).toBe(15);
    b.clock.advance(15);
    for (let i = 0; i < 2; i++) expect((await ci.exchange(await job())).status).toBe(200);
    expect(await retryAfter(await ci.exchange(await job()), PER_SUBJECT)).toBe(60);
  });

  it('lets the right secret in again once the failed-authentication window has passed', async () => {
    const b = await broker({ failed_auth: '3/1m' });
    for (let i = 0; i < 3; i++) expect((await introspectAs(b, `guess-${i}`)).status).toBe(401);
    expect(await retryAfter(await introspectAs(b, HUB_SECRET), FAILED_AUTH)).toBe(60);
    b.clock.advance(50);
    expect(await retryAfter(await introspectAs(b, HUB_SECRET), FAILED_AUTH)).toBe(10);
    b.clock.advance(10);
    const res = await introspectAs(b, HUB_SECRET);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ active: false });
    // A new window: three more failures to be locked out again.
    for (let i = 0; i < 3; i++) expect((await introspectAs(b, `guess-${i}`)).status).toBe(401);
    expect(await retryAfter(await introspectAs(b, HUB_SECRET), FAILED_AUTH)).toBe(60);
  });

  it('counts on the limiter the runtime injects, shared between two instances', async () => {
    const clock = new ManualClock(Date.now());
    const shared = new Map<LimitKind, FixedWindowLimiter>();
    const rateLimiter: RateLimiterFactory = (kind, windowSeconds) => {
      const limiter = shared.get(kind) ?? new FixedWindowLimiter(clock, windowSeconds);
      shared.set(kind, limiter);
      return limiter;
    };
    const config = await testConfig({ rate_limit: { per_client: '3/1m', per_subject: '100/1m' } });
    const [one, two] = [
      await startBroker({ config, clock, rateLimiter }),
      await startBroker({ config, clock, rateLimiter }),
    ];
    brokers.push(one, two);
    const revoke = (b: TestBroker) => b.app.request('/revoke', form({ token: 'x' }));
    expect((await revoke(one)).status).toBe(200);
    expect((await revoke(one)).status).toBe(200);
    expect((await revoke(two)).status).toBe(200);
    expect(await retryAfter(await revoke(two), PER_CLIENT)).toBe(60);
    expect(await retryAfter(await revoke(one), PER_CLIENT)).toBe(60);
    expect(shared.get('client')!.size).toBe(1);
  });
});
