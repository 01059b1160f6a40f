import type { Context } from 'hono';
import { BrokerError, isBrokerError } from '../errors.js';
import { nowSeconds } from '../clock.js';
import { downscope } from '../exchange/downscope.js';
import { ciExchange } from '../exchange/ci.js';
import type { ExchangeContext } from '../exchange/context.js';
import { GRANT_TOKEN_EXCHANGE, TOKEN_TYPE, parseExchangeRequest } from '../exchange/request.js';
import { sha256Hex } from '../tokens/crypto.js';
import type { AppDeps } from '../app.js';
import { readParams } from './params.js';
import { noStore, requestInfo } from './respond.js';

/** POST /token and POST /oauth/token. */
export function tokenHandler(deps: AppDeps) {
  return async function token(c: Context): Promise<Response> {
    const request = requestInfo(c, deps);
    await deps.rateLimits?.client(request.clientAddress);
    const params = await readParams(c);
    const grantType = params.grant_type;
    if (!grantType) throw new BrokerError('invalid_request', 'parameter grant_type is required');
    if (grantType !== GRANT_TOKEN_EXCHANGE) {
      throw new BrokerError(
        'unsupported_grant_type',
        `grant_type ${grantType} is not supported: use ${GRANT_TOKEN_EXCHANGE}`,
      );
    }
    const ctx: ExchangeContext = { ...deps, request, auditFields: {} };
    const req = parseExchangeRequest(params, deps.config.tokens.audience);
    try {
      const minted =
        req.subjectTokenType === TOKEN_TYPE.accessToken
          ? await downscope(req, ctx)
          : await ciExchange(req, ctx);
      return noStore(c, {
        access_token: minted.token,
        issued_token_type: TOKEN_TYPE.accessToken,
        token_type: 'Bearer',
        expires_in: minted.expiresIn,
        scope: minted.scopes.join(' '),
      });
    } catch (e) {
      if (isBrokerError(e) && e.status < 500 && e.code !== 'rate_limited') {
        await deps.store.appendAudit({
          time: nowSeconds(deps.clock),
          event: 'token.denied',
          outcome: 'denied',
          subject: ctx.auditFields.subject ?? null,
          source:
            ctx.auditFields.source ??
            (req.subjectTokenType === TOKEN_TYPE.accessToken ? 'exchange' : 'ci'),
          policy: ctx.auditFields.policy ?? null,
          scopes: req.scopes ?? null,
          reason: `${e.code}: ${e.message}`,
          clientAddress: ctx.request.clientAddress,
          userAgent: ctx.request.userAgent,
          tokenSha256: await sha256Hex(req.subjectToken),
          detail: { ...ctx.auditFields.detail, ...e.detail },
        });
      }
      throw e;
    }
  };
}
