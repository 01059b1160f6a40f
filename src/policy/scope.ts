import { BrokerError } from '../shared/errors.js';
import { parseScope } from '../protocol/scope.js';
import { showText } from '../shared/show.js';
import { compileGlob, globCovers } from './glob.js';

/** Does `grant` (a pattern) cover `requested` (a scope, possibly a pattern)? */
export function scopeCovers(grant: string, requested: string): boolean {
  const g = parseScope(grant);
  const r = parseScope(requested);
  if (!g || !r) return false;
  const permOk = g.permission === '*' || g.permission === r.permission;
  return permOk && globCovers(g.resource, r.resource);
}

export function anyCovers(grants: readonly string[], requested: string): boolean {
  return grants.some((g) => scopeCovers(g, requested));
}

/**
 * Hugging Face names a repository `ns/name` (a model), `datasets/ns/name` or
 * `spaces/ns/name`; our scopes always spell the kind, `models/ns/name`. The
 * result is a resource of the scope grammar with no glob: it goes into a
 * token's scope as it is.
 */
export function normalizeResource(resource: string): string {
  const parts = resource.split('/');
  const normalized =
    parts.length === 2
      ? `models/${resource}`
      : parts.length === 3 && ['models', 'datasets', 'spaces'].includes(parts[0]!)
        ? resource
        : undefined;
  if (normalized === undefined || normalized.includes('*') || !parseScope(`x:${normalized}`)) {
    throw new BrokerError(
      'invalid_target',
      `resource ${showText(resource)} is not a repository: use ns/name for a model, datasets/ns/name or spaces/ns/name, in letters, digits and ._~@+=- (no wildcard, at most 200 characters with the kind)`,
    );
  }
  return normalized;
}

/**
 * The token's scope for one resource: every permission granted on it, and
 * nothing else.
 */
export function scopesForResource(grants: readonly string[], resource: string): string[] {
  const out = new Set<string>();
  for (const g of grants) {
    const p = parseScope(g);
    if (p && compileGlob(p.resource).test(resource)) {
      out.add(`${p.permission}:${resource}`);
    }
  }
  return [...out];
}
