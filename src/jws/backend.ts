import { SignJWT, type JWK, type JWTPayload } from 'jose';
import type { SigningKey } from '../tokens/keys.js';
import { sha256Hex } from '../tokens/crypto.js';
import { jwsAlgorithm } from './algorithms.js';

export interface SignedToken {
  token: string;
  /** Hex SHA-256 of the token: what the audit log keeps instead of it. */
  sha256: string;
}

/**
 * The signature primitives of the hot path: signing our tokens and checking
 * CI tokens' signatures. Parsing, key choice and claim checks stay in the core
 * and are the same everywhere; only the primitive is swapped. The core's
 * backend is WebCrypto, so it runs on Workers; the Node entry injects
 * node:crypto, which skips Node's per-operation WebCrypto thread-pool hop.
 */
export interface CryptoBackend {
  sign(
    header: { alg: string; kid: string; typ: string },
    claims: JWTPayload,
    key: SigningKey,
  ): Promise<SignedToken>;
  /**
   * Whether `signature` over `data` verifies with the public `jwk` under
   * `alg`. The caller has already checked that the key fits the algorithm.
   */
  verify(
    alg: string,
    jwk: JWK,
    data: Uint8Array<ArrayBuffer>,
    signature: Uint8Array<ArrayBuffer>,
  ): Promise<boolean>;
}

const importedKeys = new WeakMap<JWK, Map<string, Promise<CryptoKey>>>();

function webCryptoKey(jwk: JWK, alg: string): Promise<CryptoKey> {
  let byAlg = importedKeys.get(jwk);
  if (!byAlg) importedKeys.set(jwk, (byAlg = new Map()));
  let key = byAlg.get(alg);
  if (!key) {
    const spec = jwsAlgorithm(alg)!;
    const params =
      spec.kty === 'RSA'
        ? { name: spec.pssSalt ? 'RSA-PSS' : 'RSASSA-PKCS1-v1_5', hash: spec.hash! }
        : spec.kty === 'EC'
          ? { name: 'ECDSA', namedCurve: spec.crv! }
          : { name: 'Ed25519' };
    // Only the public members: WebCrypto refuses a JWK whose alg or ext disagree.
    const { kty, n, e, crv, x, y } = jwk;
    key = crypto.subtle.importKey('jwk', { kty, n, e, crv, x, y }, params, false, ['verify']);
    key.catch(() => byAlg.delete(alg));
    byAlg.set(alg, key);
  }
  return key;
}

export const webCryptoBackend: CryptoBackend = {
  async sign(header, claims, key) {
    const token = await new SignJWT(claims).setProtectedHeader(header).sign(key.key);
    return { token, sha256: await sha256Hex(token) };
  },

  async verify(alg, jwk, data, signature) {
    const spec = jwsAlgorithm(alg)!;
    const params =
      spec.kty === 'RSA'
        ? spec.pssSalt
          ? { name: 'RSA-PSS', saltLength: spec.pssSalt }
          : { name: 'RSASSA-PKCS1-v1_5' }
        : spec.kty === 'EC'
          ? { name: 'ECDSA', hash: spec.hash! }
          : { name: 'Ed25519' };
    try {
      return await crypto.subtle.verify(params, await webCryptoKey(jwk, alg), signature, data);
    } catch {
      return false; // a malformed key or signature is simply not a valid signature
    }
  },
};
