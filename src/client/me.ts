import { ClientError } from './errors.js';
import { jsonObject, send, withRetry, type HttpDeps } from './http.js';
import { oauthError, refusal } from './oauth-answer.js';

/** What GET /me says of a token (SPEC section 4). */
export type MeAnswer =
  | { active: true; sub: string; scope: string; exp: number; source: string }
  /** 401 invalid_token: revoked, expired, or not this broker's; `reason` is the broker's. */
  | { active: false; reason: string };

/** Asks the broker whether `token` is still active, with the token as its own bearer. */
export async function whoAmI(brokerUrl: string, token: string, deps: HttpDeps): Promise<MeAnswer> {
  const url = `${brokerUrl}/me`;
  const what = `GET ${url}`;
  const answer = await withRetry(deps, `check that the broker at ${brokerUrl} is up`, () =>
    send(
      deps,
      url,
      { headers: { Accept: 'application/json', Authorization: `Bearer ${token}` } },
      what,
    ),
  );
  if (answer.status === 401) {
    const { error, description } = oauthError(answer);
    if (error === 'invalid_token') {
      return { active: false, reason: description ?? 'the broker does not accept the token' };
    }
  }
  if (answer.status !== 200) {
    if (answer.status === 404) {
      throw new ClientError(
        'protocol',
        `${what} answered HTTP 404: the broker is older than GET /me; upgrade it to see whether the token is active`,
        { status: 404 },
      );
    }
    throw refusal(answer, 'the broker refused to say whether the token is active');
  }
  const body = jsonObject(answer, what);
  if (
    body.active !== true ||
    typeof body.sub !== 'string' ||
    typeof body.exp !== 'number' ||
    typeof body.scope !== 'string'
  ) {
    throw new ClientError(
      'protocol',
      `${what} answered HTTP 200 without active, sub, scope and exp`,
    );
  }
  return {
    active: true,
    sub: body.sub,
    scope: body.scope,
    exp: body.exp,
    source: typeof body.source === 'string' ? body.source : 'unknown',
  };
}
