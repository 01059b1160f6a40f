import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.js';
import { parseConfig } from '../../src/config/load.js';
import { ManualClock } from '../../src/shared/clock.js';
import { D1Store } from '../../src/store/d1.js';
import { SecretKeys } from '../../src/tokens/secret-keys.js';
import { d1Limiters } from '../../src/workers/d1-limiter.js';
import { HUB_SECRET, brokerConfig, privateJwk, sha256Hex } from './ci-issuer.js';

/** One isolate: its own app over the shared D1, limits counted there as the Worker counts them. */
async function isolate(clock: ManualClock) {
  const config = parseConfig(brokerConfig({ rate_limit: { per_client: '3/1m' } }), {
    env: { HUB_SECRET_SHA256: await sha256Hex(HUB_SECRET) },
  });
  const app = createApp({
    config,
    store: new D1Store(env.DB),
    keys: await SecretKeys.parse(JSON.stringify(await privateJwk('ES256'))),
    clock,
    clientAddress: (c) => c.req.header('CF-Connecting-IP') ?? null,
    rateLimiter: d1Limiters(env.DB, clock),
  });
  return (address: string) =>
    app.request('/token', {
      method: 'POST',
      headers: {
        'Content-Type': 'application/x-www-form-urlencoded',
        'CF-Connecting-IP': address,
      },
      body: 'grant_type=password',
    });
}

describe('rate limits on Workers', () => {
  it('hold across isolates: a client spreading its requests over two is stopped at the limit', async () => {
    const clock = new ManualClock();
    const [a, b] = [await isolate(clock), await isolate(clock)];
    const statuses = [];
    for (const send of [a, b, a, b]) statuses.push((await send('192.0.2.44')).status);
    // Three refused for their grant type, the fourth for the limit, whichever isolate it reached.
    expect(statuses).toEqual([400, 400, 400, 429]);
    const limited = await b('192.0.2.44');
    expect(limited.headers.get('Retry-After')).toBe('60');
    expect(((await limited.json()) as { error: string }).error).toBe('temporarily_unavailable');
    // Another address has its own window; and the window closes on the clock.
    expect((await a('192.0.2.45')).status).toBe(400);
    clock.advance(60);
    expect((await a('192.0.2.44')).status).toBe(400);
  });
});
