import { Hono } from 'hono';
import { SignJWT, generateKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/shared/clock.js';
import {
  requireWorkspaceToken,
  verifyWorkspaceToken,
  WorkspaceTokenError,
} from '../../src/workspace/index.js';
import { mintFor, startBroker, testConfig, type TestBroker } from '../helpers/broker.js';
import { listen } from '../helpers/listen.js';

let broker: TestBroker;
let server: { url: string; close: () => Promise<void> };
let issuer: string;

beforeAll(async () => {
  // The broker's issuer must be its own URL for the helper to find /jwks.
  server = await listen((req) => broker.app.fetch(req));
  issuer = server.url;
  broker = await startBroker({
    config: await testConfig({ issuer }),
    clock: new ManualClock(Date.now()),
  });
});
afterAll(async () => {
  await server.close();
  await broker.cleanup();
});

const opts = (scope: string) => ({ issuer, audience: 'https://hub.test', scope });

async function refusal(p: Promise<unknown>): Promise<WorkspaceTokenError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof WorkspaceTokenError) return e;
    throw e;
  }
  throw new Error('expected a refusal');
}

describe('verifyWorkspaceToken', () => {
  it('accepts a token whose scopes cover the permission', async () => {
    const { token } = await mintFor(broker, ['write:models/acme/*']);
    const claims = await verifyWorkspaceToken(token, opts('write:models/acme/bert'));
    expect(claims.sub).toBe('user:alice@example.com');
  });

  it('refuses a permission the scopes do not cover, with insufficient_scope', async () => {
    const { token } = await mintFor(broker, ['read:models/acme/*']);
    for (const scope of [
      'write:models/acme/bert',
      'read:models/acme/bert/x',
      'read:models/other/bert',
    ]) {
      const e = await refusal(verifyWorkspaceToken(token, opts(scope)));
      expect(e.code).toBe('insufficient_scope');
      expect(e.status).toBe(403);
    }
  });

  it('refuses tokens for another audience, another issuer, forged or expired', async () => {
    const { token } = await mintFor(broker, ['read:models/acme/*']);
    expect(
      (
        await refusal(
          verifyWorkspaceToken(token, { ...opts('read:models/acme/a'), audience: 'https://other' }),
        )
      ).message,
    ).toBe('token claim aud is not acceptable');
    const { privateKey } = await generateKeyPair('ES256');
    const forged = await new SignJWT({ scope: 'read:**' })
      .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: 'forged' })
      .setIssuer(issuer)
      .setAudience('https://hub.test')
      .setSubject('user:mallory')
      .setJti('x')
      .setExpirationTime('1h')
      .sign(privateKey);
    expect((await refusal(verifyWorkspaceToken(forged, opts('read:models/acme/a')))).code).toBe(
      'invalid_token',
    );
    // The helper checks expiry by the real clock: mint an hour in the past.
    broker.clock.advance(-3600);
    const old = await mintFor(broker, ['read:models/acme/*'], 60);
    broker.clock.advance(3600);
    expect(
      (await refusal(verifyWorkspaceToken(old.token, opts('read:models/acme/a')))).message,
    ).toBe('token has expired');
  });

  it('refuses a broker token that is not an access token (typ)', async () => {
    const { privateKey } = await generateKeyPair('ES256');
    const idToken = await new SignJWT({ scope: 'read:**' })
      .setProtectedHeader({ alg: 'ES256', typ: 'JWT' })
      .setIssuer(issuer)
      .setAudience('https://hub.test')
      .setSubject('x')
      .setExpirationTime('1h')
      .sign(privateKey);
    expect((await refusal(verifyWorkspaceToken(idToken, opts('read:models/a/b')))).code).toBe(
      'invalid_token',
    );
  });
});

describe('requireWorkspaceToken middleware', () => {
  const api = () => {
    const app = new Hono();
    app.use(
      '/api/models/:ns/:name',
      requireWorkspaceToken({
        issuer,
        audience: 'https://hub.test',
        scope: (c) => `write:models/${c.req.param('ns')}/${c.req.param('name')}`,
      }),
    );
    app.put('/api/models/:ns/:name', (c) =>
      c.json({ ok: true, sub: (c.get('workspaceToken' as never) as { sub: string }).sub }),
    );
    return app;
  };

  it('lets a covered request through and exposes the claims', async () => {
    const { token } = await mintFor(broker, ['write:models/acme/*']);
    const res = await api().request('/api/models/acme/bert', {
      method: 'PUT',
      headers: { Authorization: `Bearer ${token}` },
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: true, sub: 'user:alice@example.com' });
  });

  it('answers 401 without a token and 403 with too narrow a token', async () => {
    let res = await api().request('/api/models/acme/bert', { method: 'PUT' });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer realm="workspace"');
    const { token } = await mintFor(broker, ['write:models/other/*']);
    res = await api().request('/api/models/acme/bert', {
      method: 'PUT',
      headers: { Authorization: `Bearer ${token}` },
    });
    expect(res.status).toBe(403);
    expect(res.headers.get('www-authenticate')).toContain('error="insufficient_scope"');
  });
});
