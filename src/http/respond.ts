import type { Context } from 'hono';
import type { AppDeps } from '../deps.js';
import type { RequestInfo } from '../exchange/exchange.js';

/** JSON that must never be cached: everything a token endpoint answers. */
export function noStore(c: Context, body: unknown, status: 200 | 201 = 200): Response {
  c.header('Cache-Control', 'no-store');
  c.header('Pragma', 'no-cache');
  return c.json(body, status);
}

export function requestInfo(c: Context, deps: Pick<AppDeps, 'clientAddress'>): RequestInfo {
  return {
    clientAddress: deps.clientAddress?.(c) ?? null,
    userAgent: c.req.header('user-agent')?.slice(0, 256) ?? null,
  };
}
