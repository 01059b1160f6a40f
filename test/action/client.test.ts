import { Hono } from 'hono';
import { requestIdToken } from '../../action/src/id-token.js';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { discover, exchange, revoke } from '../../src/client/broker.js';
import { ClientError } from '../../src/client/errors.js';
import type { HttpDeps } from '../../src/client/http.js';
import { backoffDelay, retry, TransientError } from '../../src/client/retry.js';
import { listen } from '../helpers/listen.js';

// The client against a scripted broker on loopback: each request to /token
// takes the next canned answer. Sleep is recorded, never waited for.

type Canned = { status: number; body?: unknown; headers?: Record<string, string> };
let script: Canned[] = [];
let server: { url: string; close: () => Promise<void> };
const seen: string[] = [];

beforeAll(async () => {
  const app = new Hono();
  app.get('/.well-known/oauth-authorization-server', (c) =>
    c.json({ token_endpoint: `${server.url}/token`, revocation_endpoint: `${server.url}/revoke` }),
  );
  app.get('/not-a-broker/.well-known/oauth-authorization-server', (c) => c.text('nope', 404));
  app.get('/leaky/.well-known/oauth-authorization-server', (c) =>
    c.json({ token_endpoint: 'http://broker.example.com/token' }),
  );
  app.post('/token', async (c) => {
    seen.push(new URLSearchParams(await c.req.text()).get('subject_token') ?? '');
    const next = script.shift() ?? { status: 500 };
    return c.json(next.body ?? {}, next.status as 200, next.headers);
  });
  app.post('/revoke', (c) => c.body(null, 200));
  app.post('/revoke-refused', (c) =>
    c.json(
      { error: 'unsupported_token_type', error_description: 'not a token of this broker' },
      400,
    ),
  );
  app.get('/huge/.well-known/oauth-authorization-server', (c) => c.text('x'.repeat(300 * 1024)));
  app.post('/moved', (c) => c.redirect('https://elsewhere.test/token', 307));
  server = await listen(app.fetch);
});
afterAll(() => server.close());

let sleeps: number[];
let deps: HttpDeps;
beforeEach(() => {
  script = [];
  seen.length = 0;
  sleeps = [];
  deps = {
    fetch: globalThis.fetch,
    userAgent: 'test',
    retry: {
      attempts: 4,
      baseDelayMs: 1000,
      maxDelayMs: 10_000,
      sleep: async (ms) => void sleeps.push(ms),
      random: () => 0.5,
    },
  };
});

const ok = { status: 200, body: { access_token: 'AT', expires_in: 900, scope: 'read:x/y' } };
let n = 0;
const request = (tokenEndpoint = `${server.url}/token`) => ({
  tokenEndpoint,
  subjectToken: async () => `oidc-${++n}`,
  scope: 'read:x/y',
  ttl: '600',
  now: () => Date.UTC(2026, 0, 1),
});

async function failure(p: Promise<unknown>): Promise<ClientError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(ClientError);
  return e as ClientError;
}

describe('retry', () => {
  it('backs off exponentially with full jitter, capped', () => {
    const o = { baseDelayMs: 1000, maxDelayMs: 5000, random: () => 0.999 };
    expect([1, 2, 3, 4, 5].map((a) => backoffDelay(a, undefined, o))).toEqual([
      999, 1998, 3996, 4995, 4995,
    ]);
    expect(backoffDelay(3, undefined, { ...o, random: () => 0 })).toBe(0);
  });

  it("follows the server's Retry-After, up to the cap", () => {
    const o = { baseDelayMs: 1000, maxDelayMs: 5000, random: () => 0.5 };
    expect(backoffDelay(1, 2, o)).toBe(2000);
    expect(backoffDelay(1, 3600, o)).toBe(5000);
  });

  it('gives up after the last attempt with the last transient error', async () => {
    let calls = 0;
    const e = await retry(async () => {
      throw new TransientError(`down ${++calls}`);
    }, deps.retry).catch((err: unknown) => err);
    expect((e as Error).message).toBe('down 4');
    expect(sleeps).toEqual([500, 1000, 2000]);
  });

  it('does not retry other errors', async () => {
    let calls = 0;
    await expect(
      retry(async () => {
        calls++;
        throw new Error('bad');
      }, deps.retry),
    ).rejects.toThrow('bad');
    expect(calls).toBe(1);
  });
});

describe('exchange', () => {
  it('retries 5xx with a fresh subject token each time, then returns the token', async () => {
    script = [{ status: 503 }, { status: 502, headers: { 'Retry-After': '3' } }, ok];
    const r = await exchange(request(), deps);
    expect(r).toEqual({
      accessToken: 'AT',
      expiresAt: new Date(Date.UTC(2026, 0, 1, 0, 15)),
      scope: 'read:x/y',
    });
    expect(new Set(seen).size).toBe(3);
    expect(sleeps).toEqual([500, 3000]);
  });

  it('never retries a 4xx, and carries the OAuth error', async () => {
    script = [
      {
        status: 400,
        body: {
          error: 'invalid_grant',
          error_description: 'no trust policy matched: provider github',
        },
      },
    ];
    const e = await failure(exchange(request(), deps));
    expect(e.code).toBe('refused');
    expect(e.message).toBe(
      'the broker refused the token exchange (HTTP 400 invalid_grant): no trust policy matched: provider github',
    );
    expect(e.details).toMatchObject({ status: 400, oauthError: 'invalid_grant' });
    expect(seen).toHaveLength(1);
    expect(sleeps).toEqual([]);
  });

  it('carries a 403 the same way', async () => {
    script = [{ status: 403, body: { error: 'access_denied', error_description: 'not for you' } }];
    const e = await failure(exchange(request(), deps));
    expect(e.message).toBe(
      'the broker refused the token exchange (HTTP 403 access_denied): not for you',
    );
    expect(seen).toHaveLength(1);
  });

  it('says when to run the job again on a 429, without retrying', async () => {
    script = [
      {
        status: 429,
        body: { error: 'temporarily_unavailable', error_description: 'too many requests' },
        headers: { 'Retry-After': '30' },
      },
    ];
    const e = await failure(exchange(request(), deps));
    expect(e.message).toContain('the broker is rate limiting, run the job again in 30s');
    expect(seen).toHaveLength(1);
  });

  it('reports a broker that stays down as unavailable, after the bounded tries', async () => {
    const e = await failure(exchange(request(), deps));
    expect(e.code).toBe('unavailable');
    expect(e.message).toBe(
      `POST ${server.url}/token answered HTTP 500 (tried 4 times): check that the broker is up`,
    );
    expect(sleeps).toHaveLength(3);
  });

  it('retries network errors', async () => {
    const closed = await listen(() => new Response(''));
    await closed.close();
    const e = await failure(exchange(request(`${closed.url}/token`), deps));
    expect(e.code).toBe('unavailable');
    expect(e.message).toMatch(/failed: ECONNREFUSED \(tried 4 times\)/);
  });

  it('refuses to follow a redirect with the CI token', async () => {
    const e = await failure(exchange(request(`${server.url}/moved`), deps));
    expect(e.code).toBe('protocol');
    expect(e.message).toContain('answered a redirect (HTTP 307 to https://elsewhere.test/token)');
  });
});

describe('discover and revoke', () => {
  it('finds the token and revocation endpoints', async () => {
    expect(await discover(server.url, deps)).toEqual({
      tokenEndpoint: `${server.url}/token`,
      revocationEndpoint: `${server.url}/revoke`,
    });
    await revoke(`${server.url}/revoke`, 'AT', deps);
  });

  it("reports a refused revocation with the broker's error, without retrying", async () => {
    const e = await failure(revoke(`${server.url}/revoke-refused`, 'AT', deps));
    expect(e.code).toBe('refused');
    expect(e.message).toBe(
      'the broker refused the revocation (HTTP 400 unsupported_token_type): not a token of this broker',
    );
    expect(sleeps).toEqual([]);
  });

  it('says to check broker-url when there is no metadata', async () => {
    const e = await failure(discover(`${server.url}/not-a-broker`, deps));
    expect(e.message).toBe(
      `GET ${server.url}/not-a-broker/.well-known/oauth-authorization-server answered HTTP 404: check that ${server.url}/not-a-broker is the broker's base URL`,
    );
  });

  it('will not send a token to a plain-http endpoint the metadata names', async () => {
    const e = await failure(discover(`${server.url}/leaky`, deps));
    expect(e.message).toContain(
      'token_endpoint "http://broker.example.com/token" uses plain http: use https',
    );
  });
});

describe('answers that are not the broker', () => {
  it('refuses a body over 256 KiB without retrying, saying to check the URL', async () => {
    const e = await discover(`${server.url}/huge`, deps).catch((err: unknown) => err);
    expect(e).toBeInstanceOf(ClientError);
    expect((e as ClientError).code).toBe('protocol');
    expect((e as ClientError).message).toMatch(
      /: it answered 307200 bytes, more than the 262144 allowed; check that the URL is the broker's, not a proxy's error page$/,
    );
    expect(sleeps).toEqual([]);
  });
});

describe('the Actions runtime id-token request', () => {
  it('says to run the job again when the runtime stays unreachable', async () => {
    const closed = await listen(() => new Response(''));
    await closed.close();
    const e = await failure(
      requestIdToken({ url: `${closed.url}/idtoken?api-version=2.0`, bearer: 'b' }, 'aud', deps),
    );
    expect(e.code).toBe('unavailable');
    expect(e.message).toMatch(
      /^the Actions runtime OIDC token request failed: ECONNREFUSED \(tried 4 times\): the runner could not reach the Actions service: run the job again/,
    );
    expect(sleeps).toHaveLength(3);
  });
});
