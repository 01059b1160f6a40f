import {
  constants,
  createHash,
  createPrivateKey,
  createPublicKey,
  sign,
  verify,
  type JsonWebKey,
  type KeyObject,
} from 'node:crypto';
import type { JWK } from 'jose';
import { jwsAlgorithm, signatureFits, type JwsAlgorithm } from '../jws/algorithms.js';
import type { CryptoBackend } from '../jws/backend.js';

const b64url = (data: string | Buffer) => Buffer.from(data).toString('base64url');

/** node:crypto names digests without the dash. */
const nodeHash = (hash: string | null) => (hash === null ? null : hash.replace('-', ''));

/** How node:crypto must use `key` for `spec`: r||s for ECDSA, PSS padding and salt for PS*. */
const keyUse = (key: KeyObject, spec: JwsAlgorithm) => ({
  key,
  dsaEncoding: 'ieee-p1363' as const,
  ...(spec.pssSalt && { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: spec.pssSalt }),
});

/**
 * The Node entry's crypto: compact JWS signing and signature checks with
 * node:crypto, synchronous and in this thread. ECDSA signatures are IEEE P1363
 * (r||s), as JWS has them. Keys are imported once per JWK object.
 */
export function nodeCrypto(): CryptoBackend {
  const privateKeys = new Map<string, KeyObject>();
  const publicKeys = new WeakMap<JWK, KeyObject | null>();

  const publicKey = (jwk: JWK): KeyObject | null => {
    let key = publicKeys.get(jwk);
    if (key === undefined) {
      try {
        const { kty, n, e, crv, x, y } = jwk;
        key = createPublicKey({ key: { kty, n, e, crv, x, y } as JsonWebKey, format: 'jwk' });
      } catch {
        key = null; // a malformed published key verifies nothing
      }
      publicKeys.set(jwk, key);
    }
    return key;
  };

  return {
    async sign(header, claims, key) {
      let ko = privateKeys.get(key.kid);
      if (!ko) {
        ko = createPrivateKey({ key: key.privateJwk as JsonWebKey, format: 'jwk' });
        privateKeys.set(key.kid, ko);
      }
      const spec = jwsAlgorithm(header.alg);
      if (!spec) throw new Error(`no node:crypto signer for ${header.alg}`);
      const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
      const signature = sign(nodeHash(spec.hash), Buffer.from(input), keyUse(ko, spec));
      const token = `${input}.${b64url(signature)}`;
      return { token, sha256: createHash('sha256').update(token).digest('hex') };
    },

    async verify(alg, jwk, data, signature) {
      const spec = jwsAlgorithm(alg);
      const key = publicKey(jwk);
      if (!spec || !key || !signatureFits(alg, jwk, signature)) return false;
      try {
        return verify(nodeHash(spec.hash), data, keyUse(key, spec), signature);
      } catch {
        return false;
      }
    },
  };
}
