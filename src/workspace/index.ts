/**
 * The workspace side: what an API adds to accept tokenbroker tokens. Tokens
 * are verified offline against the broker's JWKS (fetched once, then cached by
 * jose and refetched on an unknown `kid`), and their scopes must cover the
 * permission the route needs, with the broker's own glob rules.
 */
import { createRemoteJWKSet, customFetch, errors, jwtVerify, type JWTPayload } from 'jose';
import type { Context, MiddlewareHandler } from 'hono';
import { parseCompactJws } from '../jws/compact.js';
import { anyCovers } from '../policy/scope.js';
import { parseScope } from '../protocol/scope.js';
import { showText } from '../shared/show.js';
import { MAX_TOKEN_BYTES } from '../tokens/verify.js';

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
  const problem = neededScopeProblem(options.scope);
  if (problem) throw new TypeError(`verifyWorkspaceToken: ${problem}`);
  const issuer = options.issuer.replace(/\/+$/, '');
  // As strict as the broker: a re-spelled token (padding, whitespace, unused
  // bits set) would verify under jose but hash differently in your caches.
  try {
    // The broker's Minter signs no larger token, so a larger one is not ours.
    if (token.length > MAX_TOKEN_BYTES) throw new RangeError('token too large');
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
 * Why `scope` cannot be what a call needs, or undefined: it must be one
 * scope of the broker's grammar, with no wildcard (a call acts on one thing).
 */
function neededScopeProblem(scope: unknown): string | undefined {
  if (typeof scope !== 'string') return 'the scope must be a string, permission:resource';
  const needed = parseScope(scope);
  if (needed && !needed.resource.includes('*')) return undefined;
  return `scope ${showText(scope)} must be permission:resource with no wildcard, e.g. write:models/acme/bert`;
}

/** An RFC 7235 quoted-string: printable ASCII, quotes and backslashes escaped. */
function quoted(text: string): string {
  return `"${text.replace(/[^\x20-\x7e]/g, '?').replace(/["\\]/g, '\\$&')}"`;
}

const BAD_PATH =
  'the path names no resource a token can grant: resources are letters, digits and ._~@+=- in segments separated by /, at most 200 characters, with no wildcard; fix the URL';

/**
 * Hono middleware: `app.use('/api/models/:ns/:name/*', requireWorkspaceToken({ ..., scope: (c) =>
 * `write:models/${c.req.param('ns')}/${c.req.param('name')}` }))`. The verified token is `c.get('workspaceToken')`.
 *
 * A constant `scope` outside the grammar is your bug: a TypeError here. A scope
 * built from the request that falls outside it (`*`, `%20`, `é`, `:`, over 200
 * characters in a route parameter) is the caller's: 400 invalid_request, before
 * the token is looked at, since no token can grant a resource with no name.
 */
export function requireWorkspaceToken(
  options: Omit<WorkspaceTokenOptions, 'scope'> & { scope: string | ((c: Context) => string) },
): MiddlewareHandler {
  if (!options.issuer || !options.audience)
    throw new TypeError('requireWorkspaceToken: issuer and audience are required');
  if (typeof options.scope !== 'function') {
    const problem = neededScopeProblem(options.scope);
    if (problem) throw new TypeError(`requireWorkspaceToken: ${problem}`);
  }
  return async function workspaceToken(c, next) {
    const scope = typeof options.scope === 'function' ? options.scope(c) : options.scope;
    const refuse = (code: string, desc: string, status: 400 | 401 | 403, withScope: boolean) => {
      const challenge = `Bearer realm="workspace", error=${quoted(code)}, error_description=${quoted(desc)}`;
      c.header('WWW-Authenticate', withScope ? `${challenge}, scope=${quoted(scope)}` : challenge);
      return c.json({ error: code, error_description: desc }, status);
    };
    if (neededScopeProblem(scope)) return refuse('invalid_request', BAD_PATH, 400, false);
    const m = /^Bearer +([A-Za-z0-9._~+/=-]+)$/i.exec(c.req.header('authorization') ?? '');
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
      return refuse(e.code, e.message, e.status, true);
    }
    await next();
  };
}
