import type { Context } from 'hono';
import type { AppDeps } from '../deps.js';
import { BrokerError, isBrokerError } from '../shared/errors.js';
import { verifyOwnToken } from '../tokens/verify.js';
import { noStore } from './respond.js';

/**
 * GET /me: what the broker says of the bearer's own token, for `tokenbroker
 * whoami`. The token authenticates itself (RFC 6750 section 2.1, the
 * Authorization header only: a token in a URL ends up in logs). Unlike
 * /introspect, no resource server is involved: the holder learns only what
 * the token already says (its claims are readable by anyone who has it) plus
 * one bit the broker alone knows, whether it is still active.
 */
export function meHandler(deps: AppDeps) {
  return async function me(c: Context): Promise<Response> {
    await deps.rateLimits?.client(deps.clientAddress?.(c) ?? null);
    const token = bearerToken(c.req.header('authorization'));
    let verified;
    try {
      verified = await verifyOwnToken(token, deps);
    } catch (e) {
      if (!isBrokerError(e) || e.status >= 500) throw e;
      throw invalidToken(e.message);
    }
    const { payload, row } = verified;
    return noStore(c, {
      active: true,
      sub: row.subject,
      scope: typeof payload.scope === 'string' ? payload.scope : row.scopes.join(' '),
      exp: row.expiresAt,
      source: row.source,
    });
  };
}

const REALM = 'realm="tokenbroker"';

/**
 * The token of `Authorization: Bearer <token>`. No credentials at all is a 401
 * whose challenge carries no error code (RFC 6750 section 3.1: the client may
 * not know it needs one); a header that is not one Bearer b64token is a
 * malformed request (400 invalid_request).
 */
function bearerToken(header: string | undefined): string {
  if (header === undefined || header.trim() === '' || !/^bearer(\s|$)/i.test(header.trimStart())) {
    throw new BrokerError(
      'invalid_token',
      'no token: send the broker token as Authorization: Bearer <token> (`tokenbroker whoami` does)',
      { headers: { 'WWW-Authenticate': `Bearer ${REALM}` } },
    );
  }
  // RFC 6750 section 2.1: b64token, one of it. A character class and a run of
  // '=' at the end: linear, whatever the header's length.
  const m = /^\s*bearer +([A-Za-z0-9\-._~+/]+=*)\s*$/i.exec(header);
  if (!m) {
    const message =
      'the Authorization header is not "Bearer <token>": send the token once, after one space, unchanged';
    throw new BrokerError('invalid_request', message, {
      status: 400,
      headers: { 'WWW-Authenticate': challenge('invalid_request', message) },
    });
  }
  return m[1]!;
}

/** 401 invalid_token with the same description in the challenge and the body. */
function invalidToken(message: string): BrokerError {
  return new BrokerError('invalid_token', message, {
    headers: { 'WWW-Authenticate': challenge('invalid_token', message) },
  });
}

/**
 * A Bearer challenge. RFC 6750 section 3 allows only %x20-21 / %x23-5B /
 * %x5D-7E in error_description: a quote or backslash (jose's claim messages
 * quote claim names) or anything outside printable ASCII becomes a plain
 * stand-in, so the header stays one well-formed quoted string.
 */
function challenge(error: string, description: string): string {
  const safe = description.replace(/"/g, "'").replace(/[^\x20-\x7e]|\\/g, '?');
  return `Bearer ${REALM}, error="${error}", error_description="${safe}"`;
}
