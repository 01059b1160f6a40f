import { GRANT_DEVICE_CODE } from '../protocol/oauth.js';
import { isSecureUrl } from '../shared/url.js';
import { ClientError } from './errors.js';
import { jsonObject, send, withRetry, type HttpDeps } from './http.js';
import { formPost, oauthError, refusal, tokenResult, type TokenResult } from './oauth-answer.js';
import { TransientError } from './retry.js';

/**
 * The device authorization grant (RFC 8628) from the terminal's side: ask for
 * a code (section 3.1), then poll the token endpoint at the pace the broker
 * sets until the person approves or denies it in a browser, or the code
 * expires (sections 3.4 and 3.5). Time and sleep are injected: tests move a
 * clock instead of waiting.
 */

export interface DeviceAuthorization {
  deviceCode: string;
  userCode: string;
  verificationUri: string;
  /** The URI with the code in it, for a browser to open (optional in the RFC). */
  verificationUriComplete: string | undefined;
  /** Milliseconds since the epoch, reckoned from before the request. */
  expiresAt: number;
  /** Seconds between polls, as the broker asks (5 when it does not say). */
  interval: number;
}

/** No code lives longer than this here, whatever the broker says: the person is waiting. */
const MAX_LIFETIME_SECONDS = 3600;
/** Bounds on what the broker hands back, which is printed and sent back. */
const MAX_CODE_LENGTH = 1024;

export async function startDeviceAuthorization(
  req: {
    endpoint: string;
    clientId: string;
    scope: string | undefined;
    /** Seconds, as a string. */
    ttl: string | undefined;
    now: () => number;
  },
  deps: HttpDeps,
): Promise<DeviceAuthorization> {
  const what = `POST ${req.endpoint}`;
  const form: Record<string, string> = { client_id: req.clientId };
  if (req.scope) form.scope = req.scope;
  if (req.ttl) form.ttl = req.ttl;
  const sentAt = req.now();
  const answer = await withRetry(deps, 'check that the broker is up', () =>
    send(deps, req.endpoint, formPost(form), what),
  );
  if (answer.status >= 400) throw refusal(answer, 'the broker refused to start a login');
  const body = jsonObject(answer, what);
  const text = (key: string, required: boolean): string | undefined => {
    const value = body[key];
    if (value === undefined && !required) return undefined;
    if (typeof value !== 'string' || !value || value.length > MAX_CODE_LENGTH) {
      throw new ClientError(
        'protocol',
        `${what} answered without a usable ${key}: check that the broker URL is a tokenbroker's`,
      );
    }
    return value;
  };
  const uri = (key: string, required: boolean): string | undefined => {
    const value = text(key, required);
    if (value !== undefined && !isSecureUrl(value)) {
      // It is shown to the person and opened in their browser: nothing but a web page.
      throw new ClientError(
        'protocol',
        `${what} answered a ${key} that is not an https URL: the broker's issuer setting must be its public https URL`,
      );
    }
    return value;
  };
  const expiresIn = body.expires_in;
  if (typeof expiresIn !== 'number' || !(expiresIn > 0)) {
    throw new ClientError('protocol', `${what} answered without expires_in`);
  }
  const interval = body.interval === undefined ? 5 : body.interval;
  if (typeof interval !== 'number' || !(interval >= 0)) {
    throw new ClientError('protocol', `${what} answered an interval that is not a number`);
  }
  return {
    deviceCode: text('device_code', true)!,
    userCode: text('user_code', true)!,
    verificationUri: uri('verification_uri', true)!,
    verificationUriComplete: uri('verification_uri_complete', false),
    expiresAt: sentAt + Math.min(expiresIn, MAX_LIFETIME_SECONDS) * 1000,
    interval: Math.min(Math.max(Math.ceil(interval), 1), 300),
  };
}

/** What the poller tells its caller before each wait. */
export interface PollWait {
  /** Why it waits: the first wait, still pending, told to slow down, or the broker not answering. */
  reason: 'start' | 'authorization_pending' | 'slow_down' | 'rate_limited' | 'unreachable';
  /** How long this wait lasts. */
  waitMs: number;
  /** The pace from now on, in seconds. */
  interval: number;
  /** When the code expires (ms since the epoch). */
  expiresAt: number;
  /** For `unreachable`: what failed. */
  problem?: string;
}

export interface PollDeps {
  http: HttpDeps;
  now: () => number;
  sleep: (ms: number) => Promise<void>;
  onWait?: (wait: PollWait) => void;
}

/**
 * Polls the token endpoint until the broker answers a token or a final
 * error. `authorization_pending`: wait `interval` and ask again;
 * `slow_down`: the interval grows by 5 s for good (section 3.5); a network
 * error or a 5xx: the interval doubles (section 3.5 asks for a back-off) and
 * polling goes on until the code expires; `access_denied` and
 * `expired_token` end it with a message that says what to do.
 */
export async function pollForToken(
  req: {
    tokenEndpoint: string;
    clientId: string;
    authorization: DeviceAuthorization;
    scope: string | undefined;
  },
  deps: PollDeps,
): Promise<TokenResult> {
  const { authorization: auth } = req;
  const what = `POST ${req.tokenEndpoint}`;
  const form = formPost({
    grant_type: GRANT_DEVICE_CODE,
    device_code: auth.deviceCode,
    client_id: req.clientId,
  });
  let interval = auth.interval;
  let wait: PollWait['reason'] = 'start';
  let waitMs = interval * 1000;
  let problem: string | undefined;
  for (;;) {
    // Never past the code's expiry: there is nothing left to wait for then.
    waitMs = Math.min(waitMs, Math.max(0, auth.expiresAt - deps.now()));
    deps.onWait?.({ reason: wait, waitMs, interval, expiresAt: auth.expiresAt, problem });
    await deps.sleep(waitMs);
    if (deps.now() >= auth.expiresAt) throw expired(problem);
    const sentAt = deps.now();
    let answer;
    try {
      answer = await send(deps.http, req.tokenEndpoint, form, what);
    } catch (e) {
      if (!(e instanceof TransientError)) throw e;
      interval *= 2;
      [wait, waitMs, problem] = ['unreachable', interval * 1000, e.message];
      continue;
    }
    problem = undefined;
    if (answer.status === 200) return tokenResult(answer, what, sentAt, req.scope);
    if (answer.status === 429) {
      // Not in RFC 8628, but the broker's per-address limit: wait as it says, then keep the pace.
      const after = Number(answer.headers.get('retry-after'));
      [wait, waitMs] = [
        'rate_limited',
        Math.max(interval, Number.isFinite(after) ? after : 0) * 1000,
      ];
      continue;
    }
    const { error, description } = oauthError(answer);
    if (answer.status === 400 && error === 'authorization_pending') {
      [wait, waitMs] = ['authorization_pending', interval * 1000];
    } else if (answer.status === 400 && error === 'slow_down') {
      interval += 5;
      [wait, waitMs] = ['slow_down', interval * 1000];
    } else if (error === 'access_denied') {
      throw new ClientError(
        'refused',
        'the login was denied in the browser: run `tokenbroker login` again if that was a mistake',
        { status: answer.status, oauthError: error, description },
      );
    } else if (error === 'expired_token') {
      throw expired(undefined, description);
    } else {
      throw refusal(answer, 'the broker refused the login');
    }
  }
}

function expired(problem: string | undefined, description?: string): ClientError {
  if (problem) {
    return new ClientError(
      'unavailable',
      `the broker stopped answering while waiting for the approval (${problem}) and the code has expired: check that the broker is up, then run \`tokenbroker login\` again`,
    );
  }
  return new ClientError(
    'refused',
    `the code expired before the login was approved${description ? ` (${description})` : ''}: run \`tokenbroker login\` again and approve it in the browser within the time shown`,
    { oauthError: 'expired_token', description },
  );
}
