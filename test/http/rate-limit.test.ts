import { afterEach, describe, expect, it } from 'vitest';
import { EXCHANGE, form, mintFor, startBroker, testConfig } from '../helpers/broker.js';
import { startCi, type CiSetup } from '../helpers/ci.js';

let ci: CiSetup | undefined;
afterEach(async () => {
  await ci?.close();
  ci = undefined;
});

async function expect429(res: Response, description: RegExp) {
  expect(res.status).toBe(429);
  expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
  expect(Number(res.headers.get('retry-after'))).toBeLessThanOrEqual(60);
  const body = await res.json();
  expect(body.error).toBe('temporarily_unavailable');
  expect(body.error_description).toMatch(description);
}

describe('rate limiting on /token', () => {
  it('limits requests per client address with 429 and Retry-After', async () => {
    ci = await startCi({ extra: { rate_limit: { per_client: '5/1m', per_subject: '100/1m' } } });
    for (let i = 0; i < 5; i++)
      expect((await ci.exchange(await ci.github.github())).status).toBe(200);
    await expect429(
      await ci.exchange(await ci.github.github()),
      /^too many requests from this client address \(limit 5 per 1m\): retry after \d+s$/,
    );
  });

  it('limits exchanges per CI subject', async () => {
    ci = await startCi({ extra: { rate_limit: { per_client: '100/1m', per_subject: '3/1m' } } });
    for (let i = 0; i < 3; i++)
      expect((await ci.exchange(await ci.github.github())).status).toBe(200);
    await expect429(
      await ci.exchange(await ci.github.github()),
      /^too many requests from subject ci:github:repo:acme\/models:environment:production \(limit 3 per 1m\)/,
    );
    // Another subject is not affected.
    expect(
      (await ci.exchange(await ci.github.github({ sub: 'repo:acme/models:ref:refs/heads/main' })))
        .status,
    ).toBe(200);
  });

  it('limits narrowing per subject too', async () => {
    const broker = await startBroker({
      config: await testConfig({ rate_limit: { per_client: '100/1m', per_subject: '2/1m' } }),
    });
    try {
      const parent = await mintFor(broker, ['read:models/acme/*']);
      const narrow = () =>
        broker.app.request(
          '/token',
          form({
            grant_type: EXCHANGE.grant_type,
            subject_token: parent.token,
            subject_token_type: EXCHANGE.access,
          }),
        );
      for (let i = 0; i < 2; i++) expect((await narrow()).status).toBe(200);
      await expect429(
        await narrow(),
        /^too many requests from subject user:alice@example\.com \(limit 2 per 1m\)/,
      );
    } finally {
      await broker.cleanup();
    }
  });

  it('applies no limit when rate_limit is false', async () => {
    ci = await startCi();
    for (let i = 0; i < 80; i++)
      expect((await ci.exchange(await ci.github.github())).status).toBe(200);
  });
});
