import type { JWK } from 'jose';

/**
 * The asymmetric JWS algorithms a CI token may use, and what each demands of
 * its key. HMAC and `none` are absent on purpose: a public key must never
 * double as a shared secret.
 */
export interface JwsAlgorithm {
  kty: 'RSA' | 'EC' | 'OKP';
  /** Curve the key must be on (EC and OKP). */
  crv?: string;
  /** Digest, as WebCrypto and node:crypto name it; null for Ed25519. */
  hash: 'SHA-256' | 'SHA-384' | 'SHA-512' | null;
  /** RSA-PSS salt length in bytes (the digest's length, per RFC 7518 §3.5). */
  pssSalt?: number;
  /** Exact signature length in bytes, where the algorithm fixes it. */
  signatureBytes?: number;
}

export const JWS_ALGORITHMS: Readonly<Record<string, JwsAlgorithm>> = {
  RS256: { kty: 'RSA', hash: 'SHA-256' },
  RS384: { kty: 'RSA', hash: 'SHA-384' },
  RS512: { kty: 'RSA', hash: 'SHA-512' },
  PS256: { kty: 'RSA', hash: 'SHA-256', pssSalt: 32 },
  PS384: { kty: 'RSA', hash: 'SHA-384', pssSalt: 48 },
  PS512: { kty: 'RSA', hash: 'SHA-512', pssSalt: 64 },
  ES256: { kty: 'EC', crv: 'P-256', hash: 'SHA-256', signatureBytes: 64 },
  ES384: { kty: 'EC', crv: 'P-384', hash: 'SHA-384', signatureBytes: 96 },
  ES512: { kty: 'EC', crv: 'P-521', hash: 'SHA-512', signatureBytes: 132 },
  EdDSA: { kty: 'OKP', crv: 'Ed25519', hash: null, signatureBytes: 64 },
  Ed25519: { kty: 'OKP', crv: 'Ed25519', hash: null, signatureBytes: 64 },
};

export const ASYMMETRIC_ALGORITHMS = Object.keys(JWS_ALGORITHMS);

/** The table's entry for `alg`; never an inherited property such as `constructor`. */
export function jwsAlgorithm(alg: string): JwsAlgorithm | undefined {
  return Object.hasOwn(JWS_ALGORITHMS, alg) ? JWS_ALGORITHMS[alg] : undefined;
}

/** RSA keys shorter than this are refused (RFC 7518 §3.3 requires 2048 bits). */
const MIN_RSA_BYTES = 256;

/** Whether `jwk` may verify a signature made with `alg`. */
export function keyFitsAlgorithm(jwk: JWK, alg: string): boolean {
  const spec = jwsAlgorithm(alg);
  if (!spec || jwk.kty !== spec.kty) return false;
  if (spec.crv !== undefined && jwk.crv !== spec.crv) return false;
  if (jwk.alg !== undefined && jwk.alg !== alg && !(isEd(jwk.alg) && isEd(alg))) return false;
  if (jwk.use !== undefined && jwk.use !== 'sig') return false;
  if (jwk.key_ops !== undefined && !(Array.isArray(jwk.key_ops) && jwk.key_ops.includes('verify')))
    return false;
  if (spec.kty === 'RSA' && (typeof jwk.n !== 'string' || (jwk.n.length * 3) / 4 < MIN_RSA_BYTES))
    return false;
  return true;
}

const isEd = (alg: string) => alg === 'EdDSA' || alg === 'Ed25519';
