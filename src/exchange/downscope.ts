import { nowSeconds } from '../clock.js';
import { BrokerError } from '../errors.js';
import { decideScopes } from '../policy/grants.js';
import type { MintedToken } from '../tokens/mint.js';
import { verifyOwnToken } from '../tokens/verify.js';
import type { ExchangeContext } from './context.js';
import { decideTtl, type ExchangeRequest } from './request.js';

/**
 * Narrows a tokenbroker token: the new token has the same subject, a subset
 * of the scopes, and never outlives the token it came from. Revoking the
 * parent revokes it too.
 */
export async function downscope(req: ExchangeRequest, ctx: ExchangeContext): Promise<MintedToken> {
  const { config } = ctx;
  const own = await verifyOwnToken(req.subjectToken, ctx);
  const remaining = own.row.expiresAt - nowSeconds(ctx.clock);
  if (remaining < 1) throw new BrokerError('token_expired', 'token has expired: get a new one');
  ctx.auditFields.subject = own.row.subject;
  await ctx.rateLimits?.subject(own.row.subject);
  const decision = decideScopes(
    [{ source: 'token', scopes: own.row.scopes, maxTtl: remaining }],
    req,
  );
  const ttl = decideTtl(req.ttlSeconds, config.tokens, decision.maxTtl);
  const ci = (own.payload as { ci?: unknown }).ci;
  return ctx.minter.mint({
    subject: own.row.subject,
    scopes: decision.scopes,
    ttlSeconds: ttl,
    clientId: own.row.clientId,
    source: 'exchange',
    parentJti: own.row.jti,
    claims: ci === undefined ? undefined : { ci },
    audit: { ...ctx.request, source: 'exchange', detail: { parent_jti: own.row.jti } },
  });
}
