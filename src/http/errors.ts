import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { BrokerError, type ErrorCode } from '../shared/errors.js';
import type { Logger } from '../shared/log.js';
import { htmlResponse, wantsHtml } from './html.js';
import { errorPageHtml } from './pages/error-page.js';

/**
 * The one place where failures become HTTP responses: a BrokerError becomes
 * its status and an RFC 6749 body (or, on browser routes and for browsers, a
 * page with the same public message); anything else is a 500 that names the
 * request id and nothing more (the detail goes to the log).
 */
export function errorResponse(err: unknown, c: Context, logger: Logger): Response {
  const requestId = c.get('requestId') as string | undefined;
  const e = toBrokerError(err);
  // Reading the body of a client that hung up fails ("aborted", ECONNRESET):
  // that is the client's doing, not ours, and nobody is left to answer. The
  // access log records it as 499; logging it as an error would let anyone
  // raise 5xx alerts at will. A failure the broker knows is its own (a 5xx
  // BrokerError: storage, JWKS) is still logged below: clients give up when
  // the broker is slow, which is when its failures matter. Anything else is
  // kept at info level, so a real bug is not lost without a trace.
  if (clientClosed(c) && (!e || e.status < 500)) {
    if (!e) {
      logger.info('client closed the connection; its request ended with an error', {
        requestId,
        path: c.req.path,
        error: err instanceof Error ? err.message : String(err),
      });
    }
    return new Response(null, { status: CLIENT_CLOSED });
  }
  const html = wantsHtml(c);
  if (!e) {
    logger.error('unhandled error', { requestId, path: c.req.path, error: err });
    const message = `internal error; quote request id ${requestId ?? '(none)'} to the operator`;
    if (html) {
      return htmlResponse(
        c,
        errorPageHtml({
          code: 'internal',
          status: 500,
          message,
          requestId,
          label: c.get('pageLabel'),
        }),
        500,
      );
    }
    return json(c, 500, { error: 'server_error', error_description: message });
  }
  if (e.status >= 500) {
    logger.error('request failed', { requestId, path: c.req.path, code: e.code, detail: e.detail });
  }
  if (html) {
    for (const [k, v] of Object.entries(e.headers ?? {})) c.header(k, v);
    return htmlResponse(
      c,
      errorPageHtml({
        code: e.code,
        status: e.status,
        message: e.message,
        requestId,
        logout: e.detail?.logout === true,
        action: pageAction(e.detail?.pageAction),
        label: c.get('pageLabel'),
      }),
      e.status,
    );
  }
  const headers: Record<string, string> = { ...e.headers };
  if (e.code === 'invalid_client') headers['WWW-Authenticate'] = 'Basic realm="tokenbroker"';
  return json(c, e.status, { error: e.oauthError, error_description: e.message }, headers);
}

/**
 * The link a BrokerError names for its page (`detail.pageAction`): a link,
 * null for none (a page whose usual link would lead back to itself), or
 * undefined for the code's usual one.
 */
function pageAction(v: unknown): { href: string; label: string } | null | undefined {
  if (v === null) return null;
  const a = v as { href?: unknown; label?: unknown } | undefined;
  return typeof a?.href === 'string' && typeof a.label === 'string'
    ? { href: a.href, label: a.label }
    : undefined;
}

/** nginx's status for "the client closed the connection before the answer". */
export const CLIENT_CLOSED = 499;

/**
 * Whether the client has gone. The request's AbortSignal is the runtime's own
 * report: @hono/node-server aborts it when the connection closes before the
 * response was written, whatever error the body read then failed with, and
 * Workers do the same; a message such as "aborted" is not a contract.
 */
export function clientClosed(c: Context): boolean {
  return c.req.raw.signal?.aborted === true;
}

function toBrokerError(err: unknown): BrokerError | undefined {
  if (err instanceof BrokerError) return err;
  if (err instanceof HTTPException) {
    if (err.status === 413) return tooLarge();
    // The framework's 4xx keeps its status (a 401 stays a 401), with the nearest RFC 6749 error.
    if (err.status < 500) {
      return new BrokerError(
        FRAMEWORK_CODES[err.status] ?? 'invalid_request',
        err.message || 'bad request',
        {
          status: err.status,
        },
      );
    }
  }
  return undefined;
}

const FRAMEWORK_CODES: Partial<Record<number, ErrorCode>> = {
  401: 'invalid_client',
  403: 'no_access',
  404: 'not_found',
  429: 'rate_limited',
};

export const tooLarge = () =>
  new BrokerError('body_too_large', 'request body is larger than 64 KiB: send a smaller body');

function json(
  c: Context,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: {
      'Content-Type': 'application/json',
      'Cache-Control': 'no-store',
      Pragma: 'no-cache',
      ...headers,
    },
  });
}
