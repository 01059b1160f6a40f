import { createHash, generateKeyPairSync } from 'node:crypto';
import { SignJWT, createLocalJWKSet, exportJWK, generateKeyPair, jwtVerify } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { keyFitsAlgorithm } from '../../src/jws/algorithms.js';
import { webCryptoBackend } from '../../src/jws/backend.js';
import { base64urlDecode, parseCompactJws } from '../../src/jws/compact.js';
import { showJson } from '../../src/shared/show.js';
import { nodeCrypto } from '../../src/node/crypto.js';
import { Minter } from '../../src/tokens/mint.js';
import { introspect, issued, startBroker, testConfig, type TestBroker } from '../helpers/broker.js';

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
      const minted = await issued(
        minter.mint({
          subject: 'user:alice@example.com',
          scopes: ['read:models/acme/*'],
          ttlSeconds: 600,
          clientId: 'web',
          source: 'web',
          claims: { ci: { provider: 'github' } },
          audit: {},
        }),
      );
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

  it.each(['RS256', 'PS256'] as const)(
    'refuses a %s signature with its leading zero byte left out: one signature, one spelling',
    async (alg) => {
      // RFC 8017 wants exactly the modulus's length; OpenSSL also takes the
      // integer without its leading zero byte. About one signature in 256
      // starts with one: sign until one does (PS256 is randomised, RS256 is
      // not, so the payload changes).
      const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
      const jwk = await exportJWK(publicKey);
      for (let i = 0; ; i++) {
        const token = await new SignJWT({ sub: 'x', i })
          .setProtectedHeader({ alg })
          .sign(privateKey);
        const { signingInput, signature } = parseCompactJws(token);
        if (signature[0] !== 0) continue;
        expect(await backend.verify(alg, jwk, signingInput, signature)).toBe(true);
        expect(await backend.verify(alg, jwk, signingInput, signature.slice(1))).toBe(false);
        break;
      }
    },
  );

  it('accepts an ECDSA signature with high S (n - s), as jose does: the token string is malleable, its claims are not', async () => {
    const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
    const jwk = await exportJWK(publicKey);
    const token = await new SignJWT({}).setProtectedHeader({ alg: 'ES256' }).sign(privateKey);
    const { signingInput, signature } = parseCompactJws(token);
    const order = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
    const s = BigInt(`0x${Buffer.from(signature.subarray(32)).toString('hex')}`);
    const twin = signature.slice();
    twin.set(Buffer.from((order - s).toString(16).padStart(64, '0'), 'hex'), 32);
    expect(await backend.verify('ES256', jwk, signingInput, twin)).toBe(true);
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

  it('measures RSA keys by their integers, and refuses even, tiny or huge exponents and private members', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pub = rsa.publicKey.export({ format: 'jwk' });
    const b64 = (bytes: Buffer) => bytes.toString('base64url');
    const weak = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({
      format: 'jwk',
    });
    const padded = b64(Buffer.concat([Buffer.alloc(128), Buffer.from(weak.n!, 'base64url')]));
    expect(keyFitsAlgorithm(pub, 'RS256')).toBe(true);
    expect(keyFitsAlgorithm({ ...pub, n: `${pub.n}=` }, 'RS256')).toBe(false); // padded: not base64url
    expect(keyFitsAlgorithm({ ...pub, n: `AAAA${pub.n}` }, 'RS256')).toBe(true); // zero bytes, same n
    expect(keyFitsAlgorithm({ ...weak, n: padded }, 'RS256')).toBe(false);
    expect(keyFitsAlgorithm({ ...pub, n: b64(Buffer.alloc(1025, 0xff)) }, 'RS256')).toBe(false);
    expect(keyFitsAlgorithm({ ...pub, n: b64(Buffer.alloc(1024, 0xff)) }, 'RS256')).toBe(true);
    for (const e of ['AQ', 'AAE', 'Ag', 'AAEAAg', 'AA', '', b64(Buffer.alloc(9, 1)), 'AQAB=']) {
      expect(keyFitsAlgorithm({ ...pub, e }, 'RS256'), e).toBe(false);
    }
    expect(keyFitsAlgorithm({ ...pub, e: 'Aw' }, 'RS256')).toBe(true);
    expect(keyFitsAlgorithm({ ...pub, e: b64(Buffer.alloc(8, 1)) }, 'RS256')).toBe(true);
    expect(keyFitsAlgorithm(rsa.privateKey.export({ format: 'jwk' }), 'RS256')).toBe(false);
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({
      format: 'jwk',
    });
    expect(keyFitsAlgorithm(ec, 'ES256')).toBe(false);
    expect(keyFitsAlgorithm({ ...ec, d: undefined }, 'ES256')).toBe(true);
  });
});

describe('strict base64url and refusal messages', () => {
  it('decodes each byte string from exactly one spelling', () => {
    expect([...base64urlDecode('QQ')]).toEqual([0x41]);
    expect([...base64urlDecode('QUE')]).toEqual([0x41, 0x41]);
    for (const text of ['QR', 'QUF', 'QQ=', 'Q', 'Q Q', 'QQ\n', 'Q+', 'Q/']) {
      expect(() => base64urlDecode(text), JSON.stringify(text)).toThrow();
    }
  });

  it('shows any JSON value without throwing, cut short', () => {
    const deep = JSON.parse(`${'['.repeat(10000)}${']'.repeat(10000)}`);
    expect(showJson(deep)).toBe('[…]');
    expect(showJson({ a: JSON.parse(`${'['.repeat(10000)}${']'.repeat(10000)}`) })).toBe('{…}');
    expect(showJson('x'.repeat(500))).toBe(`"${'x'.repeat(199)}…`);
    expect(showJson(['a', 1])).toBe('["a",1]');
  });
});
