import { afterEach, describe, expect, it } from 'vitest';
import { startCi, type CiSetup } from '../helpers/ci.js';

let ci: CiSetup;
afterEach(() => ci.close());

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

  it('applies no limit when rate_limit is false', async () => {
    ci = await startCi();
    for (let i = 0; i < 80; i++)
      expect((await ci.exchange(await ci.github.github())).status).toBe(200);
  });
});
