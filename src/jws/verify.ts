import type { JWK } from 'jose';
import type { JwsAlgorithm } from './algorithms.js';
import type { CryptoBackend } from './backend.js';
import type { ParsedJws } from './compact.js';

/*
 * What the two JWT verifiers share, CI tokens' (oidc/verify.ts) and the
 * broker's own (tokens/verify.ts): the signature check on the injected
 * primitive, NumericDate claims, and the steps `tokenbroker explain` prints.
 * Each verifier keeps its own rules and its own words for a refusal.
 */

/** One step of verification, for `tokenbroker explain`. */
export interface CheckStep {
  check: string;
  ok: boolean;
  detail: string;
}

/** Reports a check that passed: a no-op unless someone asked for the steps. */
export type PassStep = (check: string, detail: string) => void;

/**
 * Runs `verify`, recording in `steps` (when given) each check it reports as
 * passed and, when it throws, the failed check named by `failedCheck` with
 * the refusal's public message.
 */
export async function recordSteps<T>(
  steps: CheckStep[] | undefined,
  verify: (pass: PassStep) => Promise<T>,
  failedCheck: (e: unknown) => { check: string; detail: string } | undefined,
): Promise<T> {
  try {
    return await verify((check, detail) => steps?.push({ check, ok: true, detail }));
  } catch (e) {
    const failed = failedCheck(e);
    if (failed) steps?.push({ ...failed, ok: false });
    throw e;
  }
}

/**
 * Whether the signature verifies under `alg` with one of `keys`, which the
 * caller chose to fit `alg` (keyFitsAlgorithm). A signature of the wrong
 * length for an algorithm that fixes it is refused before any key is tried.
 */
export async function signatureVerifies(
  crypto: CryptoBackend,
  jws: ParsedJws,
  alg: string,
  spec: JwsAlgorithm,
  keys: readonly JWK[],
): Promise<boolean> {
  if (spec.signatureBytes !== undefined && jws.signature.length !== spec.signatureBytes)
    return false;
  for (const jwk of keys) {
    if (await crypto.verify(alg, jwk, jws.signingInput, jws.signature)) return true;
  }
  return false;
}

/**
 * A NumericDate claim (RFC 7519 §2): undefined when absent, null when present
 * but not a finite number of seconds (`1e400` parses to Infinity, which would
 * make a token that never expires).
 */
export function numericDate(
  claims: Record<string, unknown>,
  claim: string,
): number | undefined | null {
  const value = claims[claim];
  if (value === undefined) return undefined;
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}
