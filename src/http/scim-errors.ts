import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { BrokerError, type ErrorCode } from '../shared/errors.js';
import type { Logger } from '../shared/log.js';
import { tooLarge } from './errors.js';

/** RFC 7644 section 3.12. */
export const ERROR_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:Error';
export const SCIM_JSON = 'application/scim+json; charset=utf-8';

const SCIM_TYPES: Partial<Record<ErrorCode, string>> = {
  scim_invalid_filter: 'invalidFilter',
  scim_invalid_syntax: 'invalidSyntax',
  scim_invalid_path: 'invalidPath',
  scim_no_target: 'noTarget',
  scim_invalid_value: 'invalidValue',
  scim_mutability: 'mutability',
  scim_uniqueness: 'uniqueness',
  // Whatever else a directory sent wrong: the nearest scimType.
  invalid_request: 'invalidSyntax',
};

/**
 * Any failure under /scim/v2 as a SCIM error body: the status as a string,
 * the scimType the directory's logs show, and the broker's message (what to
 * fix) as `detail`. Anything that is not a BrokerError is a 500 that names
 * the request id; its detail goes to the log only.
 */
export function scimErrorResponse(err: unknown, c: Context, logger: Logger): Response {
  const requestId = c.get('requestId') as string | undefined;
  let e: BrokerError | undefined;
  if (err instanceof BrokerError) e = err;
  else if (err instanceof HTTPException && err.status === 413) e = tooLarge();
  else if (err instanceof HTTPException && err.status < 500) {
    e = new BrokerError('invalid_request', err.message || 'bad request', { status: err.status });
  }
  if (!e) {
    logger.error('unhandled error', { requestId, path: c.req.path, error: err });
    return scimError(
      500,
      `internal error; quote request id ${requestId ?? '(none)'} to the operator`,
    );
  }
  if (e.status >= 500) {
    logger.error('request failed', { requestId, path: c.req.path, code: e.code, detail: e.detail });
  }
  const headers: Record<string, string> = { ...e.headers };
  if (e.status === 401) headers['WWW-Authenticate'] = 'Bearer realm="tokenbroker SCIM"';
  return scimError(e.status, e.message, SCIM_TYPES[e.code], headers);
}

export function scimError(
  status: number,
  detail: string,
  scimType?: string,
  headers: Record<string, string> = {},
): Response {
  const body = {
    schemas: [ERROR_SCHEMA],
    status: String(status),
    ...(scimType ? { scimType } : {}),
    detail,
  };
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'Content-Type': SCIM_JSON, 'Cache-Control': 'no-store', ...headers },
  });
}
