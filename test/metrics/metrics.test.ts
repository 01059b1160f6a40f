import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { useBroker } from '../contract/broker.js';
import { form } from '../helpers/broker.js';
import {
  METRICS_TOKEN,
  parseExposition,
  protectedNodeTarget,
  valueOf,
  type Sample,
} from './exposition.js';

// GET /metrics of `tokenbroker serve`, read as Prometheus reads it, after
// traffic sent over a real socket: the counts and labels an operator's
// dashboards and alerts are built on.

describe('metrics of a listening Node broker', () => {
  const broker = useBroker(protectedNodeTarget);

  async function scrape(): Promise<Sample[]> {
    const res = await broker().send('/metrics', {
      headers: { Authorization: `Bearer ${METRICS_TOKEN}` },
    });
    expect(res.status, await res.clone().text()).toBe(200);
    return parseExposition(await res.text());
  }

  /** How much each of `series` grew while `traffic` ran. */
  async function growth(
    series: [name: string, labels?: Record<string, string>][],
    traffic: () => Promise<void>,
  ): Promise<number[]> {
    const before = await scrape();
    await traffic();
    const after = await scrape();
    return series.map(
      ([name, labels]) => valueOf(after, name, labels) - valueOf(before, name, labels),
    );
  }

  it('counts two CI exchanges, a replay refused, a narrowing, a revocation and a SAML login, by their labels', async () => {
    const b = broker();
    const grew = await growth(
      [
        ['tokenbroker_exchanges_total', { grant: 'ci', provider: 'github', outcome: 'issued' }],
        ['tokenbroker_exchanges_total', { grant: 'ci', provider: 'github', outcome: 'denied' }],
        ['tokenbroker_denials_total', { grant: 'ci', reason: 'token_replayed' }],
        ['tokenbroker_exchanges_total', { grant: 'exchange', provider: 'none', outcome: 'issued' }],
        ['tokenbroker_tokens_issued_total', { source: 'ci' }],
        ['tokenbroker_tokens_issued_total', { source: 'exchange' }],
        ['tokenbroker_tokens_revoked_total', { by: 'holder' }],
        ['tokenbroker_saml_logins_total', { outcome: 'success' }],
        ['tokenbroker_live_sessions'],
      ],
      async () => {
        const ciToken = await b.github.github();
        expect((await b.exchange(ciToken)).status).toBe(200);
        const replay = await b.exchange(ciToken);
        expect([replay.status, (await replay.json()).error]).toEqual([400, 'invalid_grant']);
        const parent = await b.ciToken();
        const narrowed = await b.narrow(parent, { scope: 'read:models/acme/bert' });
        expect(narrowed.status).toBe(200);
        // Revoking the parent revokes the token narrowed from it: two tokens.
        expect((await b.revoke(parent)).status).toBe(200);
        await b.login();
      },
    );
    expect(grew).toEqual([2, 1, 1, 1, 2, 1, 2, 1, 1]);
  });

  it("counts each CI provider's key fetches: the first exchange fetches, the next ones use the cache", async () => {
    const b = broker();
    const grew = await growth(
      [
        ['tokenbroker_jwks_fetches_total', { provider: 'gitlab', outcome: 'success' }],
        ['tokenbroker_jwks_fetches_total', { provider: 'gitlab', outcome: 'failure' }],
      ],
      async () => {
        for (let i = 0; i < 2; i++) {
          const res = await b.exchange(await b.gitlab.gitlab());
          expect(res.status, await res.clone().text()).toBe(200);
        }
      },
    );
    expect(grew).toEqual([1, 0]);
  });

  it('times requests by route pattern: a jti or a path the caller picks creates no series', async () => {
    const b = broker();
    const jti = randomUUID();
    const path = `/no-such-${randomUUID()}`;
    const cookie = await b.login();
    // No CSRF field: refused, but answered by the /tokens/:jti/revoke route.
    expect((await b.submit(`/tokens/${jti}/revoke`, cookie, {})).status).toBe(403);
    expect((await b.send(path)).status).toBe(404);
    const res = await b.send('/metrics', { headers: { Authorization: `Bearer ${METRICS_TOKEN}` } });
    const text = await res.text();
    expect(text).not.toContain(jti);
    expect(text).not.toContain(path);
    const samples = parseExposition(text);
    const count = (labels: Record<string, string>) =>
      valueOf(samples, 'tokenbroker_http_request_duration_seconds_count', labels);
    expect(count({ method: 'POST', route: '/tokens/:jti/revoke', status: '403' })).toBe(1);
    expect(count({ method: 'GET', route: 'unmatched', status: '404' })).toBeGreaterThanOrEqual(1);
    expect(count({ method: 'POST', route: '/saml/acs', status: '303' })).toBeGreaterThanOrEqual(1);
    const routes = new Set(
      samples
        .filter((s) => s.name === 'tokenbroker_http_request_duration_seconds_count')
        .map((s) => s.labels.route),
    );
    for (const route of routes) expect(route).toMatch(/^(\/[a-z_.:/-]*|unmatched)$/);
  });

  it('names every series tokenbroker_, process metrics included, in the Prometheus text format', async () => {
    const res = await broker().send('/metrics', {
      headers: { Authorization: `Bearer ${METRICS_TOKEN}` },
    });
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const samples = parseExposition(await res.text());
    expect(samples.length).toBeGreaterThan(0);
    for (const s of samples) expect(s.name).toMatch(/^tokenbroker_/);
    expect(valueOf(samples, 'tokenbroker_process_resident_memory_bytes')).toBeGreaterThan(0);
  });

  const WHAT_TO_SEND =
    'send Authorization: Bearer <token>, the token whose SHA-256 is metrics.token_sha256';
  it.each([
    [
      'no Authorization header',
      undefined,
      '/metrics requires a bearer token',
      'Bearer realm="tokenbroker metrics"',
    ],
    [
      'a Basic header',
      'Basic bWV0cmljczp4',
      '/metrics requires a bearer token',
      'Bearer realm="tokenbroker metrics"',
    ],
    [
      'a wrong token',
      'Bearer not-the-token',
      'wrong token for /metrics',
      'Bearer realm="tokenbroker metrics", error="invalid_token"',
    ],
    [
      'the token with a character more',
      `Bearer ${METRICS_TOKEN}x`,
      'wrong token for /metrics',
      'Bearer realm="tokenbroker metrics", error="invalid_token"',
    ],
  ])(
    'refuses a scrape with %s: 401, a challenge, and what to send',
    async (_, authorization, says, challenge) => {
      const res = await broker().send('/metrics', {
        headers: authorization ? { Authorization: authorization } : {},
      });
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe(challenge);
      const body = await res.json();
      expect(body.error).toBe('invalid_token');
      expect(body.error_description).toContain(says);
      expect(body.error_description).toContain(WHAT_TO_SEND);
      expect(JSON.stringify(body)).not.toContain('tokenbroker_');
    },
  );

  it('serves the text to the right token, whatever the case of "Bearer"', async () => {
    const res = await broker().send('/metrics', {
      headers: { Authorization: `bearer ${METRICS_TOKEN}` },
    });
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('# TYPE tokenbroker_exchanges_total counter');
  });
});

describe('metrics of a listening Node broker whose CI provider is down', () => {
  const broker = useBroker(protectedNodeTarget);

  it('counts the failed key fetch by provider, and the exchange it failed as an error, not a denial', async () => {
    const b = broker();
    b.gitlab.jwksFailure = 500;
    const res = await b.exchange(await b.gitlab.gitlab());
    expect(res.status).toBe(503);
    const res2 = await b.send('/metrics', {
      headers: { Authorization: `Bearer ${METRICS_TOKEN}` },
    });
    const samples = parseExposition(await res2.text());
    expect([
      valueOf(samples, 'tokenbroker_jwks_fetches_total', {
        provider: 'gitlab',
        outcome: 'failure',
      }),
      valueOf(samples, 'tokenbroker_exchanges_total', {
        grant: 'ci',
        provider: 'unknown',
        outcome: 'error',
      }),
      samples.filter((s) => s.name === 'tokenbroker_denials_total').length,
    ]).toEqual([1, 1, 0]);
  });

  it('counts a refused SAML login by its refusal code', async () => {
    const b = broker();
    const res = await b.send('/saml/acs', form({ SAMLResponse: 'PG5vdC1zYW1sLz4=' }));
    expect(res.status).toBe(400);
    const scraped = await b.send('/metrics', {
      headers: { Authorization: `Bearer ${METRICS_TOKEN}` },
    });
    const samples = parseExposition(await scraped.text());
    expect(
      samples
        .filter((s) => s.name === 'tokenbroker_saml_logins_total')
        .map((s) => [s.labels, s.value]),
    ).toEqual([[{ outcome: 'saml_invalid' }, 1]]);
  });
});
