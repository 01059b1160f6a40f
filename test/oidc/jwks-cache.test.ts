import { Hono } from 'hono';
import { generateKeyPair } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { startCi, type CiSetup } from '../helpers/ci.js';
import { runtimeFetch, serveFetch } from '../helpers/runtime.js';

let ci: CiSetup;
afterEach(() => ci.close());

const now = () => Math.floor(ci.broker.clock.now() / 1000);
const fresh = (claims: Record<string, unknown> = {}) => ci.github.github(claims, { now: now() });

describe('the CI provider JWKS cache', () => {
  it('fetches the keys once, then makes zero fetches per exchange', async () => {
    ci = await startCi();
    expect((await ci.exchange(await fresh())).status).toBe(200);
    expect(ci.github.jwksFetches).toBe(1);
    expect(ci.github.discoveryFetches).toBe(1);
    for (let i = 0; i < 25; i++) expect((await ci.exchange(await fresh())).status).toBe(200);
    expect(ci.github.jwksFetches).toBe(1);
    expect(ci.github.discoveryFetches).toBe(1);
  });

  it('keeps the keys as long as the response’s max-age says, within bounds', async () => {
    ci = await startCi();
    ci.github.jwksCacheControl = 'public, max-age=600';
    await ci.exchange(await fresh());
    ci.broker.clock.advance(590);
    await ci.exchange(await fresh());
    expect(ci.github.jwksFetches).toBe(1);
    ci.broker.clock.advance(20);
    await ci.exchange(await fresh());
    expect(ci.github.jwksFetches).toBe(2);
  });

  it('keeps keys at least 5 minutes even when max-age is tiny', async () => {
    ci = await startCi();
    ci.github.jwksCacheControl = 'max-age=1';
    await ci.exchange(await fresh());
    ci.broker.clock.advance(290);
    await ci.exchange(await fresh());
    expect(ci.github.jwksFetches).toBe(1);
  });

  it('picks up a rotated issuer key with one fetch', async () => {
    ci = await startCi();
    await ci.exchange(await fresh());
    await ci.github.rotate('ES256');
    ci.broker.clock.advance(61);
    expect((await ci.exchange(await fresh())).status).toBe(200);
    expect(ci.github.jwksFetches).toBe(2);
  });

  it('fetches at most once a minute during a flood of unknown kids', async () => {
    ci = await startCi();
    await ci.exchange(await fresh());
    const { privateKey } = await generateKeyPair('RS256');
    for (let second = 0; second < 180; second += 3) {
      ci.broker.clock.advance(3);
      const token = await ci.github.github(
        {},
        { now: now(), key: { kid: `flood-${second}`, alg: 'RS256', privateKey } },
      );
      expect((await ci.exchange(token)).status).toBe(400);
    }
    // 3 minutes of flooding: at most one refetch per minute after the first fetch.
    expect(ci.github.jwksFetches).toBeLessThanOrEqual(1 + 3);
  });

  it('keeps the last good keys when a refresh fails', async () => {
    ci = await startCi();
    await ci.exchange(await fresh());
    ci.github.jwksFailure = 500;
    ci.broker.clock.advance(3601);
    expect((await ci.exchange(await fresh())).status).toBe(200);
    expect((await ci.exchange(await fresh())).status).toBe(200);
    expect(ci.github.jwksFetches).toBe(2); // one failed attempt, no retry storm
  });

  it('never caches an empty key set', async () => {
    ci = await startCi();
    ci.github.jwksBody = { keys: [] };
    const res = await ci.exchange(await fresh());
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('60');
    expect(await res.json()).toEqual({
      error: 'temporarily_unavailable',
      error_description: `the signing keys of CI provider github could not be fetched (${ci.github.url}/.well-known/jwks published no keys): try again shortly`,
    });
    ci.github.jwksBody = undefined;
    ci.broker.clock.advance(61);
    expect((await ci.exchange(await fresh())).status).toBe(200);
  });

  it('refuses a JWKS behind a redirect, and one over 100 KiB', async () => {
    const target = new Hono();
    target.get('/redirect', (c) => c.redirect('https://attacker.example/jwks'));
    target.get('/huge', (c) =>
      c.json({ keys: [{ kty: 'RSA', n: 'x'.repeat(120 * 1024), e: 'AQAB' }] }),
    );
    const server = await serveFetch(target.fetch);
    try {
      for (const path of ['/redirect', '/huge']) {
        ci = await startCi({ providers: { github: { jwks_uri: `${server.url}${path}` } } });
        const res = await ci.exchange(await fresh());
        expect(res.status).toBe(503);
        const [audit] = await ci.broker.store.queryAudit({});
        expect(audit).toBeUndefined(); // a 5xx is the operator's problem, logged, not a denial
        await ci.close();
      }
      ci = await startCi();
    } finally {
      await server.close();
    }
  });
});

describe('fetching issuer documents', () => {
  it('refuses redirects, oversized bodies and non-JSON with a reason', async () => {
    const { fetchJson } = await import('../../src/shared/fetch-json.js');
    const app = new Hono();
    app.get('/redirect', (c) => c.redirect('https://attacker.example/jwks'));
    app.get('/huge', (c) => c.body('x'.repeat(200 * 1024)));
    app.get('/html', (c) => c.html('<p>hi</p>'));
    app.get('/ok', (c) => c.json({ keys: [] }, 200, { 'Cache-Control': 'max-age=42' }));
    const server = await serveFetch(app.fetch);
    try {
      await expect(
        fetchJson(runtimeFetch ?? fetch, `${server.url}/redirect`, { maxBytes: 1000 }),
      ).rejects.toThrow(`${server.url}/redirect answered with a redirect (302), which is refused`);
      await expect(
        fetchJson(runtimeFetch ?? fetch, `${server.url}/huge`, { maxBytes: 100 * 1024 }),
      ).rejects.toThrow(/more than the 102400/);
      await expect(
        fetchJson(runtimeFetch ?? fetch, `${server.url}/html`, { maxBytes: 1000 }),
      ).rejects.toThrow('did not answer JSON');
      expect(
        await fetchJson(runtimeFetch ?? fetch, `${server.url}/ok`, { maxBytes: 1000 }),
      ).toEqual({
        body: { keys: [] },
        maxAge: 42,
      });
    } finally {
      await server.close();
    }
  });
});
