import { BrokerError } from '../shared/errors.js';

/*
 * The names of the OAuth protocol the broker speaks (RFC 6749, RFC 8693, RFC 8628),
 * shared by the server and by the client that ships inside the CI action.
 */

export const GRANT_TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
/** RFC 8628 section 3.4. */
export const GRANT_DEVICE_CODE = 'urn:ietf:params:oauth:grant-type:device_code';

export const TOKEN_TYPE = {
  accessToken: 'urn:ietf:params:oauth:token-type:access_token',
  idToken: 'urn:ietf:params:oauth:token-type:id_token',
  jwt: 'urn:ietf:params:oauth:token-type:jwt',
} as const;

export type TokenType = (typeof TOKEN_TYPE)[keyof typeof TOKEN_TYPE];

/** A token endpoint's parameters, each a string sent once (RFC 6749 section 3.2). */
export type Params = Record<string, string>;

export function required(params: Params, name: string): string {
  const v = params[name];
  if (v === undefined || v === '')
    throw new BrokerError('invalid_request', `parameter ${name} is required`);
  return v;
}
