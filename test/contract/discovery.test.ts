import { decodeProtectedHeader, type JSONWebKeySet } from 'jose';
import { describe, expect, it } from 'vitest';
import { useBroker } from './broker.js';
import { TARGETS } from './targets.js';

// What a client learns about the broker before it has a token: the same on
// every target, but /metrics (SPEC section 7).

const ISSUER = 'https://broker.test';

describe.each(TARGETS)('discovery on $name', (target) => {
  const broker = useBroker(target);

  it('publishes RFC 8414 metadata naming every endpoint under the issuer', async () => {
    const res = await broker().send('/.well-known/oauth-authorization-server');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await res.json()).toEqual({
      issuer: ISSUER,
      token_endpoint: `${ISSUER}/token`,
      jwks_uri: `${ISSUER}/jwks`,
      introspection_endpoint: `${ISSUER}/introspect`,
      revocation_endpoint: `${ISSUER}/revoke`,
      device_authorization_endpoint: `${ISSUER}/device_authorization`,
      grant_types_supported: [
        'urn:ietf:params:oauth:grant-type:token-exchange',
        'urn:ietf:params:oauth:grant-type:device_code',
      ],
      response_types_supported: [],
      token_endpoint_auth_methods_supported: ['none'],
      introspection_endpoint_auth_methods_supported: ['client_secret_basic'],
      revocation_endpoint_auth_methods_supported: ['none'],
    });
  });

  it('publishes the key that signed a token it issued, public parts only, and the signature verifies', async () => {
    const token = await broker().ciToken();
    const res = await broker().send('/jwks');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/jwk-set+json');
    const jwks = (await res.json()) as JSONWebKeySet;
    const { kid } = decodeProtectedHeader(token);
    expect(jwks.keys.map((k) => k.kid)).toContain(kid);
    for (const key of jwks.keys) {
      for (const secret of ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k'])
        expect(key).not.toHaveProperty(secret);
    }
    expect(await broker().verify(token)).toMatchObject({ iss: ISSUER, aud: 'https://hub.test' });
  });

  it('answers liveness and readiness (database and keys)', async () => {
    const live = await broker().send('/healthz');
    expect([live.status, await live.json()]).toEqual([200, { status: 'ok' }]);
    const ready = await broker().send('/readyz');
    expect([ready.status, await ready.json()]).toEqual([200, { status: 'ready' }]);
  });

  it('answers an unknown path with a 404 that points to the metadata', async () => {
    const res = await broker().send('/nope');
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({
      error: 'invalid_request',
      error_description: 'no such endpoint GET /nope: see /.well-known/oauth-authorization-server',
    });
  });

  // The Node entry serves Prometheus text (no metrics.token_sha256 in this
  // config: no bearer asked); Workers have their own analytics: a 404.
  if (target.name === 'node') {
    it('answers /metrics with Prometheus text on node', async () => {
      const res = await broker().send('/metrics');
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
      expect(await res.text()).toContain('# TYPE tokenbroker_exchanges_total counter');
    });
  } else {
    it('answers /metrics with 404 on workers', async () => {
      const res = await broker().send('/metrics');
      expect(res.status).toBe(404);
      expect(await res.text()).not.toContain('tokenbroker_');
    });
  }
});
