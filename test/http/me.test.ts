import { request } from 'node:http';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/shared/log.js';
import { startServer, type RunningServer } from '../../src/node/server.js';
import { mintFor, startBroker, tempDir, testConfig, type TestBroker } from '../helpers/broker.js';
import { mintAsServer } from '../helpers/server-db.js';

// GET /me (SPEC section 4): the holder of a broker token asks whether it is
// still active, with the token as an RFC 6750 bearer.

let broker: TestBroker | undefined;
let other: TestBroker | undefined;
afterEach(async () => {
  await broker?.cleanup();
  await other?.cleanup();
  broker = other = undefined;
});

const me = (b: TestBroker, authorization?: string) =>
  b.app.request('/me', { headers: authorization === undefined ? {} : { authorization } });

/**
 * RFC 6750 section 3: `Bearer` then auth-params, each quoted string made of
 * %x20-21 / %x23-5B / %x5D-7E (no quote, no backslash, printable ASCII).
 */
const CHALLENGE = /^Bearer realm="tokenbroker"(, [a-z_]+="[\x20\x21\x23-\x5b\x5d-\x7e]*")*$/;

describe('GET /me', () => {
  it('answers a live token with its subject, scope, expiry and source, never cached', async () => {
    broker = await startBroker();
    const minted = await mintFor(broker, ['read:models/acme/*', 'write:models/acme/bert'], 600);
    const res = await me(broker, `Bearer ${minted.token}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(await res.json()).toEqual({
      active: true,
      sub: 'user:alice@example.com',
      scope: 'read:models/acme/* write:models/acme/bert',
      exp: minted.expiresAt,
      source: 'web',
    });
  });

  it('reads the scheme case-insensitively, as RFC 7235 says', async () => {
    broker = await startBroker();
    const minted = await mintFor(broker, ['read:models/acme/*']);
    expect((await me(broker, `bearer ${minted.token}`)).status).toBe(200);
    expect((await me(broker, `BEARER ${minted.token}`)).status).toBe(200);
  });

  type Refusal = {
    name: string;
    /** The Authorization header, from a live token of the broker and one of another broker. */
    header: (live: string, foreign: string) => Promise<string | undefined> | string | undefined;
    description: RegExp;
    /** RFC 6750 section 3.1: no error code in the challenge when no credentials came. */
    challengeError: string | undefined;
  };
  const refusals: Refusal[] = [
    {
      name: 'no Authorization header',
      header: () => undefined,
      description: /^no token: send the broker token as Authorization: Bearer <token>/,
      challengeError: undefined,
    },
    {
      name: 'another scheme (Basic)',
      header: () => 'Basic aHViOnNlY3JldA==',
      description: /^no token:/,
      challengeError: undefined,
    },
    {
      name: 'a token that is not a JWT',
      header: () => 'Bearer not-a-token',
      description: /^token is not a valid signed JWT: /,
      challengeError: 'invalid_token',
    },
    {
      name: 'a token altered after signing',
      header: (live) => `Bearer ${live.slice(0, -4)}AAAA`,
      description: /^token signature does not verify|^token is not a valid signed JWT/,
      challengeError: 'invalid_token',
    },
    {
      name: "another broker's token",
      header: (_live, foreign) => `Bearer ${foreign}`,
      description: /^token was not signed by a key of this broker: /,
      challengeError: 'invalid_token',
    },
  ];

  it.each(refusals)(
    'refuses $name with 401 and a Bearer challenge',
    async ({ header, description, challengeError }) => {
      broker = await startBroker();
      other = await startBroker();
      const live = (await mintFor(broker, ['read:models/acme/*'])).token;
      const foreign = (await mintFor(other, ['read:models/acme/*'])).token;
      const res = await me(broker, await header(live, foreign));
      expect(res.status).toBe(401);
      expect(res.headers.get('cache-control')).toBe('no-store');
      const body = (await res.json()) as Record<string, string>;
      expect(body.error).toBe('invalid_token');
      expect(body.error_description).toMatch(description);
      const wwwAuthenticate = res.headers.get('www-authenticate')!;
      expect(wwwAuthenticate).toMatch(CHALLENGE);
      if (challengeError) {
        expect(wwwAuthenticate).toContain(`error="${challengeError}"`);
        expect(wwwAuthenticate).toContain(`error_description="${body.error_description}"`);
      } else {
        expect(wwwAuthenticate).toBe('Bearer realm="tokenbroker"');
      }
    },
  );

  it('refuses a revoked token with 401 invalid_token', async () => {
    broker = await startBroker();
    const minted = await mintFor(broker, ['read:models/acme/*']);
    await broker.app.request('/revoke', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `token=${minted.token}`,
    });
    const res = await me(broker, `Bearer ${minted.token}`);
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({
      error: 'invalid_token',
      error_description: 'token has been revoked: get a new one',
    });
    expect(res.headers.get('www-authenticate')).toBe(
      'Bearer realm="tokenbroker", error="invalid_token", error_description="token has been revoked: get a new one"',
    );
  });

  it('refuses an expired token with 401, saying how long ago it expired', async () => {
    broker = await startBroker();
    const minted = await mintFor(broker, ['read:models/acme/*'], 60);
    broker.clock.advance(90);
    const res = await me(broker, `Bearer ${minted.token}`);
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error_description: string }).error_description).toBe(
      'token expired 30s ago: get a new one',
    );
  });

  it('keeps a challenge well-formed when the reason quotes a claim', async () => {
    // A token of this broker's keys for another audience: jose's reason quotes "aud".
    broker = await startBroker();
    const config = await testConfig({
      tokens: { audience: 'https://elsewhere.test', default_ttl: '15m', max_ttl: '1h' },
    });
    other = await startBroker({ config, dir: broker.dir });
    const token = (await mintFor(other, ['read:models/acme/*'])).token;
    const res = await me(broker, `Bearer ${token}`);
    expect(res.status).toBe(401);
    const description = ((await res.json()) as { error_description: string }).error_description;
    expect(description).toContain('"aud"');
    const wwwAuthenticate = res.headers.get('www-authenticate')!;
    expect(wwwAuthenticate).toMatch(CHALLENGE);
    expect(wwwAuthenticate).toContain(`error_description="${description.replaceAll('"', "'")}"`);
  });

  it.each([
    ['Bearer', 'no token after the scheme'],
    ['Bearer a b', 'two tokens'],
    ['Bearer a,b', 'a character outside b64token'],
  ])('refuses "%s" (%s) as a malformed request, 400 invalid_request', async (header) => {
    broker = await startBroker();
    const res = await me(broker, header);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toBe('invalid_request');
    expect(res.headers.get('www-authenticate')).toMatch(CHALLENGE);
    expect(res.headers.get('www-authenticate')).toContain('error="invalid_request"');
  });
});

describe('GET /me rate limit', () => {
  let server: RunningServer | undefined;
  let cleanup = () => {};
  afterEach(async () => {
    await server?.close();
    server = undefined;
    cleanup();
  });

  /** GET /me over a real socket from a chosen loopback address (127.0.0.x). */
  function meFrom(url: string, from: string, token: string): Promise<number> {
    return new Promise((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port: Number(new URL(url).port),
          localAddress: from,
          path: '/me',
          headers: { Authorization: `Bearer ${token}` },
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode!));
        },
      );
      req.on('error', reject);
      req.end();
    });
  }

  it('counts per client address, like /revoke, so one address cannot hold it', async () => {
    const t = tempDir();
    cleanup = t.cleanup;
    const config = await testConfig({
      database: join(t.dir, 'tb.db'),
      rate_limit: { per_client: '3/1m', per_subject: '100/1m' },
    });
    const { token } = await mintAsServer(config, 'user:alice@example.com', { cwd: t.dir });
    server = await startServer(config, { host: '127.0.0.1', port: 0, logger: silentLogger });
    for (let i = 0; i < 3; i++) expect(await meFrom(server.url, '127.0.0.1', token)).toBe(200);
    expect(await meFrom(server.url, '127.0.0.1', token)).toBe(429);
    expect(await meFrom(server.url, '127.0.0.2', token)).toBe(200);
  });
});
