import type { JSONWebKeySet } from 'jose';
import { ClientError } from './errors.js';
import { jsonObject, send, withRetry, type HttpDeps } from './http.js';
import { urlProblem } from './validate.js';
import { showJson } from '../shared/show.js';

/**
 * What verifies a broker's tokens, as the broker at a URL the user named
 * publishes it: its issuer and its JWKS, both from its RFC 8414 metadata.
 * Never from a token's own `iss`: whoever made the token chose that URL, and
 * its keys would vouch for anything it signed.
 *
 * A separate request from discover() (broker.ts), which the CI action bundles
 * and which keeps only the endpoints a client calls.
 */
export interface BrokerKeys {
  /** The metadata's `issuer`: the `iss` of every token this broker signs. */
  issuer: string;
  jwksUri: string;
  jwks: JSONWebKeySet;
}

export async function brokerKeys(brokerUrl: string, deps: HttpDeps): Promise<BrokerKeys> {
  const url = `${brokerUrl}/.well-known/oauth-authorization-server`;
  const meta = await getJson(
    url,
    deps,
    brokerUrl,
    `check that ${brokerUrl} is the broker's base URL`,
  );
  const issuer = meta.issuer;
  if (typeof issuer !== 'string' || !issuer) {
    throw new ClientError('protocol', `${url} has no issuer: ${notBroker(brokerUrl)}`);
  }
  const jwksUri = meta.jwks_uri;
  const problem = typeof jwksUri === 'string' ? urlProblem(jwksUri) : 'is missing';
  if (problem) {
    throw new ClientError(
      'protocol',
      `${url}: jwks_uri ${showJson(jwksUri ?? null, 120)} ${problem}; ${notBroker(brokerUrl)}`,
    );
  }
  const body = await getJson(jwksUri as string, deps, brokerUrl, notBroker(brokerUrl));
  if (!Array.isArray(body.keys)) {
    throw new ClientError('protocol', `${jwksUri as string} has no keys: ${notBroker(brokerUrl)}`);
  }
  return { issuer, jwksUri: jwksUri as string, jwks: body as unknown as JSONWebKeySet };
}

const notBroker = (brokerUrl: string) => `check that ${brokerUrl} is a tokenbroker`;

async function getJson(
  url: string,
  deps: HttpDeps,
  brokerUrl: string,
  otherwise: string,
): Promise<Record<string, unknown>> {
  const what = `GET ${url}`;
  const answer = await withRetry(deps, `check that the broker at ${brokerUrl} is up`, () =>
    send(deps, url, { headers: { Accept: 'application/json' } }, what),
  );
  if (answer.status !== 200) {
    throw new ClientError('protocol', `${what} answered HTTP ${answer.status}: ${otherwise}`, {
      status: answer.status,
    });
  }
  return jsonObject(answer, what);
}
