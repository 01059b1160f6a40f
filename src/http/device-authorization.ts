import type { Context } from 'hono';
import type { AppDeps } from '../deps.js';
import { readDeviceRequest } from '../exchange/device-flow.js';
import { BrokerError } from '../shared/errors.js';
import { readParams } from './params.js';
import { noStore, requestInfo } from './respond.js';

/**
 * POST /device_authorization (RFC 8628 section 3.1): a public client, no
 * secret; `scope`, `ttl` and `client_id` are optional. The scopes are checked
 * for syntax only: whether they are granted is for the person who approves,
 * and telling an anonymous caller which scopes exist would be policy content.
 * Limited per client address like /token; each request stores one row,
 * pruned when it expires.
 */
export function deviceAuthorizationHandler(deps: AppDeps) {
  return async function deviceAuthorization(c: Context): Promise<Response> {
    const request = requestInfo(c, deps);
    await deps.rateLimits?.client(request.clientAddress);
    const params = await readParams(c);
    if (!deps.browser) {
      throw new BrokerError(
        'not_found',
        'this broker has no browser login to approve device codes with: use the token exchange, or ask the operator to add sso.saml to its config (see Browser SSO in the README)',
      );
    }
    return noStore(c, await deps.device.start(readDeviceRequest(params), request));
  };
}
