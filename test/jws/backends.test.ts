import { createHash } from 'node:crypto';
import { SignJWT, createLocalJWKSet, exportJWK, generateKeyPair, jwtVerify } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { keyFitsAlgorithm } from '../../src/jws/algorithms.js';
import { webCryptoBackend } from '../../src/jws/backend.js';
import { parseCompactJws } from '../../src/jws/compact.js';
import { nodeCrypto } from '../../src/node/crypto.js';
import { Minter } from '../../src/tokens/mint.js';
import { introspect, startBroker, testConfig, type TestBroker } from '../helpers/broker.js';

const backends = [
  ['node:crypto', nodeCrypto()],
  ['WebCrypto', webCryptoBackend],
] as const;

let broker: TestBroker | undefined;
afterEach(async () => {
  await broker?.cleanup();
  broker = undefined;
});

describe.each(backends)('the %s backend', (_name, backend) => {
  it.each(['ES256', 'EdDSA', 'RS256'] as const)(
    'mints %s tokens that jose verifies against /jwks, recorded with their SHA-256',
    async (algorithm) => {
      broker = await startBroker({
        config: await testConfig({ tokens: { audience: 'https://hub.test', algorithm } }),
      });
      const minter = new Minter({
        store: broker.store,
        keys: broker.keys,
        clock: broker.clock,
        issuer: 'https://broker.test',
        audience: 'https://hub.test',
        crypto: backend,
      });
      const minted = await minter.mint({
        subject: 'user:alice@example.com',
        scopes: ['read:models/acme/*'],
        ttlSeconds: 600,
        clientId: 'web',
        source: 'web',
        claims: { ci: { provider: 'github' } },
        audit: {},
      });
      const jwks = createLocalJWKSet(await (await broker.app.request('/jwks')).json());
      const { payload, protectedHeader } = await jwtVerify(minted.token, jwks, {
        issuer: 'https://broker.test',
        audience: 'https://hub.test',
        typ: 'at+jwt',
        currentDate: new Date(broker.clock.now()),
      });
      expect(protectedHeader.alg).toBe(algorithm);
      expect(payload).toMatchObject({
        sub: 'user:alice@example.com',
        scope: 'read:models/acme/*',
        client_id: 'web',
        jti: minted.jti,
        ci: { provider: 'github' },
      });
      expect(payload.exp! - payload.iat!).toBe(600);
      const row = await broker.store.getToken(minted.jti);
      expect(row?.tokenSha256).toBe(createHash('sha256').update(minted.token).digest('hex'));
      expect((await introspect(broker, minted.token)).active).toBe(true);
    },
  );

  it.each([
    'RS256',
    'RS384',
    'RS512',
    'PS256',
    'PS384',
    'PS512',
    'ES256',
    'ES384',
    'ES512',
    'EdDSA',
  ])('verifies %s signatures made by jose, and nothing altered', async (alg) => {
    const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
    const jwk = await exportJWK(publicKey);
    expect(keyFitsAlgorithm(jwk, alg)).toBe(true);
    const token = await new SignJWT({ sub: 'x' }).setProtectedHeader({ alg }).sign(privateKey);
    const { signingInput, signature } = parseCompactJws(token);
    expect(await backend.verify(alg, jwk, signingInput, signature)).toBe(true);

    const flipped = signature.slice();
    flipped[flipped.length - 1]! ^= 1;
    expect(await backend.verify(alg, jwk, signingInput, flipped)).toBe(false);
    const altered = signingInput.slice();
    altered[altered.length - 1]! ^= 1;
    expect(await backend.verify(alg, jwk, altered, signature)).toBe(false);
    expect(await backend.verify(alg, jwk, signingInput, signature.slice(1))).toBe(false);

    const other = await exportJWK((await generateKeyPair(alg, { extractable: true })).publicKey);
    expect(await backend.verify(alg, other, signingInput, signature)).toBe(false);
  });

  it('answers false, without throwing, for a malformed published key', async () => {
    const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
    const jwk = await exportJWK(publicKey);
    const token = await new SignJWT({}).setProtectedHeader({ alg: 'ES256' }).sign(privateKey);
    const { signingInput, signature } = parseCompactJws(token);
    for (const broken of [{ ...jwk, x: 'AAAA' }, { ...jwk, crv: 'P-384' }, { kty: 'EC' }]) {
      expect(await backend.verify('ES256', broken, signingInput, signature)).toBe(false);
    }
  });
});

describe('which published keys may verify an algorithm', () => {
  it('matches key type, curve, alg, use and key_ops, and refuses short RSA keys', async () => {
    const rsa = await exportJWK((await generateKeyPair('RS256', { extractable: true })).publicKey);
    const ec = await exportJWK((await generateKeyPair('ES256', { extractable: true })).publicKey);
    expect(keyFitsAlgorithm(rsa, 'RS256')).toBe(true);
    expect(keyFitsAlgorithm(rsa, 'PS256')).toBe(true);
    expect(keyFitsAlgorithm({ ...rsa, alg: 'RS256' }, 'PS256')).toBe(false);
    expect(keyFitsAlgorithm({ ...rsa, use: 'enc' }, 'RS256')).toBe(false);
    expect(keyFitsAlgorithm({ ...rsa, key_ops: ['encrypt'] }, 'RS256')).toBe(false);
    expect(keyFitsAlgorithm({ ...rsa, key_ops: ['verify'] }, 'RS256')).toBe(true);
    expect(keyFitsAlgorithm({ ...rsa, n: rsa.n!.slice(0, 171) }, 'RS256')).toBe(false); // 1024 bits
    expect(keyFitsAlgorithm(rsa, 'ES256')).toBe(false);
    expect(keyFitsAlgorithm(ec, 'ES256')).toBe(true);
    expect(keyFitsAlgorithm(ec, 'ES384')).toBe(false);
    expect(keyFitsAlgorithm(ec, 'HS256')).toBe(false);
    expect(keyFitsAlgorithm(ec, 'constructor')).toBe(false);
  });
});
