import { BrokerError } from '../shared/errors.js';
import { parseDuration } from '../protocol/duration.js';
import { parseScopeParam } from '../protocol/scope.js';
import {
  GRANT_DEVICE_CODE,
  GRANT_TOKEN_EXCHANGE,
  TOKEN_TYPE,
  required,
  type Params,
  type TokenType,
} from '../protocol/oauth.js';
import { showText } from '../shared/show.js';
import type { Asked, Grant, GrantInput } from './grant.js';
import { ciGrant } from './grants/ci.js';
import { deviceGrant, type DeviceCodeInput } from './grants/device.js';
import { narrowGrant } from './grants/narrow.js';

/** An RFC 8693 request, checked for shape; the subject token is verified by its grant. */
export interface TokenExchangeInput extends GrantInput {
  subjectToken: string;
  subjectTokenType: TokenType;
}

/** A grant with the input read for it; each entry of the registry pairs them. */
export interface TokenRequest<In extends GrantInput = GrantInput> {
  grant: Grant<In>;
  input: In;
}

const BY_SUBJECT_TOKEN_TYPE = {
  [TOKEN_TYPE.idToken]: ciGrant,
  [TOKEN_TYPE.jwt]: ciGrant,
  [TOKEN_TYPE.accessToken]: narrowGrant,
} satisfies Record<TokenType, Grant<TokenExchangeInput>>;

/**
 * The grants of the token endpoint, by grant_type (and, for a token exchange,
 * by the type of the subject token presented). A new grant is one entry here
 * and one module in grants/; the exchange runs them all the same way.
 */
const TOKEN_ENDPOINT: Record<string, (params: Params, audience: string) => TokenRequest> = {
  [GRANT_TOKEN_EXCHANGE]: (params, audience) => {
    const input = readTokenExchange(params, audience);
    return { grant: BY_SUBJECT_TOKEN_TYPE[input.subjectTokenType], input };
  },
  [GRANT_DEVICE_CODE]: (params) => ({ grant: deviceGrant, input: readDeviceCode(params) }),
};

/**
 * Which grant a token endpoint request asks for, and its input read from the
 * parameters. A request of the wrong shape is refused here, before any grant
 * runs: it proved nothing and asked for nothing readable, so it is not audited.
 */
export function readTokenRequest(params: Params, audience: string): TokenRequest {
  const grantType = params.grant_type;
  if (!grantType) throw new BrokerError('invalid_request', 'parameter grant_type is required');
  if (!Object.hasOwn(TOKEN_ENDPOINT, grantType)) {
    throw new BrokerError(
      'unsupported_grant_type',
      `grant_type ${showText(grantType)} is not supported: use ${GRANT_TOKEN_EXCHANGE} (RFC 8693), or ${GRANT_DEVICE_CODE} (RFC 8628) with a device_code from /device_authorization`,
    );
  }
  return TOKEN_ENDPOINT[grantType]!(params, audience);
}

/** RFC 8628 section 3.4: the device code and, if the device sent one at the start, its client_id. */
function readDeviceCode(params: Params): DeviceCodeInput {
  return {
    subjectToken: required(params, 'device_code'),
    clientId: params.client_id || undefined,
    // The device asks nothing here: the approved request carries the scopes and lifetime.
    asked: { scopes: undefined, resource: undefined, ttlSeconds: undefined },
  };
}

function readTokenExchange(params: Params, audience: string): TokenExchangeInput {
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
    subjectTokenType: type as TokenType,
    asked: readAsked(params),
  };
}

/** `scope`, `resource` and `ttl`, as every grant reads them. */
export function readAsked(params: Partial<Params>): Asked {
  return {
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
