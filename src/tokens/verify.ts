import type { JWTPayload } from 'jose';
import type { Clock } from '../shared/clock.js';
import { nowSeconds } from '../shared/clock.js';
import type { Config, SigningAlgorithm } from '../config/compile.js';
import { formatDuration } from '../protocol/duration.js';
import { BrokerError, type ErrorCode } from '../shared/errors.js';
import { jwsAlgorithm, keyFitsAlgorithm } from '../jws/algorithms.js';
import type { CryptoBackend } from '../jws/backend.js';
import { parseCompactJws, type ParsedJws } from '../jws/compact.js';
import { showJson } from '../shared/show.js';
import {
  numericDate,
  recordSteps,
  signatureVerifies,
  type CheckStep,
  type PassStep,
} from '../jws/verify.js';
import type { IssuedToken, Store } from '../store/types.js';
import type { SigningKeys } from './keys.js';

export interface OwnToken {
  payload: JWTPayload & { scope?: string; client_id?: string };
  row: IssuedToken;
}

/** The largest token /introspect, /revoke and narrowing read; the Minter signs none larger. */
export const MAX_TOKEN_BYTES = 16 * 1024;

/**
 * The checks a token of ours must pass. A refusal names the one that failed
 * in `BrokerError.detail.check`, for the audit row and `tokenbroker explain`;
 * callers and tests switch on it, not on the message.
 */
export const OWN_TOKEN_CHECKS = [
  'size', // over 16 KiB (token_too_large)
  'syntax', // not one spelling of a compact JWS: three canonical base64url segments, JSON objects
  'crit', // the header marks extensions critical, and we implement none
  'alg', // missing, not an algorithm our keys are made for, or not the one of the key `kid` names
  'kid', // names none of our keys, current or retired (a pruned key's tokens fail here)
  'signature', // does not verify with that key
  'typ', // not at+jwt
  'iss', // missing, or not our issuer
  'aud', // missing, or does not name tokens.audience
  'iat', // not a number
  'nbf', // not a number, or in the future
  'exp', // missing, not a number, or past (token_expired; no tolerance)
  'claims', // sub or jti missing, or sub not a non-empty string
  'recorded', // jti names no token in the store: never issued, or pruned
  'revoked', // revoked, itself or a token it was narrowed from (token_revoked)
] as const;
export type OwnTokenCheck = (typeof OWN_TOKEN_CHECKS)[number];

/** The check a refusal of verifyOwnToken names; undefined for any other error. */
export function ownTokenCheck(e: unknown): OwnTokenCheck | undefined {
  const check = e instanceof BrokerError ? e.detail?.check : undefined;
  return OWN_TOKEN_CHECKS.find((c) => c === check);
}

/** The algorithms our keys are made for (tokens.algorithm); never an HMAC, never `none`. */
const OUR_ALGORITHMS: readonly string[] = ['ES256', 'EdDSA', 'RS256'] satisfies SigningAlgorithm[];

const NOT_A_JWT =
  'token is not a valid signed JWT: send the access_token this broker issued, unchanged';

export interface OwnTokenDeps {
  keys: Pick<SigningKeys, 'verifyingJwk'>;
  store: Pick<Store, 'getToken'>;
  clock: Clock;
  config: Pick<Config, 'issuer' | 'tokens'>;
  crypto: CryptoBackend;
}

/**
 * Verifies a token this broker issued: one spelling, signature by one of our
 * keys, `typ` at+jwt, our issuer and audience, not expired (no tolerance: we
 * set both clocks), recorded, not revoked. The rules are those jose applied
 * before this verifier replaced it, with its messages; the signature is
 * checked by the injected primitive, as CI tokens are. Throws a BrokerError
 * whose message says what is wrong and whose `detail.check` names the check.
 * `steps`, when given, receives each check passed and the one that failed.
 */
export function verifyOwnToken(
  token: string,
  deps: OwnTokenDeps,
  steps?: CheckStep[],
): Promise<OwnToken> {
  return recordSteps(
    steps,
    (pass) => verify(token, deps, pass),
    (e) => {
      const check = ownTokenCheck(e);
      return check && { check, detail: (e as BrokerError).message };
    },
  );
}

function refuse(check: OwnTokenCheck, message: string, code: ErrorCode = 'token_invalid') {
  return new BrokerError(code, message, { detail: { check } });
}

/** A claim that is not acceptable, in the words jose used for it. */
function badClaim(check: OwnTokenCheck, claim: string, reason: string, what: string) {
  return refuse(
    check,
    `token claim ${claim} is not acceptable (${reason}): ${what}; get a new token from this broker`,
  );
}

async function verify(token: string, deps: OwnTokenDeps, pass: PassStep): Promise<OwnToken> {
  if (token.length > MAX_TOKEN_BYTES) {
    throw refuse(
      'size',
      'token is larger than 16 KiB: it is not a tokenbroker token',
      'token_too_large',
    );
  }
  pass('size', `${token.length} bytes, within 16 KiB`);
  // A lenient decoder reads padding, whitespace and non-zero unused bits as
  // the same bytes: each such re-spelling has its own SHA-256, so a denylist
  // or cache keyed on the token would miss it. One token, one spelling.
  let jws: ParsedJws;
  try {
    jws = parseCompactJws(token);
  } catch {
    throw refuse('syntax', NOT_A_JWT);
  }
  pass('syntax', 'a compact JWS in canonical base64url, its header and claims JSON objects');
  const { header, payload: claims } = jws;
  // RFC 7515 §4.1.11: extensions we do not understand must be refused, and we understand none.
  if (header.crit !== undefined) throw refuse('crit', NOT_A_JWT);
  const { alg, kid } = header;
  if (typeof alg !== 'string' || alg === '') throw refuse('alg', NOT_A_JWT);
  const spec = OUR_ALGORITHMS.includes(alg) ? jwsAlgorithm(alg) : undefined;
  if (!spec) {
    throw refuse(
      'alg',
      'token is signed with an algorithm this broker does not accept: send the access_token this broker issued, unchanged',
    );
  }
  const jwk = typeof kid === 'string' ? await deps.keys.verifyingJwk(kid) : undefined;
  if (!jwk) {
    throw refuse(
      'kid',
      'token was not signed by a key of this broker: send a token this broker issued',
    );
  }
  if (!keyFitsAlgorithm(jwk, alg)) throw refuse('alg', NOT_A_JWT);
  pass('alg', `${alg}, and key ${kid as string} is ours, made for it`);
  if (!(await signatureVerifies(deps.crypto, jws, alg, spec, [jwk]))) {
    throw refuse(
      'signature',
      'token signature does not verify: it was altered, or not issued by this broker',
    );
  }
  pass('signature', `verifies with key ${kid as string}`);
  checkClaims(header, claims, deps, pass);

  const jti = claims.jti;
  // A jti that is no string names no token we recorded.
  const row = typeof jti === 'string' ? await deps.store.getToken(jti) : undefined;
  if (!row) {
    throw refuse(
      'recorded',
      'token is not known to this broker (or has been pruned): get a new one',
    );
  }
  pass('recorded', `issued to ${row.subject} with scope ${row.scopes.join(' ')}`);
  if (row.revokedAt !== null) {
    throw refuse('revoked', 'token has been revoked: get a new one', 'token_revoked');
  }
  pass('revoked', 'not revoked');
  return { payload: claims as OwnToken['payload'], row };
}

/** The header's `typ` and the claims, in the order and words of jose's jwtVerify. */
function checkClaims(
  header: Record<string, unknown>,
  claims: Record<string, unknown>,
  deps: OwnTokenDeps,
  pass: PassStep,
): void {
  // RFC 7515 §4.1.9: the media type may omit "application/", and is case-insensitive.
  const typ = typeof header.typ === 'string' ? header.typ.toLowerCase() : undefined;
  if (typ !== 'at+jwt' && typ !== 'application/at+jwt')
    throw badClaim('typ', 'typ', 'check_failed', 'unexpected "typ" JWT header value');
  pass('typ', showJson(header.typ));

  for (const [claim, check] of [
    ['iss', 'iss'],
    ['aud', 'aud'],
    ['exp', 'exp'],
    ['sub', 'claims'],
    ['jti', 'claims'],
  ] as const) {
    if (!Object.hasOwn(claims, claim))
      throw badClaim(check, claim, 'missing', `missing required "${claim}" claim`);
  }
  const { issuer, tokens } = deps.config;
  if (claims.iss !== issuer)
    throw badClaim('iss', 'iss', 'check_failed', 'unexpected "iss" claim value');
  pass('iss', `${issuer}, this broker`);
  const aud = claims.aud;
  if (!(aud === tokens.audience || (Array.isArray(aud) && aud.includes(tokens.audience))))
    throw badClaim('aud', 'aud', 'check_failed', 'unexpected "aud" claim value');
  pass('aud', `names ${tokens.audience}`);

  const now = nowSeconds(deps.clock);
  const iat = numericDate(claims, 'iat');
  if (iat === null) throw badClaim('iat', 'iat', 'invalid', '"iat" claim must be a number');
  if (iat !== undefined) pass('iat', `issued at ${isoSeconds(iat)}`);
  const nbf = numericDate(claims, 'nbf');
  if (nbf === null) throw badClaim('nbf', 'nbf', 'invalid', '"nbf" claim must be a number');
  if (nbf !== undefined && nbf > now)
    throw badClaim('nbf', 'nbf', 'check_failed', '"nbf" claim timestamp check failed');
  if (nbf !== undefined) pass('nbf', `valid since ${isoSeconds(nbf)}`);
  const exp = numericDate(claims, 'exp'); // present: checked above
  if (typeof exp !== 'number')
    throw badClaim('exp', 'exp', 'invalid', '"exp" claim must be a number');
  if (exp <= now) {
    throw refuse(
      'exp',
      `token expired ${formatDuration(now - exp)} ago: get a new one`,
      'token_expired',
    );
  }
  pass('exp', `expires in ${formatDuration(exp - now)}`);

  // jose only asked for sub to be present; the Minter always writes a string.
  if (typeof claims.sub !== 'string' || claims.sub === '')
    throw badClaim('claims', 'sub', 'invalid', '"sub" claim must be a non-empty string');
  pass('claims', `sub ${showJson(claims.sub)}, jti present`);
}

/** A NumericDate as UTC, or as the number when it is past what a Date holds. */
function isoSeconds(seconds: number): string {
  const date = new Date(seconds * 1000);
  return Number.isNaN(date.getTime()) ? String(seconds) : date.toISOString().replace('.000Z', 'Z');
}
