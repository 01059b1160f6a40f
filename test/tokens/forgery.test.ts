import { SignJWT, base64url, decodeJwt, generateKeyPair, type JWTPayload } from 'jose';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  EXCHANGE,
  form,
  introspect,
  mintFor,
  startBroker,
  type TestBroker,
} from '../helpers/broker.js';

/**
 * Forged or altered tokenbroker tokens presented where the broker trusts its
 * own tokens: narrowing at /token and /introspect. Each forgery differs from
 * a token the broker really issued in one point only.
 */
let broker: TestBroker;
let parent: { token: string; jti: string };
beforeEach(async () => {
  broker = await startBroker();
  parent = await mintFor(broker, ['read:models/acme/*']);
});
afterEach(() => broker.cleanup());

/** The parent's claims, signed again with `key` (the broker's own unless given). */
async function resign(
  change: { claims?: JWTPayload; header?: Record<string, unknown>; key?: CryptoKey } = {},
): Promise<string> {
  const own = await broker.keys.signingKey();
  return new SignJWT({ ...decodeJwt(parent.token), ...change.claims })
    .setProtectedHeader({ alg: own.alg, kid: own.kid, typ: 'at+jwt', ...change.header })
    .sign(change.key ?? own.key);
}

const cases: Array<[string, () => Promise<string>, string | RegExp]> = [
  [
    'a token signed by another key under the broker’s kid',
    async () => resign({ key: (await generateKeyPair('ES256')).privateKey }),
    'token signature does not verify: it was altered, or not issued by this broker',
  ],
  [
    'a real token whose payload was widened',
    async () => {
      const [h, , s] = parent.token.split('.');
      const wider = { ...decodeJwt(parent.token), scope: 'write:**' };
      return `${h}.${base64url.encode(JSON.stringify(wider))}.${s}`;
    },
    'token signature does not verify: it was altered, or not issued by this broker',
  ],
  [
    'alg none',
    async () => {
      const { kid } = await broker.keys.signingKey();
      const enc = (o: object) => base64url.encode(JSON.stringify(o));
      return `${enc({ alg: 'none', kid, typ: 'at+jwt' })}.${enc(decodeJwt(parent.token))}.`;
    },
    /^token is signed with an algorithm this broker does not accept/,
  ],
  [
    'HS256 keyed with the broker’s public JWK',
    async () => {
      const { kid } = await broker.keys.signingKey();
      const jwks = await (await broker.app.request('/jwks')).json();
      const secret = new TextEncoder().encode(JSON.stringify(jwks.keys[0]));
      return new SignJWT(decodeJwt(parent.token))
        .setProtectedHeader({ alg: 'HS256', kid, typ: 'at+jwt' })
        .sign(secret);
    },
    /^token is signed with an algorithm this broker does not accept/,
  ],
  [
    'the broker’s key but typ JWT, as an ID token would have',
    () => resign({ header: { typ: 'JWT' } }),
    /^token claim typ is not acceptable/,
  ],
  [
    'the broker’s key but another audience',
    () => resign({ claims: { aud: 'https://other-hub.test' } }),
    /^token claim aud is not acceptable/,
  ],
  [
    'the broker’s key but another issuer',
    () => resign({ claims: { iss: 'https://evil.test' } }),
    /^token claim iss is not acceptable/,
  ],
  [
    'the broker’s key but a jti it never issued',
    () => resign({ claims: { jti: 'never-issued', scope: 'write:**' } }),
    'token is not known to this broker (or has been pruned): get a new one',
  ],
];

describe('forged tokenbroker tokens', () => {
  it('accepts the parent itself, so the refusals below are meaningful', async () => {
    const res = await broker.app.request(
      '/token',
      form({
        grant_type: EXCHANGE.grant_type,
        subject_token: await resign(),
        subject_token_type: EXCHANGE.access,
      }),
    );
    expect(res.status).toBe(200);
  });

  it.each(cases)('refuses %s at /token and reports it inactive', async (_name, make, why) => {
    const token = await make();
    const res = await broker.app.request(
      '/token',
      form({
        grant_type: EXCHANGE.grant_type,
        subject_token: token,
        subject_token_type: EXCHANGE.access,
      }),
    );
    const body = await res.json();
    expect(res.status, JSON.stringify(body)).toBe(400);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(body.error).toBe('invalid_grant');
    if (typeof why === 'string') expect(body.error_description).toBe(why);
    else expect(body.error_description).toMatch(why);
    expect(await broker.store.listTokens({})).toHaveLength(1); // only the parent
    expect(await introspect(broker, token)).toEqual({ active: false });
  });
});
