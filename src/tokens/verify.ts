import { errors, jwtVerify, type JWTPayload } from 'jose';
import type { Clock } from '../shared/clock.js';
import { nowSeconds } from '../shared/clock.js';
import { BrokerError } from '../shared/errors.js';
import type { IssuedToken, Store } from '../store/types.js';
import { formatDuration } from '../protocol/duration.js';
import { parseCompactJws } from '../jws/compact.js';
import type { KeyRing } from './keys.js';
import type { Config } from '../config/compile.js';

export interface OwnToken {
  payload: JWTPayload & { scope?: string; client_id?: string };
  row: IssuedToken;
}

/** The largest token /introspect, /revoke and narrowing read; the Minter signs none larger. */
export const MAX_TOKEN_BYTES = 16 * 1024;

const NOT_A_JWT =
  'token is not a valid signed JWT: send the access_token this broker issued, unchanged';

/**
 * Verifies a token this broker issued: signature by one of our keys, `typ`
 * at+jwt, our issuer and audience, not expired, recorded, not revoked.
 * Throws a BrokerError whose message says what is wrong.
 */
export async function verifyOwnToken(
  token: string,
  deps: { keys: KeyRing; store: Store; clock: Clock; config: Pick<Config, 'issuer' | 'tokens'> },
): Promise<OwnToken> {
  if (token.length > MAX_TOKEN_BYTES) {
    throw new BrokerError(
      'token_too_large',
      'token is larger than 16 KiB: it is not a tokenbroker token',
    );
  }
  // jose's decoder reads padding, whitespace and non-zero unused bits as the
  // same bytes: each such re-spelling has its own SHA-256, so a denylist or
  // cache keyed on the token would miss it. One token, one spelling.
  try {
    parseCompactJws(token);
  } catch {
    throw new BrokerError('token_invalid', NOT_A_JWT);
  }
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(
      token,
      async (header) => {
        const key = header.kid ? await deps.keys.verifyingKey(header.kid) : undefined;
        if (!key)
          throw new BrokerError(
            'token_invalid',
            'token was not signed by a key of this broker: send a token this broker issued',
          );
        return key;
      },
      {
        issuer: deps.config.issuer,
        audience: deps.config.tokens.audience,
        typ: 'at+jwt',
        algorithms: ['ES256', 'EdDSA', 'RS256'],
        currentDate: new Date(deps.clock.now()),
        requiredClaims: ['jti', 'sub', 'exp'],
        clockTolerance: 0,
      },
    ));
  } catch (e) {
    throw describeJoseError(e, deps.clock);
  }
  const row = await deps.store.getToken(payload.jti!);
  if (!row)
    throw new BrokerError(
      'token_invalid',
      'token is not known to this broker (or has been pruned): get a new one',
    );
  if (row.revokedAt !== null) {
    throw new BrokerError('token_revoked', 'token has been revoked: get a new one');
  }
  return { payload, row };
}

export function describeJoseError(e: unknown, clock: Clock): BrokerError {
  if (e instanceof BrokerError) return e;
  if (e instanceof errors.JWTExpired) {
    const exp = (e.payload as JWTPayload).exp ?? 0;
    return new BrokerError(
      'token_expired',
      `token expired ${formatDuration(nowSeconds(clock) - exp)} ago: get a new one`,
    );
  }
  if (e instanceof errors.JWTClaimValidationFailed) {
    return new BrokerError(
      'token_invalid',
      `token claim ${e.claim} is not acceptable (${e.reason}): ${e.message}; get a new token from this broker`,
    );
  }
  if (e instanceof errors.JOSEAlgNotAllowed) {
    return new BrokerError(
      'token_invalid',
      'token is signed with an algorithm this broker does not accept: send the access_token this broker issued, unchanged',
    );
  }
  if (e instanceof errors.JWSSignatureVerificationFailed) {
    return new BrokerError(
      'token_invalid',
      'token signature does not verify: it was altered, or not issued by this broker',
    );
  }
  return new BrokerError('token_invalid', NOT_A_JWT);
}
