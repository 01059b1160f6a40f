import { BrokerError } from '../shared/errors.js';
import { showText } from '../shared/show.js';

/**
 * A scope is `<permission>:<resource>`. Grants may use globs in the resource
 * (and `*` as the permission); the scopes of a token may too, since a request
 * that names no scope gets exactly what was granted.
 */
// Printable, path-like resources only: no control characters (they would reach
// terminals through `tokenbroker audit`), no spaces, no colons.
const SCOPE = /^([a-z][a-z0-9_-]{0,31}|\*):([A-Za-z0-9._~@+=*/-]{1,200})$/;
/** Bounds on a request, so that checking it is cheap and its audit row small. */
export const MAX_SCOPES = 50;
/**
 * Bound on a token's `scope` claim (the scopes joined by spaces). 50 scopes
 * of the longest form (233 characters) would take 11.7 KB, which with a CI
 * token's claims no longer fits the 16 KiB the broker accepts back at
 * /introspect and /revoke; 4 KiB is 50 scopes of 80 characters.
 */
export const MAX_SCOPE_CLAIM_LENGTH = 4096;

export interface Scope {
  permission: string;
  resource: string;
}

export function parseScope(text: string): Scope | undefined {
  const m = SCOPE.exec(text);
  if (!m) return undefined;
  const segments = m[2]!.split('/');
  if (segments.some((seg) => seg === '' || seg === '.' || seg === '..')) return undefined;
  return { permission: m[1]!, resource: m[2]! };
}

export function scopeSyntaxProblem(text: string): string | undefined {
  return parseScope(text)
    ? undefined
    : `${showText(text)} is not a scope: write <permission>:<resource>, e.g. read:models/acme/bert (letters, digits and ._~@+=*/- in the resource, at most 200 characters)`;
}

/** Splits a space-separated `scope` parameter, refusing malformed entries. */
export function parseScopeParam(param: string | undefined): string[] | undefined {
  if (param === undefined || param.trim() === '') return undefined;
  const scopes = [...new Set(param.trim().split(/\s+/))];
  checkScopes(scopes);
  return scopes;
}

/**
 * Refuses scopes a token cannot carry: outside the grammar, more than
 * MAX_SCOPES, or longer than MAX_SCOPE_CLAIM_LENGTH together.
 */
export function checkScopes(scopes: readonly string[]): void {
  if (scopes.length > MAX_SCOPES) {
    throw new BrokerError(
      'invalid_scope',
      `the token would carry ${scopes.length} scopes: at most ${MAX_SCOPES} fit in one token; ask for fewer with scope`,
    );
  }
  for (const s of scopes) {
    const problem = scopeSyntaxProblem(s);
    if (problem) throw new BrokerError('invalid_scope', problem);
  }
  const length = scopes.join(' ').length;
  if (length > MAX_SCOPE_CLAIM_LENGTH) {
    throw new BrokerError(
      'invalid_scope',
      `the scopes take ${length} characters: at most ${MAX_SCOPE_CLAIM_LENGTH} fit in one token; ask for fewer with scope, or use a glob`,
    );
  }
}
