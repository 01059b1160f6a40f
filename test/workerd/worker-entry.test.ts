import {
  createExecutionContext,
  createScheduledController,
  env,
  waitOnExecutionContext,
} from 'cloudflare:test';
import {
  createLocalJWKSet,
  decodeProtectedHeader,
  jwtVerify,
  type JSONWebKeySet,
  type JWK,
} from 'jose';
import { afterEach, describe, expect, it, vi } from 'vitest';
import worker from '../../src/worker.js';
import {
  BROKER,
  HUB_SECRET,
  brokerConfig,
  ciIssuer,
  exchangeForm,
  privateJwk,
  sha256Hex,
} from './ci-issuer.js';

type WorkerEnv = Parameters<typeof worker.fetch>[1];

// One CI provider for the file: the Cache API keeps its JWKS between tests, as it would between isolates.
const issuer = await ciIssuer();

afterEach(() => {
  vi.unstubAllGlobals();
});

/** The Worker's env as wrangler would hand it: the D1 binding, the config var, the secrets. */
async function workerEnv(overrides: Record<string, unknown> = {}): Promise<WorkerEnv> {
  return {
    DB: env.DB,
    TOKENBROKER_CONFIG: brokerConfig(),
    SIGNING_KEY: JSON.stringify(await privateJwk('ES256')),
    HUB_SECRET_SHA256: await sha256Hex(HUB_SECRET),
    ...overrides,
  };
}

async function call(e: WorkerEnv, path: string, init?: RequestInit): Promise<Response> {
  const ctx = createExecutionContext();
  const res = await worker.fetch(new Request(`${BROKER}${path}`, init), e, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

const jwksOf = async (e: WorkerEnv) => (await (await call(e, '/jwks')).json()) as JSONWebKeySet;

describe('the Worker', () => {
  it('serves the metadata and the JWKS, built from its env', async () => {
    const e = await workerEnv();
    const meta = await call(e, '/.well-known/oauth-authorization-server');
    expect(meta.status).toBe(200);
    expect(await meta.json()).toMatchObject({ issuer: BROKER, jwks_uri: `${BROKER}/jwks` });
    const { keys } = await jwksOf(e);
    expect(keys).toHaveLength(1);
    expect(keys[0]).not.toHaveProperty('d');
    expect((await call(e, '/readyz')).status).toBe(200);
  });

  it('publishes every key of a rotation array, signs with the first, and records the CF-Connecting-IP', async () => {
    const first = await privateJwk('ES256', 'key-2026-06');
    const second = await privateJwk('EdDSA', 'key-2026-01');
    const e = await workerEnv({ SIGNING_KEY: JSON.stringify([first, second]) });
    const { keys } = await jwksOf(e);
    expect(keys.map((k) => k.kid)).toEqual(['key-2026-06', 'key-2026-01']);

    vi.stubGlobal('fetch', issuer.fetch);
    const res = await call(e, '/token', {
      ...exchangeForm(await issuer.mint(Math.floor(Date.now() / 1000))),
      headers: {
        'Content-Type': 'application/x-www-form-urlencoded',
        'CF-Connecting-IP': '203.0.113.9',
      },
    });
    expect(res.status, await res.clone().text()).toBe(200);
    const { access_token: token } = (await res.json()) as { access_token: string };
    expect(decodeProtectedHeader(token)).toMatchObject({ kid: 'key-2026-06', alg: 'ES256' });
    await jwtVerify(token, createLocalJWKSet({ keys }), { issuer: BROKER });

    const { payload } = await jwtVerify(token, createLocalJWKSet({ keys }));
    const row = await env.DB.prepare(
      "SELECT client_address FROM audit_events WHERE event = 'token.issued' AND jti = ?",
    )
      .bind(payload.jti)
      .first<{ client_address: string }>();
    expect(row?.client_address).toBe('203.0.113.9');
  });

  it('fills ${NAME} in the config from the vars and secrets: the resource server authenticates with it', async () => {
    const e = await workerEnv();
    vi.stubGlobal('fetch', issuer.fetch);
    const minted = await call(
      e,
      '/token',
      exchangeForm(await issuer.mint(Math.floor(Date.now() / 1000))),
    );
    expect(minted.status).toBe(200);
    const { access_token: token } = (await minted.json()) as { access_token: string };
    const introspect = (secret: string) =>
      call(e, '/introspect', {
        method: 'POST',
        headers: {
          'Content-Type': 'application/x-www-form-urlencoded',
          Authorization: `Basic ${btoa(`hub:${secret}`)}`,
        },
        body: new URLSearchParams({ token }).toString(),
      });
    const ok = await introspect(HUB_SECRET);
    expect(await ok.json()).toMatchObject({ active: true, scope: 'write:models/acme/x' });
    expect((await introspect('another-secret')).status).toBe(401);
  });

  it('answers /metrics 404: Workers analytics serve that purpose', async () => {
    const res = await call(await workerEnv(), '/metrics');
    expect(res.status).toBe(404);
  });
});

describe('a Worker that is not configured', () => {
  it('answers 503 saying what to fix, for each missing or broken binding, var or secret', async () => {
    const ec = await privateJwk('ES256');
    const publicOnly = { ...ec, d: undefined };
    const cases: [name: string, overrides: Record<string, unknown>, expected: RegExp][] = [
      ['no config', { TOKENBROKER_CONFIG: undefined }, /TOKENBROKER_CONFIG is not set: .*\[vars\]/],
      ['a blank config', { TOKENBROKER_CONFIG: '\n' }, /TOKENBROKER_CONFIG is not set/],
      [
        'bad YAML',
        { TOKENBROKER_CONFIG: 'issuer: [unclosed' },
        /TOKENBROKER_CONFIG: not valid YAML or JSON: .* at line 1/,
      ],
      [
        'a config error at a path',
        { TOKENBROKER_CONFIG: brokerConfig({ tokens: { audience: 42 } }) },
        /TOKENBROKER_CONFIG: tokens\.audience: expected a string, got the number 42: quote it/,
      ],
      [
        'a ${NAME} that no var or secret sets',
        { HUB_SECRET_SHA256: undefined },
        /resource_servers\[0\]\.client_secret_sha256: environment variable HUB_SECRET_SHA256 is not set/,
      ],
      [
        'no SIGNING_KEY',
        { SIGNING_KEY: undefined },
        /SIGNING_KEY is not set: .*`wrangler secret put SIGNING_KEY`/,
      ],
      [
        'a malformed key',
        { SIGNING_KEY: `{"kty":"EC","d":"${ec.d}",` },
        /SIGNING_KEY is not JSON: .*wrangler secret put SIGNING_KEY/,
      ],
      [
        'a public-only key',
        { SIGNING_KEY: JSON.stringify(publicOnly) },
        /SIGNING_KEY is a public key \(it has no "d"\)/,
      ],
      [
        'a key as a [vars] table',
        { SIGNING_KEY: ec },
        /SIGNING_KEY is not text: .*wrangler secret put SIGNING_KEY/,
      ],
      [
        'no D1 binding',
        { DB: undefined },
        /the D1 binding DB is missing: add a \[\[d1_databases\]\]/,
      ],
    ];
    for (const [name, overrides, expected] of cases) {
      const res = await call(await workerEnv(overrides), '/.well-known/oauth-authorization-server');
      expect(res.status, name).toBe(503);
      expect(res.headers.get('Content-Type'), name).toContain('application/json');
      const body = (await res.json()) as { error: string; error_description: string };
      expect(body.error, name).toBe('temporarily_unavailable');
      expect(body.error_description, name).toMatch(expected);
      expect(body.error_description, name).toContain('Running on Cloudflare Workers');
      expect(body.error_description, name).not.toContain(ec.d);
      expect(body.error_description, name).not.toMatch(/\n\s+at /);
    }
  });

  it('names every problem at once: the config and the key', async () => {
    const res = await call(
      await workerEnv({ TOKENBROKER_CONFIG: undefined, SIGNING_KEY: undefined }),
      '/jwks',
    );
    const { error_description: text } = (await res.json()) as { error_description: string };
    expect(text).toMatch(/TOKENBROKER_CONFIG is not set.*; SIGNING_KEY is not set/);
  });

  it('shows a refused value that came from a secret as its ${NAME}, never the value', async () => {
    const secret = 'hunter2-but-longer-than-that';
    const e = await workerEnv({
      TOKENBROKER_CONFIG: brokerConfig({
        tokens: { audience: '${AUDIENCE}', algorithm: '${ALG}' },
      }),
      AUDIENCE: 'https://hub.test',
      ALG: secret,
    });
    const res = await call(e, '/jwks');
    const { error_description: text } = (await res.json()) as { error_description: string };
    expect(text).toContain('tokens.algorithm');
    expect(text).toContain('${ALG}');
    expect(text).not.toContain(secret);
  });

  it('logs the problem, and builds again on a later request once the secret is fixed', async () => {
    const logs = vi.spyOn(console, 'log').mockImplementation(() => {});
    const e = await workerEnv({ SIGNING_KEY: undefined });
    expect((await call(e, '/jwks')).status).toBe(503);
    expect(logs.mock.calls.map((c) => String(c[0])).join('\n')).toMatch(
      /"level":"error".*the broker cannot start.*SIGNING_KEY is not set/,
    );
    logs.mockRestore();
    e.SIGNING_KEY = JSON.stringify(await privateJwk('ES256', 'fixed'));
    const res = await call(e, '/jwks');
    expect(res.status).toBe(200);
    expect(((await res.json()) as JSONWebKeySet).keys.map((k: JWK) => k.kid)).toEqual(['fixed']);
  });
});

describe('the Cron Trigger', () => {
  it('prunes expired tokens, replay guards and closed rate-limit windows, and keeps live ones', async () => {
    const now = Math.floor(Date.now() / 1000);
    const token = (jti: string, expiresAt: number) =>
      env.DB.prepare(
        `INSERT INTO issued_tokens (jti, subject, scopes, audience, client_id, source, kid, issued_at, expires_at, token_sha256)
         VALUES (?, 's', 'read:x', 'a', 'c', 'ci', 'k', ?, ?, 'h')`,
      ).bind(jti, expiresAt - 60, expiresAt);
    await env.DB.batch([
      token('expired', now - 10),
      token('live', now + 600),
      env.DB.prepare('INSERT INTO replay_guard (key, expires_at) VALUES (?, ?), (?, ?)').bind(
        'old-guard',
        now - 10,
        'new-guard',
        now + 600,
      ),
      env.DB.prepare(
        'INSERT INTO rate_limit_windows (kind, key, started_at, ends_at, count) VALUES (?, ?, ?, ?, 1), (?, ?, ?, ?, 1)',
      ).bind(
        'client',
        'closed',
        (now - 120) * 1000,
        (now - 60) * 1000,
        'client',
        'open',
        now * 1000,
        (now + 60) * 1000,
      ),
    ]);
    const column = async (sql: string) =>
      (await env.DB.prepare(sql).all<{ k: string }>()).results.map((r) => r.k).sort();

    const ctx = createExecutionContext();
    worker.scheduled(createScheduledController(), await workerEnv(), ctx);
    await waitOnExecutionContext(ctx);

    expect(
      await column("SELECT jti AS k FROM issued_tokens WHERE jti IN ('expired', 'live')"),
    ).toEqual(['live']);
    expect(await column("SELECT key AS k FROM replay_guard WHERE key LIKE '%-guard'")).toEqual([
      'new-guard',
    ]);
    expect(
      await column("SELECT key AS k FROM rate_limit_windows WHERE key IN ('closed', 'open')"),
    ).toEqual(['open']);
  });
});
