import type { Context } from 'hono';
import type { AppDeps } from '../deps.js';
import { isBrokerError } from '../shared/errors.js';
import { revokeByHolder } from '../exchange/revoke.js';
import { bodyText, parseParams } from './params.js';
import { requestInfo } from './respond.js';

/**
 * POST /revoke (RFC 7009). The token is its own credential. The answer is 200
 * for any request, well-formed or not, whether or not the token was valid, so
 * the endpoint is no oracle; only 413 (body too large) and 429 (the
 * per-client limit it shares with /token) differ.
 */
export function revokeHandler(deps: AppDeps) {
  return async function revoke(c: Context): Promise<Response> {
    await deps.rateLimits?.client(deps.clientAddress?.(c) ?? null);
    // Reading a chunked body over the limit throws the 413 here.
    const sent = tokenToRevoke(c.req.header('content-type'), await bodyText(c));
    // Whitespace around the token (a file read with its newline) is no other token: the
    // holder wants this one dead. Inside the token nothing is forgiven, as everywhere.
    const token = sent && trimAsciiSpace(sent);
    try {
      // Without a token there is nothing to do.
      if (!token) return done(c);
      await revokeByHolder(token, requestInfo(c, deps), deps);
    } catch (e) {
      if (!isBrokerError(e) || e.status >= 500) throw e;
    }
    return done(c);
  };
}

/**
 * The token to revoke. A well-formed request is read like any token endpoint
 * request; anything else is read as leniently as it can be without guessing,
 * because a holder who forgot the Content-Type still wants the token dead:
 * JSON if it looks like JSON, else form-encoded. A `token` repeated with one
 * value is that value; with different values nothing is revoked.
 */
function tokenToRevoke(contentType: string | undefined, text: string): string | undefined {
  try {
    return parseParams(contentType, text).token || undefined;
  } catch (e) {
    if (!isBrokerError(e)) throw e;
  }
  if (text.trimStart().startsWith('{')) {
    try {
      const token = (JSON.parse(text) as { token?: unknown } | null)?.token;
      return typeof token === 'string' && token ? token : undefined;
    } catch {
      return undefined;
    }
  }
  const values = new Set(new URLSearchParams(text).getAll('token'));
  const [only] = values;
  return values.size === 1 && only ? only : undefined;
}

/** Spaces, tabs, CR and LF off both ends, by index: a regex anchored at the end is quadratic. */
function trimAsciiSpace(text: string): string {
  const space = (i: number) => ' \t\r\n'.includes(text[i]!);
  let start = 0;
  let end = text.length;
  while (start < end && space(start)) start++;
  while (end > start && space(end - 1)) end--;
  return text.slice(start, end);
}

function done(c: Context): Response {
  c.header('Cache-Control', 'no-store');
  return c.body(null, 200);
}
