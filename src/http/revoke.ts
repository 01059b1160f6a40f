import type { Context } from 'hono';
import type { AppDeps } from '../app.js';
import { nowSeconds } from '../clock.js';
import { isBrokerError } from '../errors.js';
import { verifyOwnToken } from '../tokens/verify.js';
import { readParams } from './params.js';
import { requestInfo } from './respond.js';

/**
 * POST /revoke (RFC 7009). The token is its own credential. The answer is 200
 * whether or not the token was valid, so the endpoint is no oracle.
 */
export function revokeHandler(deps: AppDeps) {
  return async function revoke(c: Context): Promise<Response> {
    const token = (await readParams(c)).token;
    try {
      // The spec answers 200 whatever was sent; without a token there is nothing to do.
      if (!token) return done(c);
      const { row } = await verifyOwnToken(token, deps);
      const now = nowSeconds(deps.clock);
      await deps.store.revokeToken(row.jti, now, {
        time: now,
        event: 'token.revoked',
        outcome: 'success',
        subject: row.subject,
        source: 'revoke',
        scopes: row.scopes,
        reason: 'revoked by its holder at /revoke',
        tokenSha256: row.tokenSha256, // recorded at issue: no need to hash the token again
        jti: row.jti,
        ...requestInfo(c, deps),
      });
    } catch (e) {
      if (!isBrokerError(e) || e.status >= 500) throw e;
    }
    return done(c);
  };
}

function done(c: Context): Response {
  c.header('Cache-Control', 'no-store');
  return c.body(null, 200);
}
