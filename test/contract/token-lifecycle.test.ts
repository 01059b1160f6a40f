import { SignJWT, decodeJwt, generateKeyPair } from 'jose';
import { describe, expect, it } from 'vitest';
import { EXCHANGE, HUB_SECRET, basic, form } from '../helpers/broker.js';
import { useBroker } from './broker.js';
import { TARGETS } from './targets.js';

// A broker token's life after it is issued, over HTTP: narrowed by token
// exchange (RFC 8693), read by a resource server (RFC 7662) and by its holder
// (GET /me), revoked with its narrowed children (RFC 7009). The cases that
// move the clock or look into the database stay in test/exchange/downscope,
// test/http/introspect, test/http/revoke.

describe.each(TARGETS)('a broker token on $name', (target) => {
  const broker = useBroker(target);

  describe('narrowing', () => {
    it('issues a narrower scope for the same subject, verifiable and active', async () => {
      const b = broker();
      const parent = await b.ciToken();
      const res = await b.narrow(parent, { scope: 'write:models/acme/bert' });
      expect(res.status).toBe(200);
      expect(res.headers.get('cache-control')).toBe('no-store');
      const body = await res.json();
      expect(body).toMatchObject({
        issued_token_type: EXCHANGE.access,
        token_type: 'Bearer',
        scope: 'write:models/acme/bert',
      });
      const claims = await b.verify(body.access_token);
      expect(claims.sub).toBe('ci:github:repo:acme/models:environment:production');
      expect(claims.scope).toBe('write:models/acme/bert');
      expect(claims.exp).toBeLessThanOrEqual(decodeJwt(parent).exp!);
      expect((await b.introspect(body.access_token)).active).toBe(true);
    });

    it('narrows to one resource in Hugging Face form, and shrinks the lifetime', async () => {
      const b = broker();
      const parent = await b.ciToken();
      const body = await (await b.narrow(parent, { resource: 'acme/bert', ttl: '60' })).json();
      expect(body).toMatchObject({ scope: 'write:models/acme/bert read:models/acme/bert' });
      expect(body.expires_in).toBe(60);
      const claims = decodeJwt(body.access_token);
      expect(claims.exp! - claims.iat!).toBe(60);
    });

    it('refuses a wider scope with invalid_scope naming it', async () => {
      const b = broker();
      const parent = await b.ciToken({ scope: 'read:models/acme/bert' });
      for (const scope of ['write:models/acme/bert', 'read:models/**', 'read:models/other/x']) {
        const res = await b.narrow(parent, { scope });
        expect(res.status).toBe(400);
        const body = await res.json();
        expect(body.error).toBe('invalid_scope');
        expect(body.error_description).toContain(`scope ${scope} is not granted`);
      }
    });
  });

  describe('introspection', () => {
    it('reports a live token active with its claims', async () => {
      const b = broker();
      const token = await b.ciToken({ scope: 'read:models/acme/bert', ttl: '600' });
      const { jti, exp } = decodeJwt(token);
      expect(await b.introspect(token)).toMatchObject({
        active: true,
        token_type: 'Bearer',
        sub: 'ci:github:repo:acme/models:environment:production',
        scope: 'read:models/acme/bert',
        client_id: 'github',
        iss: 'https://broker.test',
        aud: 'https://hub.test',
        jti,
        exp,
      });
    });

    it('reports a revoked token inactive at once', async () => {
      const b = broker();
      const token = await b.ciToken();
      expect((await b.revoke(token)).status).toBe(200);
      expect(await b.introspect(token)).toEqual({ active: false });
    });

    it('reports unknown, foreign and garbage tokens inactive', async () => {
      const b = broker();
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
        expect(await b.introspect(token)).toEqual({ active: false });
      }
    });

    it.each([
      ['no credentials', undefined],
      ['a wrong secret', basic('hub', 'wrong')],
      ['a secret that shares a prefix', basic('hub', `${HUB_SECRET}x`)],
      ['an unknown client', basic('nobody', HUB_SECRET)],
      ['a malformed header', 'Basic !!!'],
      ['a bearer header', 'Bearer abc'],
    ])('refuses %s with 401 invalid_client', async (_name, auth) => {
      const init = form({ token: 'x' });
      const res = await broker().send('/introspect', {
        ...init,
        headers: {
          ...(init.headers as Record<string, string>),
          ...(auth ? { Authorization: auth } : {}),
        },
      });
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe('Basic realm="tokenbroker"');
      expect(res.headers.get('cache-control')).toBe('no-store');
      const body = await res.json();
      expect(body.error).toBe('invalid_client');
      expect(body.error_description).toMatch(/resource_servers/);
    });

    it('requires the token parameter', async () => {
      const init = form({});
      const res = await broker().send('/introspect', {
        ...init,
        headers: {
          ...(init.headers as Record<string, string>),
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

  describe('revocation', () => {
    it('answers 200 for a token it does not know, so it is no oracle', async () => {
      const b = broker();
      expect((await b.send('/revoke', form({}))).status).toBe(200);
      for (const token of ['garbage', 'a.b.c']) {
        expect((await b.revoke(token)).status).toBe(200);
      }
    });

    it('revokes every token narrowed from the revoked one, and refuses to narrow it again', async () => {
      const b = broker();
      const parent = await b.ciToken();
      const child = (await (await b.narrow(parent, { scope: 'read:models/acme/bert' })).json())
        .access_token as string;
      expect((await b.introspect(child)).active).toBe(true);
      expect((await b.revoke(parent)).status).toBe(200);
      expect(await b.introspect(parent)).toEqual({ active: false });
      expect(await b.introspect(child)).toEqual({ active: false });
      const again = await b.narrow(parent, { scope: 'read:models/acme/bert' });
      expect([again.status, await again.json()]).toEqual([
        400,
        { error: 'invalid_grant', error_description: 'token has been revoked: get a new one' },
      ]);
    });

    it('tells the holder on GET /me whether the token is still active', async () => {
      const b = broker();
      const token = await b.ciToken({ scope: 'read:models/acme/bert' });
      const live = await b.send('/me', { headers: { Authorization: `Bearer ${token}` } });
      expect(live.status).toBe(200);
      expect(await live.json()).toEqual({
        active: true,
        sub: 'ci:github:repo:acme/models:environment:production',
        scope: 'read:models/acme/bert',
        exp: decodeJwt(token).exp,
        source: 'ci',
      });
      await b.revoke(token);
      const gone = await b.send('/me', { headers: { Authorization: `Bearer ${token}` } });
      expect(gone.status).toBe(401);
      expect((await gone.json()).error).toBe('invalid_token');
    });
  });
});
