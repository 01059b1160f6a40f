import {
  calculateJwkThumbprint,
  compactVerify,
  createLocalJWKSet,
  decodeProtectedHeader,
  exportJWK,
  generateKeyPair,
  type JWK,
} from 'jose';
import { describe, expect, it } from 'vitest';
import { BrokerError } from '../../src/shared/errors.js';
import { webCryptoBackend } from '../../src/jws/backend.js';
import { SecretKeys } from '../../src/tokens/secret-keys.js';

async function privateJwk(alg: 'ES256' | 'EdDSA' | 'RS256' | 'ES384'): Promise<JWK> {
  const { privateKey } = await generateKeyPair(alg, {
    extractable: true,
    ...(alg === 'EdDSA' ? { crv: 'Ed25519' } : {}),
  });
  return exportJWK(privateKey);
}

async function refusal(text: string | undefined): Promise<BrokerError> {
  const e = await SecretKeys.parse(text).then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(BrokerError);
  expect((e as BrokerError).code).toBe('unavailable');
  return e as BrokerError;
}

const sign = async (keys: SecretKeys) =>
  (
    await webCryptoBackend.sign(
      { alg: (await keys.signingKey()).alg, kid: (await keys.signingKey()).kid, typ: 'at+jwt' },
      { sub: 'x' },
      await keys.signingKey(),
    )
  ).token;

describe('signing keys from a secret', () => {
  it.each(['ES256', 'EdDSA', 'RS256'] as const)(
    'takes one private %s JWK without kid or alg, names it by its thumbprint and publishes only its public half',
    async (alg) => {
      const jwk = await privateJwk(alg);
      const keys = await SecretKeys.parse(JSON.stringify(jwk));
      const thumbprint = await calculateJwkThumbprint(jwk);
      const { keys: published } = await keys.jwks();
      expect(published).toHaveLength(1);
      expect(published[0]).toMatchObject({ kid: thumbprint, alg, use: 'sig', kty: jwk.kty });
      for (const member of ['d', 'p', 'q', 'dp', 'dq', 'qi']) {
        expect(published[0]).not.toHaveProperty(member);
      }
      expect(keys.ready).toBe(true);
      const token = await sign(keys);
      expect(decodeProtectedHeader(token)).toMatchObject({ kid: thumbprint, alg });
      await compactVerify(token, createLocalJWKSet({ keys: published }));
    },
  );

  it('signs with the first key of an array, publishes all, and verifies tokens of each', async () => {
    const first = { ...(await privateJwk('ES256')), kid: 'new' };
    const second = { ...(await privateJwk('EdDSA')), kid: 'old', alg: 'EdDSA' };
    const keys = await SecretKeys.parse(JSON.stringify([first, second]));
    expect((await keys.jwks()).keys.map((k) => k.kid)).toEqual(['new', 'old']);
    const token = await sign(keys);
    expect(decodeProtectedHeader(token).kid).toBe('new');
    expect(await keys.verifyingJwk('old')).toMatchObject({
      kid: 'old',
      alg: 'EdDSA',
      crv: 'Ed25519',
    });
    expect(await keys.verifyingJwk('new')).toMatchObject({ kid: 'new', alg: 'ES256' });
    expect(await keys.verifyingJwk('other')).toBeUndefined();
  });

  it('refuses each malformed secret with a message that names the key and what to do, never its content', async () => {
    const ec = await privateJwk('ES256');
    const publicOnly = { ...ec, d: undefined };
    const other = await privateJwk('ES256');
    const cases: [name: string, text: string | undefined, expected: RegExp][] = [
      ['not set', undefined, /SIGNING_KEY is not set: .*wrangler secret put SIGNING_KEY/],
      ['blank', '  ', /SIGNING_KEY is not set/],
      ['not JSON', `{"kty":"EC","d":"${ec.d}"`, /SIGNING_KEY is not JSON: .*wrangler secret put/],
      ['an empty array', '[]', /empty array: put at least one private JWK/],
      ['a string', '"hello"', /SIGNING_KEY is not a JWK: expected a JSON object/],
      ['public only', JSON.stringify(publicOnly), /SIGNING_KEY is a public key \(it has no "d"\)/],
      [
        'public only, second in the array',
        JSON.stringify([ec, publicOnly]),
        /SIGNING_KEY\[1\] is a public key/,
      ],
      [
        'symmetric',
        JSON.stringify({ kty: 'oct', k: 'c2VjcmV0LXNlY3JldC1zZWNyZXQ' }),
        /symmetric \(oct\) key/,
      ],
      ['no kty', JSON.stringify({ d: 'abc' }), /no usable kty: expected "EC", "OKP" or "RSA"/],
      [
        'an HMAC alg',
        JSON.stringify({ ...ec, alg: 'HS256' }),
        /alg "HS256": the broker signs with ES256, EdDSA, RS256 only/,
      ],
      [
        'a curve we do not sign with',
        JSON.stringify(await privateJwk('ES384')),
        /curve "P-384": the broker signs with ES256/,
      ],
      [
        'an alg that does not fit the key',
        JSON.stringify({ ...ec, alg: 'RS256' }),
        /cannot sign RS256/,
      ],
      [
        'a public half of another key',
        JSON.stringify({ ...ec, x: other.x, y: other.y }),
        /(do not match its private "d"|not a valid ES256 private key)/,
      ],
      [
        'two keys with one kid',
        JSON.stringify([
          { ...ec, kid: 'k' },
          { ...other, kid: 'k' },
        ]),
        /SIGNING_KEY\[1\] has kid k, as an earlier key does/,
      ],
    ];
    for (const [name, text, expected] of cases) {
      const e = await refusal(text);
      expect(e.message, name).toMatch(expected);
      expect(e.message, name).not.toContain(ec.d);
    }
  });
});
