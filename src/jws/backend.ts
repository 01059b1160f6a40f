import { SignJWT, type JWK, type JWTPayload } from 'jose';
import { sha256Hex } from '../shared/crypto.js';
import { JWS_ALGORITHMS, signatureFits } from './algorithms.js';

/** A private key to sign with, in both forms the backends use. */
export interface SigningKey {
  kid: string;
  alg: string;
  key: CryptoKey;
  /** For signers that work outside WebCrypto (the Node entry's). */
  privateJwk: JWK;
}

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

/**
 * Each algorithm as WebCrypto names it, built once. One object serves importKey
 * and verify alike: each reads only its own members (`hash` and `namedCurve`
 * for the import, `saltLength` and the ECDSA `hash` for the check).
 */
const WEBCRYPTO_ALGORITHMS = new Map(
  Object.entries(JWS_ALGORITHMS).map(([alg, spec]) => {
    const params =
      spec.kty === 'RSA'
        ? spec.pssSalt
          ? { name: 'RSA-PSS', hash: spec.hash!, saltLength: spec.pssSalt }
          : { name: 'RSASSA-PKCS1-v1_5', hash: spec.hash! }
        : spec.kty === 'EC'
          ? { name: 'ECDSA', namedCurve: spec.crv!, hash: spec.hash! }
          : { name: 'Ed25519' };
    return [alg, params];
  }),
);

const importedKeys = new WeakMap<JWK, Map<string, Promise<CryptoKey>>>();

function webCryptoKey(jwk: JWK, alg: string, params: Algorithm): Promise<CryptoKey> {
  let byAlg = importedKeys.get(jwk);
  if (!byAlg) importedKeys.set(jwk, (byAlg = new Map()));
  let key = byAlg.get(alg);
  if (!key) {
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
    const params = WEBCRYPTO_ALGORITHMS.get(alg);
    if (!params || !signatureFits(alg, jwk, signature)) return false;
    try {
      return await crypto.subtle.verify(
        params,
        await webCryptoKey(jwk, alg, params),
        signature,
        data,
      );
    } catch {
      return false; // a malformed key or signature is simply not a valid signature
    }
  },
};
