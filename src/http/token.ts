import type { Context } from 'hono';
import type { AppDeps } from '../deps.js';
import { readTokenRequest } from '../exchange/request.js';
import { TOKEN_TYPE } from '../protocol/oauth.js';
import { readParams } from './params.js';
import { noStore, requestInfo } from './respond.js';

/** POST /token and POST /oauth/token: read the request, run its grant, answer RFC 8693. */
export function tokenHandler(deps: AppDeps) {
  return async function token(c: Context): Promise<Response> {
    const request = requestInfo(c, deps);
    await deps.rateLimits?.client(request.clientAddress);
    const { grant, input } = readTokenRequest(await readParams(c), deps.config.tokens.audience);
    const minted = await deps.exchange.run(grant, input, request);
    return noStore(c, {
      access_token: minted.token,
      issued_token_type: TOKEN_TYPE.accessToken,
      token_type: 'Bearer',
      expires_in: minted.expiresIn,
      scope: minted.scopes.join(' '),
    });
  };
}
