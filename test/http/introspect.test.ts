import { SignJWT, generateKeyPair } from 'jose';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { bytesEqualInConstantTime, constantTimeEqual } from '../../src/shared/crypto.js';
import {
  HUB_SECRET,
  basic,
  form,
  introspect,
  mintFor,
  startBroker,
  type TestBroker,
} from '../helpers/broker.js';

let broker: TestBroker;
beforeEach(async () => {
  broker = await startBroker();
});
afterEach(() => broker.cleanup());

const call = (auth: string | undefined, token = 'x') =>
  broker.app.request('/introspect', {
    ...form({ token }),
    headers: {
      'Content-Type': 'application/x-www-form-urlencoded',
      ...(auth ? { Authorization: auth } : {}),
    },
  });

describe('introspection (RFC 7662)', () => {
  it('reports a live token active with its claims', async () => {
    const minted = await mintFor(broker, ['read:models/acme/*'], 600);
    const body = await introspect(broker, minted.token);
    expect(body).toMatchObject({
      active: true,
      token_type: 'Bearer',
      sub: 'user:alice@example.com',
      scope: 'read:models/acme/*',
      client_id: 'test',
      iss: 'https://broker.test',
      aud: 'https://hub.test',
      jti: minted.jti,
      exp: minted.expiresAt,
    });
  });

  it('reports an expired token inactive', async () => {
    const minted = await mintFor(broker, ['read:models/acme/*'], 60);
    broker.clock.advance(61);
    expect(await introspect(broker, minted.token)).toEqual({ active: false });
  });

  it('reports a revoked token inactive at once', async () => {
    const minted = await mintFor(broker, ['read:models/acme/*']);
    const res = await broker.app.request('/revoke', form({ token: minted.token }));
    expect(res.status).toBe(200);
    expect(await introspect(broker, minted.token)).toEqual({ active: false });
  });

  it('reports unknown and foreign tokens inactive', async () => {
    const { privateKey } = await generateKeyPair('ES256');
    const foreign = await new SignJWT({ scope: 'read:**' })
      .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: 'x' })
      .setIssuer('https://broker.test')
      .setAudience('https://hub.test')
      .setSubject('user:mallory')
      .setJti('j')
      .setExpirationTime('1h')
      .sign(privateKey);
    for (const token of [foreign, 'not-a-jwt', 'a.b.c']) {
      expect(await introspect(broker, token)).toEqual({ active: false });
    }
  });

  it('reports a token inactive once its row is gone (pruned or never recorded)', async () => {
    const minted = await mintFor(broker, ['read:models/acme/*']);
    await broker.sql('DELETE FROM issued_tokens WHERE jti = ?', minted.jti);
    expect(await introspect(broker, minted.token)).toEqual({ active: false });
  });

  it.each([
    ['no credentials', undefined],
    ['a wrong secret', basic('hub', 'wrong')],
    ['a secret that shares a prefix', basic('hub', `${HUB_SECRET}x`)],
    ['an unknown client', basic('nobody', HUB_SECRET)],
    ['a malformed header', 'Basic !!!'],
    ['a bearer header', 'Bearer abc'],
  ])('refuses %s with 401 invalid_client', async (_name, auth) => {
    const res = await call(auth);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Basic realm="tokenbroker"');
    expect(res.headers.get('cache-control')).toBe('no-store');
    const body = await res.json();
    expect(body.error).toBe('invalid_client');
    expect(body.error_description).toMatch(/resource_servers/);
  });

  it('compares secrets without an early exit: the bytes read do not depend on where the first difference is', () => {
    const a = 'f'.repeat(64);
    expect(constantTimeEqual(a, a)).toBe(true);
    expect(constantTimeEqual(a, `0${a.slice(1)}`)).toBe(false);
    expect(constantTimeEqual(a, `${a.slice(0, 63)}0`)).toBe(false);
    expect(constantTimeEqual(a, a.slice(0, 63))).toBe(false);
    // The property itself, not a timing: record every index the comparison reads.
    const reads = (b: string) => {
      const read: string[] = [];
      const watched = (name: string, bytes: Uint8Array) =>
        new Proxy(bytes, {
          get(target, key) {
            if (typeof key === 'string' && /^\d+$/.test(key)) read.push(`${name}${key}`);
            return Reflect.get(target, key) as unknown;
          },
        });
      const enc = new TextEncoder();
      const equal = bytesEqualInConstantTime(
        watched('x', enc.encode(a)),
        watched('y', enc.encode(b)),
      );
      return { equal, read };
    };
    const same = reads(a);
    const first = reads(`0${a.slice(1)}`);
    const last = reads(`${a.slice(0, 63)}0`);
    expect([same.equal, first.equal, last.equal]).toEqual([true, false, false]);
    expect(same.read).toHaveLength(128); // every byte of both
    expect(first.read).toEqual(same.read);
    expect(last.read).toEqual(same.read);
  });

  it('requires the token parameter', async () => {
    const res = await broker.app.request('/introspect', {
      ...form({}),
      headers: {
        'Content-Type': 'application/x-www-form-urlencoded',
        Authorization: basic('hub', HUB_SECRET),
      },
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      error: 'invalid_request',
      error_description: 'parameter token is required',
    });
  });
});
