import type { JWK } from 'jose';
import { base64urlDecode } from './compact.js';

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

/** The table's entry for `alg`; never an inherited property such as `constructor`. */
export function jwsAlgorithm(alg: string): JwsAlgorithm | undefined {
  return Object.hasOwn(JWS_ALGORITHMS, alg) ? JWS_ALGORITHMS[alg] : undefined;
}

/** RSA moduli shorter than this are refused (RFC 7518 §3.3 requires 2048 bits). */
const MIN_RSA_BITS = 2048;
/**
 * Longer ones too: no CI issuer uses them, and each verify with a 16384-bit
 * key costs about a millisecond of the event loop.
 */
const MAX_RSA_BITS = 8192;
/** Public exponents above 64 bits are refused: verifying with one costs a private-key operation. */
const MAX_RSA_EXPONENT_BYTES = 8;

/** JWK members that only a private or secret key has (RFC 7518 §6.2.2, §6.3.2, §6.4). */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const;

/** Whether a published JWK carries private key material, which a key set must never do. */
export function hasPrivateMembers(jwk: JWK): boolean {
  return PRIVATE_MEMBERS.some((m) => (jwk as Record<string, unknown>)[m] !== undefined);
}

/** Whether `jwk` may verify a signature made with `alg`. */
export function keyFitsAlgorithm(jwk: JWK, alg: string): boolean {
  const spec = jwsAlgorithm(alg);
  if (!spec || jwk.kty !== spec.kty) return false;
  if (spec.crv !== undefined && jwk.crv !== spec.crv) return false;
  if (jwk.alg !== undefined && jwk.alg !== alg && !(isEd(jwk.alg) && isEd(alg))) return false;
  if (jwk.use !== undefined && jwk.use !== 'sig') return false;
  if (jwk.key_ops !== undefined && !(Array.isArray(jwk.key_ops) && jwk.key_ops.includes('verify')))
    return false;
  if (hasPrivateMembers(jwk)) return false;
  if (spec.kty === 'RSA' && !usableRsaKey(jwk)) return false;
  return true;
}

const isEd = (alg: string) => alg === 'EdDSA' || alg === 'Ed25519';

const rsaChecked = new WeakMap<JWK, boolean>();

/**
 * An RSA public key's real size and exponent, measured on the decoded
 * integers: leading zero bytes in `n` add length, not bits. The exponent must
 * be odd and above 1 (with e = 1 a "signature" is the padded digest itself,
 * which anyone can compute).
 */
function usableRsaKey(jwk: JWK): boolean {
  let ok = rsaChecked.get(jwk);
  if (ok === undefined) {
    const n = unsignedInteger(jwk.n);
    const e = unsignedInteger(jwk.e);
    ok =
      n !== undefined &&
      e !== undefined &&
      bitLength(n) >= MIN_RSA_BITS &&
      bitLength(n) <= MAX_RSA_BITS &&
      e.length <= MAX_RSA_EXPONENT_BYTES &&
      e.at(-1)! % 2 === 1 &&
      !(e.length === 1 && e[0] === 1);
    rsaChecked.set(jwk, ok);
  }
  return ok;
}

/**
 * Whether `signature` has the one length `alg` allows with `jwk`: fixed for
 * ECDSA and EdDSA, the modulus's byte length for RSA (RFC 8017 §8.1.2 and
 * §8.2.2, step 1). OpenSSL, and so both backends on Node, also accepts an RSA
 * signature with a leading zero byte left out: the same signature spelled
 * differently, which would make the same token verify under two spellings.
 */
export function signatureFits(alg: string, jwk: JWK, signature: Uint8Array): boolean {
  const spec = jwsAlgorithm(alg);
  if (!spec) return false;
  if (spec.signatureBytes !== undefined) return signature.length === spec.signatureBytes;
  if (jwk.kty !== 'RSA') return false;
  return signature.length === unsignedInteger(jwk.n)?.length;
}

/** A Base64urlUInt (RFC 7518 §2) without its leading zero bytes; undefined if not canonical base64url or zero. */
function unsignedInteger(value: unknown): Uint8Array | undefined {
  if (typeof value !== 'string') return undefined;
  let bytes: Uint8Array;
  try {
    bytes = base64urlDecode(value);
  } catch {
    return undefined;
  }
  const first = bytes.findIndex((b) => b !== 0);
  return first === -1 ? undefined : bytes.subarray(first);
}

const bitLength = (bytes: Uint8Array) => (bytes.length - 1) * 8 + (32 - Math.clz32(bytes[0]!));
