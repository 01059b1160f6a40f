import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.js';
import { parseConfig } from '../../src/config/load.js';
import { ManualClock, nowSeconds } from '../../src/shared/clock.js';
import { D1Store } from '../../src/store/d1.js';
import { SecretKeys } from '../../src/tokens/secret-keys.js';
import { cacheApiJwks, defaultCache } from '../../src/workers/jwks-cache.js';
import {
  HUB_SECRET,
  brokerConfig,
  ciIssuer,
  exchangeForm,
  privateJwk,
  sha256Hex,
} from './ci-issuer.js';

type Issuer = Awaited<ReturnType<typeof ciIssuer>>;

/**
 * One isolate of the Worker: its own app, hence its own in-memory JWKS, over
 * the D1 and the Cache API that all isolates of a location share.
 */
async function isolate(issuer: Issuer, clock: ManualClock) {
  const config = parseConfig(brokerConfig({}, issuer.url), {
    env: { HUB_SECRET_SHA256: await sha256Hex(HUB_SECRET) },
  });
  const app = createApp({
    config,
    store: new D1Store(env.DB),
    keys: await SecretKeys.parse(JSON.stringify(await privateJwk('ES256'))),
    clock,
    fetch: issuer.fetch,
    jwksCache: cacheApiJwks(defaultCache()!),
  });
  return async (kid?: string) => {
    const token = await issuer.mint(nowSeconds(clock), kid ? { kid } : {});
    const res = await app.request('/token', exchangeForm(token));
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
}

// Each test has its own provider (issuer URL), hence its own Cache API entry.
let n = 0;
const freshIssuer = () => ciIssuer(`https://ci-${++n}.example`);

describe("CI providers' keys shared through the Cache API", () => {
  it('lets a second isolate verify without fetching the JWKS the first one fetched', async () => {
    const issuer = await freshIssuer();
    const clock = new ManualClock();
    const first = await isolate(issuer, clock);
    expect((await first()).status).toBe(200);
    expect(issuer.jwksFetches).toBe(1);

    const second = await isolate(issuer, clock);
    expect((await second()).status).toBe(200);
    expect((await second()).status).toBe(200);
    expect(issuer.jwksFetches).toBe(1);
  });

  it('refetches once when the keys are no longer fresh, and the other isolates take that fetch', async () => {
    const issuer = await freshIssuer();
    const clock = new ManualClock();
    const [a, b, c] = [
      await isolate(issuer, clock),
      await isolate(issuer, clock),
      await isolate(issuer, clock),
    ];
    await a();
    await b();
    expect(issuer.jwksFetches).toBe(1);
    clock.advance(3601); // the JWKS said max-age=3600
    expect((await b()).status).toBe(200);
    expect(issuer.jwksFetches).toBe(2);
    expect((await a()).status).toBe(200);
    expect((await c()).status).toBe(200);
    expect(issuer.jwksFetches).toBe(2);
  });

  it('holds the once-a-minute refetch for an unknown kid across isolates', async () => {
    const issuer = await freshIssuer();
    const clock = new ManualClock();
    const a = await isolate(issuer, clock);
    await a();
    expect(issuer.jwksFetches).toBe(1);

    // Within the minute: refused without a fetch, in this isolate and in a new one.
    const unknown = await a('rotated-key');
    expect(unknown).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    expect(String(unknown.body.error_description)).toContain(
      'does not publish (kid "rotated-key")',
    );
    clock.advance(30);
    expect((await (await isolate(issuer, clock))('rotated-key')).status).toBe(400);
    expect(issuer.jwksFetches).toBe(1);

    // A minute after the fetch, one isolate looks again; one started later takes its look.
    clock.advance(31);
    expect((await a('rotated-key')).status).toBe(400);
    expect(issuer.jwksFetches).toBe(2);
    clock.advance(10);
    const late = await isolate(issuer, clock);
    expect((await late('rotated-key')).status).toBe(400);
    expect((await late()).status).toBe(200);
    expect(issuer.jwksFetches).toBe(2);
  });

  it('ignores an entry fetched "after" the clock, as when the clock was set back, and fetches', async () => {
    const issuer = await freshIssuer();
    const clock = new ManualClock();
    await (
      await isolate(issuer, clock)
    )();
    clock.advance(-600);
    expect((await (await isolate(issuer, clock))()).status).toBe(200);
    expect(issuer.jwksFetches).toBe(2);
  });
});
