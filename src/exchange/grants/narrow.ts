import { nowSeconds } from '../../shared/clock.js';
import { BrokerError } from '../../shared/errors.js';
import type { IssuedToken } from '../../store/types.js';
import { verifyOwnToken } from '../../tokens/verify.js';
import type { Grant, GrantInput, Verified } from '../grant.js';

interface Narrowing extends Verified {
  parent: IssuedToken;
  /** Seconds the parent has left: the new token never outlives it. */
  remaining: number;
}

/**
 * Narrows a tokenbroker token: the new token has the same subject, a subset
 * of the scopes, and never outlives the token it came from. Revoking the
 * parent revokes it too.
 */
export const narrowGrant: Grant<GrantInput & { subjectToken: string }, Narrowing> = {
  source: 'exchange',
  names: 'parent',

  async verify(input, deps) {
    const own = await verifyOwnToken(input.subjectToken, deps);
    const remaining = own.row.expiresAt - nowSeconds(deps.clock);
    if (remaining < 1) throw new BrokerError('token_expired', 'token has expired: get a new one');
    const ci = (own.payload as { ci?: unknown }).ci;
    return {
      subject: own.row.subject,
      clientId: own.row.clientId,
      detail: { parent_jti: own.row.jti },
      tokenClaims: ci === undefined ? undefined : { ci },
      parentJti: own.row.jti,
      parent: own.row,
      remaining,
    };
  },

  entitle({ parent, remaining }) {
    return [{ source: 'token', scopes: parent.scopes, maxTtl: remaining }];
  },
};
