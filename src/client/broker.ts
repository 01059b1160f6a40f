import { GRANT_TOKEN_EXCHANGE, TOKEN_TYPE } from '../protocol/oauth.js';
import { ClientError } from './errors.js';
import { jsonObject, send, withRetry, type HttpDeps } from './http.js';
import { formPost, refusal, tokenResult, type TokenResult } from './oauth-answer.js';
import { urlProblem } from './validate.js';

/**
 * The broker's public contract as a client sees it: RFC 8414 discovery,
 * RFC 8693 token exchange of a CI token, RFC 7009 revocation.
 */

export interface BrokerMetadata {
  tokenEndpoint: string;
  revocationEndpoint: string | undefined;
  /** RFC 8628; absent from a broker without the device flow. */
  deviceAuthorizationEndpoint: string | undefined;
}

export async function discover(brokerUrl: string, deps: HttpDeps): Promise<BrokerMetadata> {
  const url = `${brokerUrl}/.well-known/oauth-authorization-server`;
  const what = `GET ${url}`;
  const answer = await withRetry(deps, `check that the broker at ${brokerUrl} is up`, () =>
    send(deps, url, { headers: { Accept: 'application/json' } }, what),
  );
  if (answer.status !== 200) {
    throw new ClientError(
      'protocol',
      `${what} answered HTTP ${answer.status}: check that ${brokerUrl} is the broker's base URL`,
      { status: answer.status },
    );
  }
  const meta = jsonObject(answer, what);
  const tokenEndpoint = endpoint(meta, 'token_endpoint', url);
  if (!tokenEndpoint) {
    throw new ClientError(
      'protocol',
      `${url} has no token_endpoint: check that ${brokerUrl} is a tokenbroker`,
    );
  }
  return {
    tokenEndpoint,
    revocationEndpoint: endpoint(meta, 'revocation_endpoint', url),
    deviceAuthorizationEndpoint: endpoint(meta, 'device_authorization_endpoint', url),
  };
}

function endpoint(meta: Record<string, unknown>, key: string, from: string): string | undefined {
  const value = meta[key];
  if (value === undefined) return undefined;
  const problem = typeof value === 'string' ? urlProblem(value) : 'is not a string';
  if (problem) {
    throw new ClientError(
      'protocol',
      `${from}: ${key} ${JSON.stringify(value)} ${problem}; the broker's issuer setting must be its public https URL`,
    );
  }
  return value as string;
}

export interface ExchangeRequest {
  tokenEndpoint: string;
  /**
   * Called for each try: a CI token is accepted once, so a retry after a lost
   * answer needs a fresh one where the CI can mint it (GitHub Actions can).
   */
  subjectToken: (attempt: number) => Promise<string>;
  scope: string | undefined;
  /** Seconds, as a string. */
  ttl: string | undefined;
  /** Milliseconds since the epoch; injected so tests fix `expiresAt`. */
  now: () => number;
}

export type ExchangeResult = TokenResult;

export async function exchange(req: ExchangeRequest, deps: HttpDeps): Promise<ExchangeResult> {
  const what = `POST ${req.tokenEndpoint}`;
  const sentAt = req.now();
  const answer = await withRetry(deps, `check that the broker is up`, async (attempt) => {
    const form: Record<string, string> = {
      grant_type: GRANT_TOKEN_EXCHANGE,
      subject_token: await req.subjectToken(attempt),
      subject_token_type: TOKEN_TYPE.idToken,
    };
    if (req.scope) form.scope = req.scope;
    if (req.ttl) form.ttl = req.ttl;
    return send(deps, req.tokenEndpoint, formPost(form), what);
  });
  if (answer.status >= 400) throw refusal(answer, 'the broker refused the token exchange');
  return tokenResult(answer, what, sentAt, req.scope);
}

/** RFC 7009: the token is its own credential; a 200 means it is dead (or was). */
export async function revoke(
  revocationEndpoint: string,
  token: string,
  deps: HttpDeps,
): Promise<void> {
  const what = `POST ${revocationEndpoint}`;
  const answer = await withRetry(deps, 'check that the broker is up', () =>
    send(deps, revocationEndpoint, formPost({ token, token_type_hint: 'access_token' }), what),
  );
  if (answer.status !== 200) throw refusal(answer, 'the broker refused the revocation');
}
