import type { Context } from 'hono';
import type { AppDeps } from '../deps.js';
import { isBrokerError } from '../shared/errors.js';
import { verifyOwnToken } from '../tokens/verify.js';
import { authenticateResourceServer } from './client-auth.js';
import { readParams } from './params.js';
import { required } from '../protocol/oauth.js';
import { noStore } from './respond.js';

/** POST /introspect (RFC 7662). Any token that is not ours and alive is `{"active": false}`. */
export function introspectHandler(deps: AppDeps) {
  return async function introspect(c: Context): Promise<Response> {
    await authenticateResourceServer(c, deps.config.resourceServers, {
      address: deps.clientAddress?.(c) ?? null,
      limits: deps.rateLimits,
      logger: deps.logger,
    });
    const token = required(await readParams(c), 'token');
    try {
      const { payload } = await verifyOwnToken(token, deps);
      return noStore(c, { active: true, token_type: 'Bearer', ...payload });
    } catch (e) {
      if (isBrokerError(e) && e.status < 500) return noStore(c, { active: false });
      throw e;
    }
  };
}
