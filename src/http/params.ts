import type { Context } from 'hono';
import { showText } from '../shared/show.js';
import { BrokerError } from '../shared/errors.js';

import type { Params } from '../protocol/oauth.js';

/**
 * Reads the parameters of a token-endpoint style request: form-encoded per
 * RFC 6749, or JSON (Hugging Face's client sends JSON). Every value must be a
 * string and no parameter may repeat (RFC 6749 section 3.2).
 */
export async function readParams(c: Context): Promise<Params> {
  return parseParams(c.req.header('content-type'), await bodyText(c));
}

/**
 * The body as UTF-8 text, read as bytes: workerd logs a warning on every
 * `.text()` of a body whose type is not text/* (forms included), which on
 * Workers would be a log line per token request.
 */
export async function bodyText(c: Context): Promise<string> {
  return new TextDecoder().decode(await c.req.arrayBuffer());
}

/** `readParams` on a body already read. */
export function parseParams(contentType: string | undefined, text: string): Params {
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  if (type === 'application/x-www-form-urlencoded') {
    const out: Params = {};
    for (const [k, v] of new URLSearchParams(text)) {
      if (k in out)
        throw new BrokerError(
          'invalid_request',
          `parameter ${showText(k)} is repeated: send it once`,
        );
      out[k] = v;
    }
    return out;
  }
  if (type === 'application/json') {
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new BrokerError('invalid_request', 'request body is not valid JSON');
    }
    if (!body || typeof body !== 'object' || Array.isArray(body)) {
      throw new BrokerError(
        'invalid_request',
        'request body must be a JSON object of string parameters',
      );
    }
    const out: Params = {};
    for (const [k, v] of Object.entries(body)) {
      if (v === null || v === undefined) continue;
      if (typeof v === 'number' && k === 'ttl') {
        out[k] = String(v);
        continue;
      }
      if (typeof v !== 'string') {
        throw new BrokerError(
          'invalid_request',
          `parameter ${showText(k)} must be a string, got ${Array.isArray(v) ? 'array' : typeof v}`,
        );
      }
      out[k] = v;
    }
    return out;
  }
  throw new BrokerError(
    'invalid_request',
    `unsupported Content-Type ${type ? showText(type) : '(none)'}: send application/x-www-form-urlencoded or application/json`,
  );
}
