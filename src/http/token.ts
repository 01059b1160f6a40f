import type { Context } from 'hono';
import { BrokerError, isBrokerError } from '../errors.js';
import { nowSeconds } from '../clock.js';
import { downscope } from '../exchange/downscope.js';
import { ciExchange } from '../exchange/ci.js';
import type { ExchangeContext } from '../exchange/context.js';
import {
  GRANT_TOKEN_EXCHANGE,
  TOKEN_TYPE,
  parseExchangeRequest,
  type ExchangeRequest,
} from '../exchange/request.js';
import type { AuditEvent } from '../store/types.js';
import { showText } from '../text/show.js';
import { sha256Hex } from '../tokens/crypto.js';
import type { AppDeps } from '../deps.js';
import { DENIAL_BUDGET, RepeatedDenials, boundDenial } from '../exchange/denial-audit.js';
import { readParams } from './params.js';
import { noStore, requestInfo } from './respond.js';

/** POST /token and POST /oauth/token. */
export function tokenHandler(deps: AppDeps) {
  const repeats = new RepeatedDenials();
  return async function token(c: Context): Promise<Response> {
    const request = requestInfo(c, deps);
    await deps.rateLimits?.client(request.clientAddress);
    const params = await readParams(c);
    const grantType = params.grant_type;
    if (!grantType) throw new BrokerError('invalid_request', 'parameter grant_type is required');
    if (grantType !== GRANT_TOKEN_EXCHANGE) {
      throw new BrokerError(
        'unsupported_grant_type',
        `grant_type ${showText(grantType)} is not supported: use ${GRANT_TOKEN_EXCHANGE}`,
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
        await deps.store.appendAudit(await denialRow(deps, ctx, req, e, repeats));
      }
      throw e;
    }
  };
}

/**
 * The `token.denied` row, bounded: about 1 KiB for a request that proved
 * nothing, a few KiB of per-policy detail for a validly signed token, and a
 * small counted row for each repeat of an identical refusal.
 */
async function denialRow(
  deps: AppDeps,
  ctx: ExchangeContext,
  req: ExchangeRequest,
  e: BrokerError,
  repeats: RepeatedDenials,
): Promise<AuditEvent> {
  const time = nowSeconds(deps.clock);
  const tokenSha256 = await sha256Hex(req.subjectToken);
  const reason = `${e.code}: ${e.message}`;
  const row: AuditEvent = {
    time,
    event: 'token.denied',
    outcome: 'denied',
    subject: ctx.auditFields.subject ?? null,
    source:
      ctx.auditFields.source ??
      (req.subjectTokenType === TOKEN_TYPE.accessToken ? 'exchange' : 'ci'),
    policy: ctx.auditFields.policy ?? null,
    scopes: req.scopes ?? null,
    reason,
    clientAddress: ctx.request.clientAddress,
    userAgent: ctx.request.userAgent,
    tokenSha256,
    detail: { ...ctx.auditFields.detail, ...e.detail },
  };
  const key = await sha256Hex(`${tokenSha256}\n${reason}\n${(req.scopes ?? []).join(' ')}`);
  const repeat = repeats.note(key, time);
  if (repeat) {
    return boundDenial(
      {
        ...row,
        scopes: req.scopes ? [`…[${req.scopes.length} scopes, as in the first]`] : null,
        detail: { repeat: repeat.count, first_time: repeat.first },
      },
      DENIAL_BUDGET.anonymous,
    );
  }
  return boundDenial(row, row.subject ? DENIAL_BUDGET.signed : DENIAL_BUDGET.anonymous);
}
