import type { Context, Next } from 'hono';
import { bodyLimit as streamingLimit } from 'hono/body-limit';
import { tooLarge } from './errors.js';

/**
 * Refuses request bodies over `maxSize` bytes. A body announced by
 * Content-Length is judged by the header alone: the HTTP server delivers
 * exactly that many bytes, and leaving the body untouched keeps the Node
 * adapter's fast path (reading `Request.body` would build a web stream for
 * every request). Chunked bodies go through Hono's counting stream.
 */
export function bodyLimit(maxSize: number) {
  const counting = streamingLimit({
    maxSize,
    onError: () => {
      throw tooLarge();
    },
  });
  return async function limit(c: Context, next: Next) {
    const method = c.req.method;
    if (method === 'GET' || method === 'HEAD' || method === 'OPTIONS') return next();
    const length = c.req.header('content-length');
    if (length !== undefined && c.req.header('transfer-encoding') === undefined) {
      if (!/^\d+$/.test(length) || Number(length) > maxSize) throw tooLarge();
      return next();
    }
    return counting(c, next);
  };
}
