import { ClientError } from './errors.js';
import { FetchProblem, readCapped } from '../shared/fetch-json.js';
import { retry, retryNotice, TransientError, type RetryOptions } from './retry.js';

/** What every network call of the client gets injected. */
export interface HttpDeps {
  fetch: typeof fetch;
  retry: RetryOptions;
  userAgent: string;
}

/** What the action's steps and `tokenbroker exchange` get injected: network, retry policy, time. */
export interface ClientDeps {
  fetch: typeof fetch;
  retry: Omit<RetryOptions, 'onRetry'>;
  /** Milliseconds since the epoch. */
  now: () => number;
}

/** HttpDeps that tell the user, through `say`, why they are waiting before each retry. */
export function announcingHttp(
  deps: ClientDeps,
  userAgent: string,
  say: (line: string) => void,
): HttpDeps {
  return {
    fetch: deps.fetch,
    userAgent,
    retry: { ...deps.retry, onRetry: (info) => say(retryNotice(info)) },
  };
}

/** An answer below 500 (5xx and network failures are retried instead). */
export interface HttpAnswer {
  status: number;
  headers: Headers;
  text: string;
}

/** Per attempt; a broker that hangs must not hold the CI job until its timeout. */
const TIMEOUT_MS = 30_000;
/** Token endpoint answers are a few KiB; anything far larger is not the broker. */
const MAX_BODY_BYTES = 256 * 1024;

/**
 * One HTTP call. Network errors, timeouts and 5xx throw TransientError (the
 * caller retries); a redirect is refused, because following one would send a
 * credential to a URL the user never configured.
 */
export async function send(
  deps: HttpDeps,
  url: string,
  init: { method?: 'GET' | 'POST'; headers?: Record<string, string>; body?: string },
  what: string,
): Promise<HttpAnswer> {
  let res: Response;
  let text: string;
  try {
    res = await deps.fetch(url, {
      ...init,
      headers: { 'User-Agent': deps.userAgent, ...init.headers },
      redirect: 'manual',
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
    text = await readCapped(res, MAX_BODY_BYTES, 'it');
  } catch (e) {
    if (e instanceof FetchProblem) {
      throw new ClientError(
        'protocol',
        `${what}: ${e.message}; check that the URL is the broker's, not a proxy's error page`,
      );
    }
    throw new TransientError(`${what} failed: ${networkReason(e)}`);
  }
  if (res.status >= 500) {
    const retryAfter = Number(res.headers.get('retry-after') ?? 'x');
    throw new TransientError(
      `${what} answered HTTP ${res.status}`,
      Number.isInteger(retryAfter) && retryAfter >= 0 ? retryAfter : undefined,
    );
  }
  if (res.status >= 300 && res.status < 400) {
    throw new ClientError(
      'protocol',
      `${what} answered a redirect (HTTP ${res.status} to ${res.headers.get('location') ?? '?'}): configure the final URL instead`,
      { status: res.status },
    );
  }
  return { status: res.status, headers: res.headers, text };
}

/**
 * Retries `fn` and turns the last transient failure into an `unavailable`
 * ClientError whose message ends with `hint` (what the user should check).
 */
export async function withRetry<T>(
  deps: HttpDeps,
  hint: string,
  fn: (attempt: number) => Promise<T>,
): Promise<T> {
  try {
    return await retry(fn, deps.retry);
  } catch (e) {
    if (!(e instanceof TransientError)) throw e;
    const tries = deps.retry.attempts;
    throw new ClientError(
      'unavailable',
      `${e.message}${tries > 1 ? ` (tried ${tries} times)` : ''}: ${hint}`,
    );
  }
}

/** Parses a JSON object body, or says which endpoint answered what instead. */
export function jsonObject(answer: HttpAnswer, what: string): Record<string, unknown> {
  try {
    const v: unknown = JSON.parse(answer.text);
    if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {
    // fall through to the error below
  }
  throw new ClientError(
    'protocol',
    `${what} answered HTTP ${answer.status} with a body that is not a JSON object`,
    { status: answer.status },
  );
}

function networkReason(e: unknown): string {
  if (e instanceof Error && (e.name === 'TimeoutError' || e.name === 'AbortError')) {
    return `no answer within ${TIMEOUT_MS / 1000}s`;
  }
  // Node's fetch says only "fetch failed"; the cause has ECONNREFUSED, ENOTFOUND...
  const cause = (e as { cause?: { code?: string; message?: string } })?.cause;
  return cause?.code ?? cause?.message ?? (e instanceof Error ? e.message : String(e));
}
