import Database from 'better-sqlite3';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/shared/clock.js';
import { startBroker, testConfig, mintFor, type TestBroker } from '../helpers/broker.js';
import { listen } from '../helpers/listen.js';

let broker: TestBroker;
let server: { url: string; close: () => Promise<void> } | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
  await broker?.cleanup();
});

describe('minted tokens', () => {
  it.each(['ES256', 'EdDSA', 'RS256'] as const)(
    'verify with jose against /jwks fetched over HTTP (%s)',
    async (algorithm) => {
      broker = await startBroker({
        config: await testConfig({ tokens: { audience: 'https://hub.test', algorithm } }),
        clock: new ManualClock(Date.now()),
      });
      server = await listen(broker.app.fetch);
      const minted = await mintFor(broker, ['read:models/acme/*'], 600);
      const jwks = createRemoteJWKSet(new URL(`${server.url}/jwks`));
      const { payload, protectedHeader } = await jwtVerify(minted.token, jwks, {
        issuer: 'https://broker.test',
        audience: 'https://hub.test',
        typ: 'at+jwt',
      });
      expect(protectedHeader.alg).toBe(algorithm);
      expect(protectedHeader.typ).toBe('at+jwt');
      expect(protectedHeader.kid).toBeTruthy();
      expect(payload.sub).toBe('user:alice@example.com');
      expect(payload.scope).toBe('read:models/acme/*');
      expect(payload.client_id).toBe('test');
      expect(payload.jti).toBe(minted.jti);
      expect(payload.exp! - payload.iat!).toBe(600);
      expect(payload.nbf).toBe(payload.iat);
    },
  );

  it('serves RFC 8414 metadata whose endpoints are under the issuer', async () => {
    broker = await startBroker();
    const res = await broker.app.request('/.well-known/oauth-authorization-server');
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      issuer: 'https://broker.test',
      token_endpoint: 'https://broker.test/token',
      jwks_uri: 'https://broker.test/jwks',
      introspection_endpoint: 'https://broker.test/introspect',
      revocation_endpoint: 'https://broker.test/revoke',
      grant_types_supported: ['urn:ietf:params:oauth:grant-type:token-exchange'],
    });
  });

  it('keeps its signing key across a restart', async () => {
    broker = await startBroker();
    const before = await mintFor(broker, ['read:models/acme/x']);
    broker = await broker.reopen();
    const after = await mintFor(broker, ['read:models/acme/x']);
    expect(decodeProtectedHeader(after.token).kid).toBe(decodeProtectedHeader(before.token).kid);
    const res = await broker.app.request('/jwks');
    expect((await res.json()).keys).toHaveLength(1);
  });

  it('never puts a private key member in /jwks', async () => {
    broker = await startBroker({
      config: await testConfig({ tokens: { audience: 'https://hub.test', algorithm: 'RS256' } }),
    });
    const { keys } = (await (await broker.app.request('/jwks')).json()) as {
      keys: Record<string, unknown>[];
    };
    for (const k of keys)
      for (const member of ['d', 'p', 'q', 'dp', 'dq', 'qi']) expect(k[member]).toBeUndefined();
  });

  it('answers health and readiness probes', async () => {
    broker = await startBroker();
    expect((await broker.app.request('/healthz')).status).toBe(200);
    expect(await (await broker.app.request('/readyz')).json()).toEqual({ status: 'ready' });
    await broker.store.close();
    const res = await broker.app.request('/readyz');
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({
      status: 'unavailable',
      problems: ['database does not answer'],
    });
  });

  it('is not ready while the database cannot be written, and ready again once it can', async () => {
    broker = await startBroker();
    const other = new Database(broker.dbPath);
    try {
      other.exec('BEGIN IMMEDIATE'); // another process holds the write lock
      const res = await broker.app.request('/readyz'); // the writer waits out busy_timeout (5 s)
      expect(res.status).toBe(503);
      expect((await res.json()).problems).toEqual(['database does not answer']);
      other.exec('ROLLBACK');
      expect((await broker.app.request('/readyz')).status).toBe(200);
    } finally {
      other.close();
    }
  }, 15_000);
});
