import { ClientError } from '../../src/client/errors.js';
import { jsonObject, send, withRetry, type HttpDeps } from '../../src/client/http.js';

export const PERMISSIONS_ADVICE = 'add `permissions: id-token: write` to the job';

export interface IdTokenRequest {
  url: string;
  bearer: string;
}

/** The runtime's request URL and bearer, or the permissions advice when absent. */
export function idTokenRequest(env: Record<string, string | undefined>): IdTokenRequest {
  const url = env.ACTIONS_ID_TOKEN_REQUEST_URL;
  const bearer = env.ACTIONS_ID_TOKEN_REQUEST_TOKEN;
  if (!url || !bearer) {
    const missing = url ? 'ACTIONS_ID_TOKEN_REQUEST_TOKEN' : 'ACTIONS_ID_TOKEN_REQUEST_URL';
    throw new ClientError(
      'usage',
      `the job may not request an OIDC token (${missing} is not set): ${PERMISSIONS_ADVICE}. ` +
        'Workflows triggered by a pull request from a fork never get one.',
    );
  }
  return { url, bearer };
}

/**
 * Asks the Actions runtime for the job's OIDC token, as @actions/core
 * getIDToken does (GET the request URL plus `&audience=`, bearer request
 * token, answer `{"value": jwt}`), but with this client's retries and
 * messages: the runtime sets the two variables only for a job that has
 * `permissions: id-token: write`.
 */
export async function requestIdToken(
  { url: base, bearer }: IdTokenRequest,
  audience: string,
  deps: HttpDeps,
): Promise<string> {
  // The URL already carries a query string (api-version); append, do not rebuild it.
  const url = `${base}${base.includes('?') ? '&' : '?'}audience=${encodeURIComponent(audience)}`;
  const what = 'the Actions runtime OIDC token request';
  const hint =
    'the runner could not reach the Actions service: run the job again, and if it keeps failing check https://www.githubstatus.com';
  const answer = await withRetry(deps, hint, () =>
    send(
      deps,
      url,
      { headers: { Authorization: `Bearer ${bearer}`, Accept: 'application/json' } },
      what,
    ),
  );
  if (answer.status !== 200) {
    throw new ClientError(
      'refused',
      `${what} answered HTTP ${answer.status}: check that the job has \`permissions: id-token: write\` and run it again`,
      { status: answer.status },
    );
  }
  const value = jsonObject(answer, what).value;
  if (typeof value !== 'string' || !value) {
    throw new ClientError('protocol', `${what} answered without a token (no "value" field)`);
  }
  return value;
}
