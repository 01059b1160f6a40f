/**
 * The workspace side: what an API adds to accept tokenbroker tokens. Tokens
 * are verified offline against the broker's JWKS (fetched once, then cached by
 * jose and refetched on an unknown `kid`), and their scopes must cover the
 * permission the route needs, with the broker's own glob rules.
 */
import { createRemoteJWKSet, customFetch, errors, jwtVerify, type JWTPayload } from 'jose';
import type { Context, MiddlewareHandler } from 'hono';
import { parseCompactJws } from '../jws/compact.js';
import { anyCovers, parseScope } from '../policy/scope.js';

export interface WorkspaceTokenOptions {
  /** The broker's issuer URL, exactly as in its config. */
  issuer: string;
  /** Your workspace's audience: the broker's `tokens.audience`. */
  audience: string;
  /** The permission this call needs, `permission:resource`, e.g. `write:models/acme/bert`. */
  scope: string;
  /** Defaults to `<issuer>/jwks`. */
  jwksUri?: string;
  /** Seconds of clock difference tolerated on exp/nbf; default 30. */
  clockTolerance?: number;
  fetch?: typeof fetch;
}

export interface WorkspaceToken extends JWTPayload {
  sub: string;
  scope: string;
  client_id?: string;
  ci?: Record<string, string>;
}

export class WorkspaceTokenError extends Error {
  override readonly name = 'WorkspaceTokenError';
  constructor(
    readonly code: 'invalid_token' | 'insufficient_scope',
    message: string,
  ) {
    super(message);
  }
  get status(): 401 | 403 {
    return this.code === 'invalid_token' ? 401 : 403;
  }
}

/** The broker signs no token larger (its Minter refuses), so a larger one is not ours. */
const MAX_TOKEN_LENGTH = 16 * 1024;

const keySets = new Map<string, ReturnType<typeof createRemoteJWKSet>>();

function keySet(uri: string, fetchImpl: typeof fetch | undefined) {
  const cacheKey = `${uri}|${fetchImpl ? 'custom' : 'global'}`;
  let set = keySets.get(cacheKey);
  if (!set) {
    set = createRemoteJWKSet(new URL(uri), fetchImpl ? { [customFetch]: fetchImpl } : {});
    keySets.set(cacheKey, set);
  }
  return set;
}

export async function verifyWorkspaceToken(
  token: string,
  options: WorkspaceTokenOptions,
): Promise<WorkspaceToken> {
  const needed = parseScope(options.scope);
  if (!needed || needed.resource.includes('*')) {
    throw new TypeError(
      `scope ${JSON.stringify(options.scope)} must be permission:resource with no wildcard`,
    );
  }
  const issuer = options.issuer.replace(/\/+$/, '');
  // As strict as the broker: a re-spelled token (padding, whitespace, unused
  // bits set) would verify under jose but hash differently in your caches.
  try {
    if (token.length > MAX_TOKEN_LENGTH) throw new RangeError('token too large');
    parseCompactJws(token);
  } catch {
    throw new WorkspaceTokenError(
      'invalid_token',
      'token is not a tokenbroker token: those are compact JWTs in canonical base64url, at most 16 KiB',
    );
  }
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(
      token,
      keySet(options.jwksUri ?? `${issuer}/jwks`, options.fetch),
      {
        issuer,
        audience: options.audience,
        typ: 'at+jwt',
        algorithms: ['ES256', 'EdDSA', 'RS256'],
        requiredClaims: ['sub', 'exp', 'jti'],
        clockTolerance: options.clockTolerance ?? 30,
      },
    ));
  } catch (e) {
    const why =
      e instanceof errors.JWTExpired
        ? 'token has expired'
        : e instanceof errors.JWTClaimValidationFailed
          ? `token claim ${e.claim} is not acceptable`
          : e instanceof errors.JOSEError
            ? 'token does not verify against the broker keys'
            : 'token could not be verified';
    throw new WorkspaceTokenError('invalid_token', why);
  }
  const scopes = typeof payload.scope === 'string' ? payload.scope.split(' ') : [];
  if (!anyCovers(scopes, options.scope)) {
    throw new WorkspaceTokenError('insufficient_scope', `token does not grant ${options.scope}`);
  }
  return payload as WorkspaceToken;
}

/**
 * Hono middleware: `app.use('/api/models/:ns/:name/*', requireWorkspaceToken({ ..., scope: (c) =>
 * `write:models/${c.req.param('ns')}/${c.req.param('name')}` }))`. The verified token is `c.get('workspaceToken')`.
 */
export function requireWorkspaceToken(
  options: Omit<WorkspaceTokenOptions, 'scope'> & { scope: string | ((c: Context) => string) },
): MiddlewareHandler {
  if (!options.issuer || !options.audience)
    throw new TypeError('requireWorkspaceToken: issuer and audience are required');
  return async function workspaceToken(c, next) {
    const m = /^Bearer\s+(\S+)$/i.exec(c.req.header('authorization') ?? '');
    const scope = typeof options.scope === 'function' ? options.scope(c) : options.scope;
    const challenge = (code: string, desc: string) =>
      `Bearer realm="workspace", error="${code}", error_description="${desc}", scope="${scope}"`;
    if (!m) {
      c.header('WWW-Authenticate', 'Bearer realm="workspace"');
      return c.json(
        { error: 'invalid_token', error_description: 'a Bearer token is required' },
        401,
      );
    }
    try {
      c.set(
        'workspaceToken' as never,
        (await verifyWorkspaceToken(m[1]!, { ...options, scope })) as never,
      );
    } catch (e) {
      if (!(e instanceof WorkspaceTokenError)) throw e;
      c.header('WWW-Authenticate', challenge(e.code, e.message));
      return c.json({ error: e.code, error_description: e.message }, e.status);
    }
    await next();
  };
}
