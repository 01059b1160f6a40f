import { ClientError } from './errors.js';
import { jsonObject, type HttpAnswer } from './http.js';

/** What the token endpoint's requests and answers look like to a client (RFC 6749). */

export function formPost(fields: Record<string, string>) {
  return {
    method: 'POST' as const,
    headers: {
      'Content-Type': 'application/x-www-form-urlencoded',
      Accept: 'application/json',
    },
    body: new URLSearchParams(fields).toString(),
  };
}

/** The RFC 6749 error body of a 4xx, or nothing when the body is not one (a proxy's page). */
export function oauthError(answer: HttpAnswer): { error?: string; description?: string } {
  try {
    const body = JSON.parse(answer.text) as Record<string, unknown>;
    return {
      error: typeof body.error === 'string' ? body.error : undefined,
      description: typeof body.error_description === 'string' ? body.error_description : undefined,
    };
  } catch {
    return {};
  }
}

/** A 4xx as a `refused` error that carries the broker's RFC 6749 error body. */
export function refusal(answer: HttpAnswer, what: string): ClientError {
  const { error, description } = oauthError(answer);
  let message = `${what} (HTTP ${answer.status}${error ? ` ${error}` : ''})`;
  if (description) message += `: ${description}`;
  if (answer.status === 429) {
    const after = answer.headers.get('retry-after');
    message += `; the broker is rate limiting, run the job again${after ? ` in ${after}s` : ' later'}`;
  }
  return new ClientError('refused', message, {
    status: answer.status,
    oauthError: error,
    description,
  });
}

export interface TokenResult {
  accessToken: string;
  /** When the token expires, reckoned from before the request (so never late). */
  expiresAt: Date | undefined;
  /** What was granted; the broker says so, or it is what was asked. */
  scope: string | undefined;
}

/** A token endpoint's 200 (RFC 6749 section 5.1), sent at `sentAt` (ms). */
export function tokenResult(
  answer: HttpAnswer,
  what: string,
  sentAt: number,
  askedScope: string | undefined,
): TokenResult {
  const body = jsonObject(answer, what);
  if (answer.status !== 200 || typeof body.access_token !== 'string' || !body.access_token) {
    throw new ClientError(
      'protocol',
      `${what} answered HTTP ${answer.status} without an access_token`,
    );
  }
  const expiresIn = typeof body.expires_in === 'number' ? body.expires_in : undefined;
  return {
    accessToken: body.access_token,
    expiresAt: expiresIn === undefined ? undefined : new Date(sentAt + expiresIn * 1000),
    scope: typeof body.scope === 'string' ? body.scope : askedScope,
  };
}
