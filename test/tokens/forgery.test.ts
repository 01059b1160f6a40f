import { createPrivateKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { decodeJwt } from 'jose';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { nowSeconds } from '../../src/shared/clock.js';
import { BrokerError, type ErrorCode } from '../../src/shared/errors.js';
import { webCryptoBackend, type CryptoBackend } from '../../src/jws/backend.js';
import { nodeCrypto } from '../../src/node/crypto.js';
import { verifyOwnToken, type OwnTokenCheck } from '../../src/tokens/verify.js';
import {
  EXCHANGE,
  form,
  introspect,
  mintFor,
  startBroker,
  testConfig,
  type TestBroker,
} from '../helpers/broker.js';

/**
 * Forged or altered tokenbroker tokens presented where the broker trusts its
 * own tokens: narrowing at /token, /introspect, and the verifier itself. Each
 * forgery differs from a token the broker really issued in one point only,
 * and each refusal names the check that caught it, in the audit row too.
 */
let broker: TestBroker;
let backend: CryptoBackend;
let parent: { token: string; jti: string };

const b64 = (v: string | Uint8Array) => Buffer.from(v).toString('base64url');

/** The parent's header and claims, changed, signed by `key` (the broker's own unless given). */
async function resign(
  change: { claims?: Record<string, unknown>; header?: Record<string, unknown>; key?: Key } = {},
): Promise<string> {
  const own = await broker.keys.signingKey();
  const header = { alg: own.alg, kid: own.kid, typ: 'at+jwt', ...change.header };
  const claims = { ...decodeJwt(parent.token), ...change.claims };
  const input = `${b64(JSON.stringify(header))}.${b64(JSON.stringify(claims))}`;
  const key = change.key ?? {
    alg: own.alg,
    key: createPrivateKey({ key: own.privateJwk as never, format: 'jwk' }),
  };
  return `${input}.${b64(signWith(key, input))}`;
}

interface Key {
  alg: string;
  key: KeyObject;
}

function signWith({ alg, key }: Key, input: string): Buffer {
  const digest = alg === 'EdDSA' ? null : `sha${alg.slice(2)}`;
  return sign(digest, Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' });
}

const stranger = (alg: 'ES256' | 'ES384' | 'RS256'): Key => {
  const { privateKey } =
    alg === 'RS256'
      ? generateKeyPairSync('rsa', { modulusLength: 2048 })
      : generateKeyPairSync('ec', { namedCurve: alg === 'ES256' ? 'P-256' : 'P-384' });
  return { alg, key: privateKey };
};

/** Seconds on the broker's clock. */
const now = () => nowSeconds(broker.clock);

const NOT_A_JWT =
  'token is not a valid signed JWT: send the access_token this broker issued, unchanged';
const BAD_ALG =
  'token is signed with an algorithm this broker does not accept: send the access_token this broker issued, unchanged';
const NOT_OURS = 'token was not signed by a key of this broker: send a token this broker issued';
const BAD_SIGNATURE =
  'token signature does not verify: it was altered, or not issued by this broker';
const claim = (name: string, reason: string, what: string) =>
  `token claim ${name} is not acceptable (${reason}): ${what}; get a new token from this broker`;

interface Case {
  name: string;
  make: () => Promise<string> | string;
  check: OwnTokenCheck;
  message: string | RegExp;
  code?: ErrorCode;
}

const cases: Case[] = [
  {
    name: 'a token over 16 KiB',
    make: () => `${parent.token}.${'A'.repeat(16 * 1024)}`,
    check: 'size',
    code: 'token_too_large',
    message: 'token is larger than 16 KiB: it is not a tokenbroker token',
  },
  { name: 'text that is no JWT', make: () => 'not-a-jwt', check: 'syntax', message: NOT_A_JWT },
  { name: 'three segments of junk', make: () => 'a.b.c', check: 'syntax', message: NOT_A_JWT },
  {
    name: 'a header that is a JSON array',
    make: () => `${b64('[]')}.${parent.token.split('.')[1]}.${parent.token.split('.')[2]}`,
    check: 'syntax',
    message: NOT_A_JWT,
  },
  {
    name: 'a critical header extension, signed by the broker’s key',
    make: () => resign({ header: { crit: ['exp'], exp: 1 } }),
    check: 'crit',
    message: NOT_A_JWT,
  },
  {
    name: 'alg none',
    make: async () => {
      const [h, p] = (await resign({ header: { alg: 'none' } })).split('.');
      return `${h}.${p}.`;
    },
    check: 'alg',
    message: BAD_ALG,
  },
  {
    name: 'no alg',
    make: () => resign({ header: { alg: undefined } }),
    check: 'alg',
    message: NOT_A_JWT,
  },
  {
    name: 'HS256 keyed with the broker’s public JWK',
    make: async () => {
      const jwks = await (await broker.app.request('/jwks')).json();
      const secret = Buffer.from(JSON.stringify(jwks.keys[0]));
      const { createHmac } = await import('node:crypto');
      const own = await broker.keys.signingKey();
      const input = `${b64(JSON.stringify({ alg: 'HS256', kid: own.kid, typ: 'at+jwt' }))}.${parent.token.split('.')[1]}`;
      return `${input}.${b64(createHmac('sha256', secret).update(input).digest())}`;
    },
    check: 'alg',
    message: BAD_ALG,
  },
  {
    name: 'ES384, an algorithm the broker never signs with, under its kid',
    make: () => resign({ header: { alg: 'ES384' }, key: stranger('ES384') }),
    check: 'alg',
    message: BAD_ALG,
  },
  {
    name: 'RS256 under the kid of the broker’s ES256 key',
    make: () => resign({ header: { alg: 'RS256' }, key: stranger('RS256') }),
    check: 'alg',
    message: NOT_A_JWT,
  },
  {
    name: 'no kid',
    make: () => resign({ header: { kid: undefined } }),
    check: 'kid',
    message: NOT_OURS,
  },
  {
    name: 'a kid that is not the broker’s',
    make: () => resign({ header: { kid: 'x' }, key: stranger('ES256') }),
    check: 'kid',
    message: NOT_OURS,
  },
  {
    name: 'a kid that is a number',
    make: () => resign({ header: { kid: 5 } }),
    check: 'kid',
    message: NOT_OURS,
  },
  {
    name: 'a token signed by another key under the broker’s kid',
    make: () => resign({ key: stranger('ES256') }),
    check: 'signature',
    message: BAD_SIGNATURE,
  },
  {
    name: 'a real token whose payload was widened',
    make: () => {
      const [h, , s] = parent.token.split('.');
      return `${h}.${b64(JSON.stringify({ ...decodeJwt(parent.token), scope: 'write:**' }))}.${s}`;
    },
    check: 'signature',
    message: BAD_SIGNATURE,
  },
  {
    name: 'a real token whose signature lost its last byte',
    make: () => parent.token.slice(0, -2),
    check: 'signature',
    message: BAD_SIGNATURE,
  },
  {
    name: 'the broker’s key but typ JWT, as an ID token would have',
    make: () => resign({ header: { typ: 'JWT' } }),
    check: 'typ',
    message: claim('typ', 'check_failed', 'unexpected "typ" JWT header value'),
  },
  {
    name: 'the broker’s key but no typ',
    make: () => resign({ header: { typ: undefined } }),
    check: 'typ',
    message: claim('typ', 'check_failed', 'unexpected "typ" JWT header value'),
  },
  {
    name: 'the broker’s key but another issuer',
    make: () => resign({ claims: { iss: 'https://evil.test' } }),
    check: 'iss',
    message: claim('iss', 'check_failed', 'unexpected "iss" claim value'),
  },
  {
    name: 'the broker’s key but no issuer',
    make: () => resign({ claims: { iss: undefined } }),
    check: 'iss',
    message: claim('iss', 'missing', 'missing required "iss" claim'),
  },
  {
    name: 'the broker’s key but another audience',
    make: () => resign({ claims: { aud: 'https://other-hub.test' } }),
    check: 'aud',
    message: claim('aud', 'check_failed', 'unexpected "aud" claim value'),
  },
  {
    name: 'the broker’s key but no audience',
    make: () => resign({ claims: { aud: undefined } }),
    check: 'aud',
    message: claim('aud', 'missing', 'missing required "aud" claim'),
  },
  {
    name: 'the broker’s key but iat as text',
    make: () => resign({ claims: { iat: 'yesterday' } }),
    check: 'iat',
    message: claim('iat', 'invalid', '"iat" claim must be a number'),
  },
  {
    name: 'the broker’s key but nbf a minute ahead',
    make: () => resign({ claims: { nbf: now() + 60 } }),
    check: 'nbf',
    message: claim('nbf', 'check_failed', '"nbf" claim timestamp check failed'),
  },
  {
    name: 'the broker’s key but nbf as text',
    make: () => resign({ claims: { nbf: '0' } }),
    check: 'nbf',
    message: claim('nbf', 'invalid', '"nbf" claim must be a number'),
  },
  {
    name: 'the broker’s key but no exp',
    make: () => resign({ claims: { exp: undefined } }),
    check: 'exp',
    message: claim('exp', 'missing', 'missing required "exp" claim'),
  },
  {
    name: 'the broker’s key but exp as text',
    make: () => resign({ claims: { exp: String(now() + 600) } }),
    check: 'exp',
    message: claim('exp', 'invalid', '"exp" claim must be a number'),
  },
  {
    name: 'the real token one second after it expired',
    make: () => {
      broker.clock.advance(901);
      return parent.token;
    },
    check: 'exp',
    code: 'token_expired',
    message: 'token expired 1s ago: get a new one',
  },
  {
    name: 'the real token at the second it expires (no tolerance)',
    make: () => {
      broker.clock.advance(900);
      return parent.token;
    },
    check: 'exp',
    code: 'token_expired',
    message: 'token expired 0s ago: get a new one',
  },
  {
    name: 'the broker’s key but no sub',
    make: () => resign({ claims: { sub: undefined } }),
    check: 'claims',
    message: claim('sub', 'missing', 'missing required "sub" claim'),
  },
  {
    name: 'the broker’s key but no jti',
    make: () => resign({ claims: { jti: undefined } }),
    check: 'claims',
    message: claim('jti', 'missing', 'missing required "jti" claim'),
  },
  {
    name: 'the broker’s key but a sub that is a number',
    make: () => resign({ claims: { sub: 7 } }),
    check: 'claims',
    message: claim('sub', 'invalid', '"sub" claim must be a non-empty string'),
  },
  {
    name: 'the broker’s key but a jti that is a number',
    make: () => resign({ claims: { jti: 7 } }),
    check: 'recorded',
    message: 'token is not known to this broker (or has been pruned): get a new one',
  },
  {
    name: 'the broker’s key but a jti it never issued',
    make: () => resign({ claims: { jti: 'never-issued', scope: 'write:**' } }),
    check: 'recorded',
    message: 'token is not known to this broker (or has been pruned): get a new one',
  },
  {
    name: 'the real token after its row was pruned',
    make: () => {
      broker.store.db.prepare('DELETE FROM issued_tokens WHERE jti = ?').run(parent.jti);
      return parent.token;
    },
    check: 'recorded',
    message: 'token is not known to this broker (or has been pruned): get a new one',
  },
  {
    name: 'the real token once revoked',
    make: async () => {
      await broker.app.request('/revoke', form({ token: parent.token }));
      return parent.token;
    },
    check: 'revoked',
    code: 'token_revoked',
    message: 'token has been revoked: get a new one',
  },
];

const narrow = (token: string) =>
  broker.app.request(
    '/token',
    form({
      grant_type: EXCHANGE.grant_type,
      subject_token: token,
      subject_token_type: EXCHANGE.access,
    }),
  );

/** The refusal verifyOwnToken throws for `token`, with the broker's own dependencies. */
async function refusal(token: string): Promise<BrokerError> {
  const e = await verifyOwnToken(token, { ...broker, crypto: backend }).then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(BrokerError);
  return e as BrokerError;
}

describe.each([
  ['node:crypto', nodeCrypto()],
  ['WebCrypto', webCryptoBackend],
] as const)('forged tokenbroker tokens, signatures checked by %s', (_name, crypto) => {
  beforeEach(async () => {
    backend = crypto;
    broker = await startBroker({ crypto });
    parent = await mintFor(broker, ['read:models/acme/*']);
  });
  afterEach(() => broker.cleanup());

  it('accepts the parent itself, and the same claims signed again, so the refusals below are meaningful', async () => {
    expect((await narrow(parent.token)).status).toBe(200);
    expect((await narrow(await resign())).status).toBe(200);
  });

  it.each<[string, () => Parameters<typeof resign>[0]]>([
    ['typ application/at+jwt', () => ({ header: { typ: 'application/at+jwt' } })],
    ['typ in capitals', () => ({ header: { typ: 'AT+JWT' } })],
    [
      'an aud list that names the hub',
      () => ({ claims: { aud: ['https://x.test', 'https://hub.test'] } }),
    ],
    ['nbf now', () => ({ claims: { nbf: now() } })],
    ['no iat', () => ({ claims: { iat: undefined } })],
  ])('accepts, as jose did, the broker’s claims with %s', async (_what, change) => {
    const token = await resign(change());
    expect((await introspect(broker, token)).active).toBe(true);
    expect((await narrow(token)).status).toBe(200);
  });

  it.each(cases.map((c) => [c.name, c] as const))(
    'refuses %s at /token, reports it inactive, and names the check',
    async (_name, c) => {
      const token = await c.make();
      const issued = (await broker.store.listTokens({})).length;
      const res = await narrow(token);
      const body = await res.json();
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.headers.get('cache-control')).toBe('no-store');
      expect(body.error).toBe('invalid_grant');
      if (typeof c.message === 'string') expect(body.error_description).toBe(c.message);
      else expect(body.error_description).toMatch(c.message);
      expect(await broker.store.listTokens({})).toHaveLength(issued);

      const [row] = await broker.store.queryAudit({ outcome: 'denied' });
      expect(row?.reason).toBe(`${c.code ?? 'token_invalid'}: ${body.error_description}`);
      expect(row?.detail).toMatchObject({ check: c.check });

      expect(await introspect(broker, token)).toEqual({ active: false });
      const e = await refusal(token);
      expect([e.code, e.message, e.detail?.check]).toEqual([
        c.code ?? 'token_invalid',
        body.error_description,
        c.check,
      ]);
    },
  );
});

describe.each(['ES256', 'EdDSA', 'RS256'] as const)('own %s tokens', (algorithm) => {
  beforeEach(async () => {
    backend = nodeCrypto();
    broker = await startBroker({
      crypto: backend,
      config: await testConfig({ tokens: { audience: 'https://hub.test', algorithm } }),
    });
    parent = await mintFor(broker, ['read:models/acme/*']);
  });
  afterEach(() => broker.cleanup());

  it('verify as issued, and not with one signature byte changed', async () => {
    expect((await introspect(broker, parent.token)).active).toBe(true);
    const [h, p, s] = parent.token.split('.') as [string, string, string];
    const bytes = Buffer.from(s, 'base64url');
    bytes[0]! ^= 1;
    const altered = `${h}.${p}.${b64(bytes)}`;
    expect(await introspect(broker, altered)).toEqual({ active: false });
    expect((await refusal(altered)).detail?.check).toBe('signature');
  });
});
