import { BrokerError } from '../errors.js';
import { parseDuration } from '../config/duration.js';
import { parseScopeParam } from '../policy/scope.js';
import { showText } from '../text/show.js';
import type { Params } from '../http/params.js';
import { required } from '../http/params.js';

export const GRANT_TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
export const TOKEN_TYPE = {
  accessToken: 'urn:ietf:params:oauth:token-type:access_token',
  idToken: 'urn:ietf:params:oauth:token-type:id_token',
  jwt: 'urn:ietf:params:oauth:token-type:jwt',
} as const;

/** An RFC 8693 request, checked for shape; the tokens are verified later. */
export interface ExchangeRequest {
  subjectToken: string;
  subjectTokenType: (typeof TOKEN_TYPE)[keyof typeof TOKEN_TYPE];
  scopes: string[] | undefined;
  resource: string | undefined;
  ttlSeconds: number | undefined;
}

export function parseExchangeRequest(params: Params, audience: string): ExchangeRequest {
  const subjectToken = required(params, 'subject_token');
  const type = required(params, 'subject_token_type');
  if (!(Object.values(TOKEN_TYPE) as string[]).includes(type)) {
    throw new BrokerError(
      'unsupported_token_type',
      `subject_token_type ${showText(type)} is not supported: use ${TOKEN_TYPE.idToken} or ${TOKEN_TYPE.jwt} for a CI token, ${TOKEN_TYPE.accessToken} to narrow a tokenbroker token`,
    );
  }
  const requested = params.requested_token_type;
  if (requested !== undefined && requested !== TOKEN_TYPE.accessToken) {
    throw new BrokerError(
      'invalid_request',
      `requested_token_type ${showText(requested)} is not issued here: omit it or ask for ${TOKEN_TYPE.accessToken}`,
    );
  }
  if (params.actor_token !== undefined) {
    throw new BrokerError('invalid_request', 'actor_token (delegation) is not supported: omit it');
  }
  // RFC 8693 `audience` names the target service; we issue for one workspace only.
  if (params.audience !== undefined && params.audience !== audience) {
    throw new BrokerError(
      'invalid_target',
      `audience ${showText(params.audience)} is not served here: this broker issues tokens for ${audience}`,
    );
  }
  return {
    subjectToken,
    subjectTokenType: type as ExchangeRequest['subjectTokenType'],
    scopes: parseScopeParam(params.scope),
    resource: params.resource || undefined,
    ttlSeconds: parseTtl(params.ttl),
  };
}

export function parseTtl(ttl: string | undefined): number | undefined {
  if (ttl === undefined || ttl === '') return undefined;
  const s = parseDuration(ttl);
  if (s === undefined || s < 1) {
    throw new BrokerError(
      'invalid_request',
      `ttl ${JSON.stringify(ttl)} is not a lifetime: give seconds (900) or a duration (15m, 1h)`,
    );
  }
  return s;
}

/** TTL = min(requested or the default, the granting policies' or roles' cap, the global max). */
export function decideTtl(
  requested: number | undefined,
  tokens: { defaultTtl: number; maxTtl: number },
  grantMax: number | undefined,
): number {
  return Math.min(requested ?? tokens.defaultTtl, tokens.maxTtl, grantMax ?? Infinity);
}
